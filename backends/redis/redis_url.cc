#include <charconv>
#include <string>
#include <string_view>

#include "stormkv/redis_backend.h"
#include "stormkv/redis_cluster_backend.h"

namespace stormkv {
namespace {

constexpr std::string_view kRedisScheme = "redis://";
constexpr std::string_view kUnixScheme = "unix://";
constexpr std::string_view kClusterScheme = "redis-cluster://";

// The URL with the password of its userinfo masked ("user:***@"; a userinfo without ':' may be
// a password written the old way, so all of it is masked).
std::string Redact(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  size_t start = scheme_end + 3;
  size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  std::string_view userinfo = url.substr(start, at - start);
  size_t colon = userinfo.find(':');
  if (colon == std::string_view::npos) {
    return std::string(url.substr(0, start)) + "***" + std::string(url.substr(at));
  }
  return std::string(url.substr(0, start + colon + 1)) + "***" + std::string(url.substr(at));
}

Status Bad(std::string_view url, std::string_view why) {
  return Status::InvalidArgument("invalid Redis URL '" + Redact(url) + "': " + std::string(why));
}

bool ParseNonNegative(std::string_view s, int* out) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int v = 0;
    auto [p, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16);
    if (ec != std::errc() || p != in.data() + i + 3) return false;
    out->push_back(static_cast<char>(v));
    i += 2;
  }
  return true;
}

// userinfo "user:password", ":password"; a bare "user" (no ':') is rejected.
Status ParseUserInfo(std::string_view url, std::string_view userinfo, RedisEndpoint* ep) {
  size_t colon = userinfo.find(':');
  if (colon == std::string_view::npos) {
    return Bad(url,
               "a user without a password (write redis://user:password@host or "
               "redis://:password@host)");
  }
  if (!PercentDecode(userinfo.substr(0, colon), &ep->user) ||
      !PercentDecode(userinfo.substr(colon + 1), &ep->password)) {
    return Bad(url, "bad percent-encoding in the user or password");
  }
  if (ep->password.empty()) return Bad(url, "empty password after ':'");
  return Status::Ok();
}

Status ParseHostPort(std::string_view url, std::string_view authority, RedisEndpoint* ep);

Status ParseTcp(std::string_view url, std::string_view rest, RedisEndpoint* ep) {
  ep->kind = RedisEndpoint::Kind::kTcp;
  if (rest.find('?') != std::string_view::npos || rest.find('#') != std::string_view::npos) {
    return Bad(url, "query parameters are not supported for redis:// (put the db in the path)");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    STORMKV_RETURN_IF_ERROR(ParseUserInfo(url, authority.substr(0, at), ep));
    authority = authority.substr(at + 1);
  }
  STORMKV_RETURN_IF_ERROR(ParseHostPort(url, authority, ep));
  if (path.size() > 1) {
    std::string_view db = path.substr(1);
    if (!ParseNonNegative(db, &ep->db)) {
      return Bad(url, "db '" + std::string(db) + "' is not a non-negative integer");
    }
  }
  return Status::Ok();
}

// "host[:port]" or "[v6]:port" into ep->host / ep->port.
Status ParseHostPort(std::string_view url, std::string_view authority, RedisEndpoint* ep) {
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Bad(url, "unterminated '[' in an IPv6 host");
    ep->host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Bad(url, "expected ':port' after the IPv6 host");
      port = after.substr(1);
      if (port.empty()) return Bad(url, "empty port after ':'");
    }
  } else {
    size_t colon = authority.find(':');
    ep->host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return Bad(url, "empty port after ':'");
    }
  }
  if (ep->host.empty()) return Bad(url, "empty host");
  if (!port.empty()) {
    if (!ParseNonNegative(port, &ep->port) || ep->port < 1 || ep->port > 65535) {
      return Bad(url, "port '" + std::string(port) + "' is not a number in 1..65535");
    }
  }
  return Status::Ok();
}

