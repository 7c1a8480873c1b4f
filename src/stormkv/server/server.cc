// The server's sockets: Boost.Asio on one thread (like Redis's single event loop), one
// Connection per client with the RESP parser and a double-buffered output. Reads go through one
// 16 KiB buffer of the server (wait until readable, then a non-blocking read), so an idle client
// costs its socket and a few hundred bytes, as in Redis, not a read buffer of its own. Replies
// are written at once on the non-blocking socket; only what it does not take waits for an
// asynchronous write.
#include "stormkv/server/server.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "stormkv/server/dispatcher.h"
#include "stormkv/server/resp.h"

namespace stormkv {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using unix_proto = asio::local::stream_protocol;

class ServerImpl;

// One client. Lives in a shared_ptr held by its pending asynchronous operations.
template <class Socket>
class Connection : public std::enable_shared_from_this<Connection<Socket>> {
 public:
  Connection(ServerImpl* server, Socket socket, uint64_t id);
  void Start();
  void Close();

 private:
  void Read();
  void OnRead(const boost::system::error_code& ec, size_t n);
  void Flush();
  void OnWrite(const boost::system::error_code& ec);

  ServerImpl* server_;
  Socket socket_;
  server::ClientState state_;
  server::RespParser parser_;
  std::string out_;       // replies not yet handed to the socket
  std::string writing_;   // replies being written
  bool write_pending_ = false;
  bool closed_ = false;
  Command argv_;
};

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(ServerOptions options)
      : options_(std::move(options)), dispatcher_(options_, &stats_), acceptor_(io_), unix_acceptor_(io_) {}
  ~ServerImpl() override { Stop(); }

  Status Listen() {
    boost::system::error_code ec;
    if (options_.listen_fd >= 0) {
      const int fd = options_.listen_fd;
      options_.listen_fd = -1;  // the acceptor owns it now (or closes it below)
      sockaddr_storage sa{};
      socklen_t len = sizeof sa;
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0 ||
          (sa.ss_family != AF_INET && sa.ss_family != AF_INET6)) {
        ::close(fd);
        return Status::InvalidArgument("serve: listen_fd is not a TCP socket");
      }
      acceptor_.assign(sa.ss_family == AF_INET ? tcp::v4() : tcp::v6(), fd, ec);
      if (ec) {
        ::close(fd);
        return Status::Unavailable("serve: cannot serve the listening socket: " + ec.message());
      }
      port_ = acceptor_.local_endpoint(ec).port();
      dispatcher_.set_port(port_);
      AcceptTcp();
    } else if (options_.port >= 0) {
      tcp::endpoint ep(asio::ip::make_address(options_.bind, ec), static_cast<unsigned short>(options_.port));
      if (ec) return Status::InvalidArgument("--bind " + options_.bind + ": not an IP address");
      acceptor_.open(ep.protocol(), ec);
      if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) acceptor_.bind(ep, ec);
      if (!ec) acceptor_.listen(511, ec);
      if (ec) {
        return Status::Unavailable("cannot listen on " + options_.bind + ":" +
                                   std::to_string(options_.port) + ": " + ec.message());
      }
      port_ = acceptor_.local_endpoint().port();
      dispatcher_.set_port(port_);
      AcceptTcp();
    }
    if (!options_.unixsocket.empty()) {
      ::unlink(options_.unixsocket.c_str());
      unix_proto::endpoint ep(options_.unixsocket);
      unix_acceptor_.open(ep.protocol(), ec);
      if (!ec) unix_acceptor_.bind(ep, ec);
      if (!ec) unix_acceptor_.listen(511, ec);
      if (ec) return Status::Unavailable("cannot listen on " + options_.unixsocket + ": " + ec.message());
      AcceptUnix();
    }
    return Status::Ok();
  }

  void Run() {
    thread_ = std::thread([this] { io_.run(); });
  }

  int port() const override { return port_; }

  void Stop() override {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    asio::post(io_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      unix_acceptor_.close(ec);
      // Close() unregisters: iterate over a copy.
      std::map<uint64_t, std::function<void()>> live = live_;
      for (auto& close : live) close.second();
      live_.clear();
      io_.stop();
    });
    if (thread_.joinable()) thread_.join();
    if (!options_.unixsocket.empty()) ::unlink(options_.unixsocket.c_str());
  }

  ServerStats Stats() const override {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ServerStats s = stats_;
    s.total_commands_processed = dispatcher_.commands_processed();
    return s;
  }

  // ---- used by connections (server thread only) ----
  const ServerOptions& options() const { return options_; }
  server::Dispatcher& dispatcher() { return dispatcher_; }
  // The read buffer all connections share: filled and consumed within one handler.
  std::array<char, 16 * 1024>& read_buffer() { return rbuf_; }
  void Register(uint64_t id, std::function<void()> close) {
    live_.emplace(id, std::move(close));
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.connected_clients = static_cast<int64_t>(live_.size());
  }
  void Unregister(uint64_t id) {
    live_.erase(id);
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.connected_clients = static_cast<int64_t>(live_.size());
  }
  void CountProtocolError() {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.protocol_errors;
  }
  void CountOutputClose() {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.output_limit_closes;
  }

 private:
  template <class Socket>
  void Admit(Socket socket) {
    {
      std::lock_guard<std::mutex> lock(stats_mu_);
      ++stats_.total_connections_received;
    }
    if (static_cast<int64_t>(live_.size()) >= options_.maxclients) {
      {
        std::lock_guard<std::mutex> lock(stats_mu_);
        ++stats_.rejected_connections;
      }
      boost::system::error_code ec;
      static const char kMsg[] = "-ERR max number of clients reached\r\n";
      asio::write(socket, asio::buffer(kMsg, sizeof kMsg - 1), ec);
      socket.close(ec);
      return;
    }
    auto c = std::make_shared<Connection<Socket>>(this, std::move(socket), next_id_++);
    c->Start();
  }

  void AcceptTcp() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        boost::system::error_code ignore;
        s.set_option(tcp::no_delay(true), ignore);
        Admit(std::move(s));
      }
      AcceptTcp();
    });
  }

  void AcceptUnix() {
    unix_acceptor_.async_accept([this](const boost::system::error_code& ec, unix_proto::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) Admit(std::move(s));
      AcceptUnix();
    });
  }

  ServerOptions options_;
  mutable std::mutex stats_mu_;
  ServerStats stats_;
  server::Dispatcher dispatcher_;
  std::array<char, 16 * 1024> rbuf_{};
  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  unix_proto::acceptor unix_acceptor_;
  std::map<uint64_t, std::function<void()>> live_;
  uint64_t next_id_ = 1;
  int port_ = -1;
  std::thread thread_;
  std::mutex stop_mu_;
  bool stopped_ = false;
};

