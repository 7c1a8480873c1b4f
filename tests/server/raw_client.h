// tests/server/raw_client.h — a blocking test client speaking raw RESP bytes to `stormkv serve`
// (server_test, cluster_server_test).
#ifndef STORMKV_TESTS_SERVER_RAW_CLIENT_H_
#define STORMKV_TESTS_SERVER_RAW_CLIENT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace stormkv {

// A blocking test client speaking raw bytes.
class RawClient {
 public:
  // rcvbuf > 0 fixes the socket's receive buffer (SO_RCVBUF, set before connecting, which also
  // turns off the kernel's autotuning), so how much an unread connection absorbs is bounded.
  explicit RawClient(int port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  explicit RawClient(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawClient() { Close(); }
  bool ok() const { return ok_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void Send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // Reads until `n` bytes arrived, EOF, or 5 s passed.
  std::string Read(size_t n) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[65536];
      ssize_t r = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (r <= 0) {
        eof_ = true;
        break;
      }
      out.append(buf, static_cast<size_t>(r));
    }
    return out;
  }
  // Sends one command as a multibulk and returns its whole reply (one RESP2/RESP3 value, as
  // raw bytes), or what arrived before EOF / 5 s.
  std::string Cmd(const std::vector<std::string>& argv, size_t = 0) {
    std::string wire = "*" + std::to_string(argv.size()) + "\r\n";
    for (const std::string& a : argv) wire += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    Send(wire);
    return ReadReply();
  }
  std::string Expect(const std::vector<std::string>& argv, const std::string&) { return Cmd(argv); }
  std::string ReadReply() {
    size_t end = 0;
    while (!Complete(0, &end)) {
      std::string more = Read(1);
      if (more.empty()) break;
      buf_ += more;
      std::string rest = ReadAvailable();
      buf_ += rest;
    }
    if (!Complete(0, &end)) end = buf_.size();
    std::string r = buf_.substr(0, end);
    buf_.erase(0, end);
    return r;
  }
  // Whether buf_ holds a complete RESP value starting at `pos`; its end in *end.
  bool Complete(size_t pos, size_t* end) const {
    size_t eol = buf_.find("\r\n", pos);
    if (eol == std::string::npos) return false;
    char t = buf_[pos];
    std::string head = buf_.substr(pos + 1, eol - pos - 1);
    size_t next = eol + 2;
    if (t == '$' || t == '=' || t == '!') {
      long n = std::stol(head);
      if (n < 0) return *end = next, true;
      if (buf_.size() < next + static_cast<size_t>(n) + 2) return false;
      return *end = next + n + 2, true;
    }
    if (t == '*' || t == '~' || t == '%' || t == '>' || t == '|') {
      long n = std::stol(head);
      if (t == '%' || t == '|') n *= 2;
      for (long i = 0; i < n; ++i) {
        if (!Complete(next, &next)) return false;
      }
      return *end = next, true;
    }
    return *end = next, true;
  }
  std::string ReadAvailable() {
    std::string out;
    char b[65536];
    while (true) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) break;
      ssize_t r = ::recv(fd_, b, sizeof b, 0);
      if (r <= 0) break;
      out.append(b, static_cast<size_t>(r));
    }
    return out;
  }
  // True when the server closed the connection (reads until EOF, up to 5 s).
  bool ClosedByServer() {
    Read(1 << 30);
    return eof_;
  }

 private:
  int fd_ = -1;
  std::string buf_;
  bool ok_ = false;
  bool eof_ = false;
};

}  // namespace stormkv

#endif  // STORMKV_TESTS_SERVER_RAW_CLIENT_H_