Status ParseUnix(std::string_view url, std::string_view rest, RedisEndpoint* ep) {
  ep->kind = RedisEndpoint::Kind::kUnix;
  size_t first_slash = rest.find('/');
  if (first_slash == std::string_view::npos) return Bad(url, "no socket path");
  std::string_view userinfo_part = rest.substr(0, first_slash);
  if (!userinfo_part.empty()) {
    if (userinfo_part.back() != '@') {
      return Bad(url, "the socket path must be absolute: unix:///path/to.sock");
    }
    STORMKV_RETURN_IF_ERROR(
        ParseUserInfo(url, userinfo_part.substr(0, userinfo_part.size() - 1), ep));
  }
  rest = rest.substr(first_slash);
  size_t q = rest.find('?');
  ep->path = std::string(rest.substr(0, q));
  if (ep->path.size() < 2) return Bad(url, "empty socket path");
  if (q == std::string_view::npos) return Status::Ok();
  std::string_view query = rest.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    size_t eq = param.find('=');
    std::string_view name = param.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : param.substr(eq + 1);
    if (name != "db") {
      return Bad(url, "unknown query parameter '" + std::string(name) + "' (only db=N)");
    }
    if (!ParseNonNegative(value, &ep->db)) {
      return Bad(url, "db '" + std::string(value) + "' is not a non-negative integer");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string RedisEndpoint::Describe() const {
  if (kind == Kind::kUnix) return "unix://" + path + "?db=" + std::to_string(db);
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "redis://" + h + ":" + std::to_string(port) + "/" + std::to_string(db);
}

Result<RedisEndpoint> ParseRedisUrl(std::string_view url) {
  RedisEndpoint ep;
  if (url.substr(0, kRedisScheme.size()) == kRedisScheme) {
    STORMKV_RETURN_IF_ERROR(ParseTcp(url, url.substr(kRedisScheme.size()), &ep));
    return ep;
  }
  if (url.substr(0, kUnixScheme.size()) == kUnixScheme) {
    STORMKV_RETURN_IF_ERROR(ParseUnix(url, url.substr(kUnixScheme.size()), &ep));
    return ep;
  }
  if (url.substr(0, kClusterScheme.size()) == kClusterScheme) {
    return Bad(url, "a redis-cluster:// URL names a cluster: use NewRedisClusterBackend");
  }
  if (url.substr(0, 9) == "rediss://") {
    return Bad(url, "TLS (rediss://) is not supported: Debian's hiredis 0.14 has no SSL");
  }
  return Bad(url,
             "expected redis://[[user]:password@]host[:port][/db] or "
             "unix:///path/to.sock[?db=N]");
}

std::string RedisClusterSeeds::Describe() const {
  std::string out(kClusterScheme);
  for (size_t i = 0; i < seeds.size(); ++i) {
    if (i > 0) out += ",";
    const std::string& h = seeds[i].host;
    out += h.find(':') != std::string::npos ? "[" + h + "]" : h;
    out += ":" + std::to_string(seeds[i].port);
  }
  return out;
}

Result<RedisClusterSeeds> ParseRedisClusterUrl(std::string_view url) {
  if (url.substr(0, kClusterScheme.size()) != kClusterScheme) {
    return Bad(url, "expected redis-cluster://[[user]:password@]host:port[,host:port...]");
  }
  std::string_view rest = url.substr(kClusterScheme.size());
  if (rest.find('?') != std::string_view::npos || rest.find('#') != std::string_view::npos) {
    return Bad(url, "query parameters are not supported for redis-cluster://");
  }
  if (rest.find('/') != std::string_view::npos) {
    return Bad(url, "no db path in a redis-cluster:// URL (a cluster has only db 0)");
  }
  RedisEndpoint creds;
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    STORMKV_RETURN_IF_ERROR(ParseUserInfo(url, rest.substr(0, at), &creds));
    rest = rest.substr(at + 1);
  }
  RedisClusterSeeds out;
  out.user = creds.user;
  out.password = creds.password;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view one = rest.substr(0, comma);
    if (one.empty()) return Bad(url, "empty seed (write host:port[,host:port...])");
    RedisEndpoint ep;
    STORMKV_RETURN_IF_ERROR(ParseHostPort(url, one, &ep));
    ep.user = creds.user;
    ep.password = creds.password;
    out.seeds.push_back(std::move(ep));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

}  // namespace stormkv