template <class Socket>
std::string Describe(const Socket& s, bool local) {
  boost::system::error_code ec;
  if constexpr (std::is_same_v<Socket, tcp::socket>) {
    auto ep = local ? s.local_endpoint(ec) : s.remote_endpoint(ec);
    if (ec) return "?:0";
    return ep.address().to_string() + ":" + std::to_string(ep.port());
  } else {
    auto ep = local ? s.local_endpoint(ec) : s.remote_endpoint(ec);
    return (ec ? std::string("?") : ep.path()) + ":0";
  }
}

template <class Socket>
Connection<Socket>::Connection(ServerImpl* server, Socket socket, uint64_t id)
    : server_(server),
      socket_(std::move(socket)),
      parser_(server::RespLimits{server->options().proto_max_bulk_len,
                                 server->options().client_query_buffer_limit}) {
  state_.id = id;
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);  // Read(): wait for readable, then read what is there
  state_.fd = static_cast<int>(socket_.native_handle());
  state_.addr = Describe(socket_, false);
  state_.laddr = Describe(socket_, true);
}

template <class Socket>
void Connection<Socket>::Start() {
  server_->dispatcher().AddClient(&state_);
  std::weak_ptr<Connection> weak = this->shared_from_this();
  server_->Register(state_.id, [weak] {
    if (auto self = weak.lock()) self->Close();
  });
  Read();
}

template <class Socket>
void Connection<Socket>::Close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  socket_.close(ec);
  server_->dispatcher().RemoveClient(&state_);
  server_->Unregister(state_.id);
}

template <class Socket>
void Connection<Socket>::Read() {
  if (closed_) return;
  auto self = this->shared_from_this();
  socket_.async_wait(Socket::wait_read, [self](const boost::system::error_code& ec) {
    if (ec) {
      self->OnRead(ec, 0);
      return;
    }
    boost::system::error_code rec;
    size_t n = self->socket_.read_some(asio::buffer(self->server_->read_buffer()), rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again) {
      self->Read();  // spurious wake-up
      return;
    }
    self->OnRead(rec, n);
  });
}

