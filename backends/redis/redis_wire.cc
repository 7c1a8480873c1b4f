#include "redis_wire.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

namespace stormkv::redis_internal {
namespace {

bool IsTimeoutErrno(int e) {
  return e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT || e == EINPROGRESS;
}

void AppendDecimal(std::string* out, size_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

}  // namespace

timeval ToTimeval(std::chrono::milliseconds d) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

Status MapRedisError(const std::string& server, int kind, std::string_view text, int saved_errno,
                     const redisReply* reply, std::string_view during) {
  if (reply != nullptr && reply->type == REDIS_REPLY_ERROR) {
    Status s = StatusFromErrorReply(std::string_view(reply->str, reply->len));
    if (during.empty()) return s;
    return s.WithContext(server + ": " + std::string(during));
  }
  std::string prefix = server + ": ";
  if (!during.empty()) prefix += std::string(during) + ": ";
  std::string what = text.empty() ? std::string("unknown hiredis error") : std::string(text);
  switch (kind) {
    case REDIS_ERR_IO: {
      bool timeout = IsTimeoutErrno(saved_errno) || what.find("timed out") != std::string::npos ||
                     what == std::strerror(EAGAIN);
      if (timeout) return Status::Timeout(prefix + "timed out (" + what + ")");
      return Status::Unavailable(prefix + what);
    }
    case REDIS_ERR_EOF:
      return Status::Unavailable(prefix + what);
    case REDIS_ERR_PROTOCOL:
      return Status::ServerError(prefix + "protocol error, is this a Redis server? " + what);
    case REDIS_ERR_OOM:
      return Status::Internal(prefix + "hiredis out of memory");
    case 0:
      return Status::Internal(prefix + "hiredis returned no reply and no error");
    default:
      return Status::Unavailable(prefix + what);
  }
}

Status ContextError(const std::string& server, const redisContext* c, int saved_errno,
                    std::string_view during) {
  if (c == nullptr) return Status::Internal(server + ": hiredis could not allocate a context");
  return MapRedisError(server, c->err, c->errstr, saved_errno, nullptr, during);
}

Result<Reply> ConvertReply(const std::string& server, const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
      return Reply::Bulk(std::string(r->str, r->len));
    case REDIS_REPLY_STATUS:
      return Reply::StatusText(std::string(r->str, r->len));
    case REDIS_REPLY_INTEGER:
      return Reply::Integer(r->integer);
    case REDIS_REPLY_NIL:
      return Reply::Nil();
    case REDIS_REPLY_ERROR:
      return Reply::Error(std::string(r->str, r->len));
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) {
        Result<Reply> e = ConvertReply(server, r->element[i]);
        if (!e.ok()) return e.status();
        elements.push_back(std::move(e).value());
      }
      return Reply::Array(std::move(elements));
    }
    default:
      return Status::Internal(server + ": reply of unexpected type " + std::to_string(r->type));
  }
}

Result<Reply> TopLevel(const std::string& server, const redisReply* r) {
  if (r->type == REDIS_REPLY_ERROR) return MapRedisError(server, 0, {}, 0, r);
  return ConvertReply(server, r);
}

void EncodeCommand(const Command& cmd, std::string* out) {
  out->push_back('*');
  AppendDecimal(out, cmd.size());
  out->append("\r\n");
  for (const std::string& arg : cmd) {
    out->push_back('$');
    AppendDecimal(out, arg.size());
    out->append("\r\n");
    out->append(arg);
    out->append("\r\n");
  }
}

Status SendAll(const std::string& server, redisContext* c, std::string_view data,
               std::string_view during) {
  while (!data.empty()) {
    ssize_t n = send(c->fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      return MapRedisError(server, REDIS_ERR_IO, std::strerror(saved), saved, nullptr, during);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status ReadReply(const std::string& server, redisContext* c, ReplyPtr* out,
                 std::string_view during) {
  void* raw = nullptr;
  if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
    int saved = errno;
    return ContextError(server, c, saved, during);
  }
  out->reset(static_cast<redisReply*>(raw));
  return Status::Ok();
}

std::string& WireBuffer() {
  thread_local std::string buf;
  buf.clear();
  if (buf.capacity() > (size_t{4} << 20)) buf.shrink_to_fit();
  return buf;
}

bool LooksDead(const redisContext* c) {
  if (c->err != 0 || c->fd < 0) return true;
  pollfd p{c->fd, POLLIN, 0};
  int n;
  do {
    n = poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n != 0;
}

}  // namespace stormkv::redis_internal