template <class Socket>
void Connection<Socket>::OnRead(const boost::system::error_code& ec, size_t n) {
  if (closed_) return;
  if (ec) {
    // The client went away (possibly mid-command or inside MULTI): its partial command and
    // its queued transaction are dropped unapplied.
    Close();
    return;
  }
  parser_.Feed(server_->read_buffer().data(), n);
  const ServerOptions& opts = server_->options();
  // One clock read for the whole batch: the client's last interaction (as Redis's, per read)
  // and, through the batch clock, the store's time for each of its commands.
  server::BatchClock::Batch batch(opts.batch_clock.get());
  state_.last_ms = batch.now_ms();
  while (!state_.close_after_reply) {
    server::RespParser::Outcome o = parser_.Next(&argv_);
    if (o == server::RespParser::Outcome::kNeedMore) break;
    if (o == server::RespParser::Outcome::kProtocolError) {
      server::RespWriter(&out_, state_.proto).Error("ERR " + parser_.error());
      state_.close_after_reply = true;
      server_->CountProtocolError();
      break;
    }
    // argv_ is not cleared: the parser reuses its strings for the next command.
    server_->dispatcher().Execute(&state_, argv_, &out_);
  }
  argv_.clear();
  parser_.ReleaseSpare();
  state_.qbuf = parser_.buffered();
  state_.obuf = out_.size() + writing_.size();
  if (parser_.OverQueryLimit()) {
    // Redis closes such a client without a reply.
    Close();
    return;
  }
  if (opts.client_output_buffer_limit > 0 &&
      static_cast<int64_t>(out_.size() + writing_.size()) > opts.client_output_buffer_limit) {
    server_->CountOutputClose();
    Close();
    return;
  }
  Flush();
  if (!state_.close_after_reply) Read();
}

template <class Socket>
void Connection<Socket>::Flush() {
  if (write_pending_ || out_.empty() || closed_) {
    if (!write_pending_ && out_.empty() && state_.close_after_reply) Close();
    return;
  }
  // Write now (the socket is non-blocking), as Redis does: a reply the socket takes whole costs
  // one write and no trip through the reactor (Asio's async_write writes at once too, but runs
  // its completion through the io_context's queue, which made the loop poll epoll once more for
  // about every third request of a -c 1 client). What the socket does not take is written
  // asynchronously.
  boost::system::error_code ec;
  const size_t n = socket_.write_some(asio::buffer(out_), ec);
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    Close();
    return;
  }
  const size_t written = ec ? 0 : n;
  if (written == out_.size()) {
    out_.clear();
    if (out_.capacity() > 1024 * 1024) std::string().swap(out_);
    if (state_.close_after_reply) Close();
    return;
  }
  writing_.assign(out_, written);
  out_.clear();
  if (out_.capacity() > 1024 * 1024) std::string().swap(out_);
  write_pending_ = true;
  auto self = this->shared_from_this();
  asio::async_write(socket_, asio::buffer(writing_),
                    [self](const boost::system::error_code& ec, size_t) { self->OnWrite(ec); });
}

template <class Socket>
void Connection<Socket>::OnWrite(const boost::system::error_code& ec) {
  write_pending_ = false;
  writing_.clear();
  if (writing_.capacity() > 1024 * 1024) std::string().swap(writing_);
  if (ec) {
    Close();
    return;
  }
  Flush();
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  // A refused start closes the listening socket it was given (the server owns it).
  auto refuse = [&options](const char* why) {
    if (options.listen_fd >= 0) ::close(options.listen_fd);
    return Status::InvalidArgument(why);
  };
  if (!options.backend) return refuse("serve: no backend");
  if (options.maxclients < 1) return refuse("serve: maxclients must be >= 1");
  if (options.port > 65535) return refuse("serve: port must be 0..65535");
  if (options.cluster.enabled && !options.cluster.redirect) {
    return refuse("serve: cluster mode needs cluster.redirect");
  }
  if (options.port < 0 && options.unixsocket.empty() && options.listen_fd < 0) {
    return refuse("serve: neither a TCP port nor a unix socket to listen on");
  }
  // Like Redis: room for maxclients descriptors (plus some for the server itself).
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rlim_t want = static_cast<rlim_t>(options.maxclients) + 32;
    if (rl.rlim_cur < want) {
      rl.rlim_cur = std::min(want, rl.rlim_max);
      (void)::setrlimit(RLIMIT_NOFILE, &rl);
    }
  }
  auto impl = std::make_unique<ServerImpl>(std::move(options));
  Status s = impl->Listen();
  if (!s.ok()) return s;
  impl->Run();
  return std::unique_ptr<Server>(std::move(impl));
}

}  // namespace stormkv
