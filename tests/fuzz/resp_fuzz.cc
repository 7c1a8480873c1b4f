// Fuzz target: bytes a client could send to `stormkv serve`. The first byte picks the chunk
// size the bytes arrive in; every complete command runs through the server's dispatcher on a
// fresh embedded store. Properties: no crash; the parser's result does not depend on how the
// bytes were split; every command gets exactly one well-formed RESP reply; a protocol error
// carries Redis's "Protocol error: " text.
#include <memory>
#include <string>
#include <vector>

#include "fuzz_targets.h"
#include "stormkv/clock.h"
#include "stormkv/memory_backend.h"
#include "stormkv/server/dispatcher.h"
#include "stormkv/server/resp.h"

namespace stormkv::fuzz {
namespace {

using server::RespParser;

// Length of the one RESP value at the start of `s`, or 0 when it is not one whole value.
size_t ValueLength(std::string_view s, size_t pos = 0, int depth = 0) {
  if (depth > 64 || pos >= s.size()) return 0;
  size_t eol = s.find("\r\n", pos);
  if (eol == std::string_view::npos) return 0;
  char t = s[pos];
  std::string head(s.substr(pos + 1, eol - pos - 1));
  size_t next = eol + 2;
  if (t == '+' || t == '-' || t == ':' || t == '_' || t == ',' || t == '#') return next - pos;
  long n = 0;
  try {
    n = std::stol(head);
  } catch (...) {
    return 0;
  }
  if (t == '$' || t == '=') {
    if (n < 0) return next - pos;
    if (s.size() < next + n + 2 || s.substr(next + n, 2) != "\r\n") return 0;
    return next + n + 2 - pos;
  }
  if (t == '*' || t == '~' || t == '%') {
    if (n < 0) return next - pos;
    if (t == '%') n *= 2;
    for (long i = 0; i < n; ++i) {
      size_t len = ValueLength(s, next, depth + 1);
      if (len == 0) return 0;
      next += len;
    }
    return next - pos;
  }
  return 0;
}

std::vector<std::vector<std::string>> Parse(std::string_view bytes, size_t chunk, std::string* error) {
  RespParser p;
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> argv;
  for (size_t off = 0; off < bytes.size(); off += chunk) {
    std::string_view piece = bytes.substr(off, chunk);
    p.Feed(piece.data(), piece.size());
    RespParser::Outcome o;
    while ((o = p.Next(&argv)) == RespParser::Outcome::kCommand) out.push_back(argv);
    if (o == RespParser::Outcome::kProtocolError) {
      *error = p.error();
      return out;
    }
  }
  return out;
}

}  // namespace

int RespOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = 1 + data[0] % 17;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string err_whole, err_chunked;
  auto whole = Parse(bytes, bytes.size() + 1, &err_whole);
  auto chunked = Parse(bytes, chunk, &err_chunked);
  // Split points change nothing, except that an inline line too long without its newline may
  // be refused earlier in one feeding than the other: compare what both parsed.
  if (err_whole.empty() && err_chunked.empty()) {
    FUZZ_CHECK(whole == chunked, "chunk " + std::to_string(chunk) + ": " + Printable(bytes));
  }
  for (const std::string* e : {&err_whole, &err_chunked}) {
    FUZZ_CHECK(e->empty() || e->rfind("Protocol error: ", 0) == 0, *e);
  }

  auto clock = std::make_shared<ManualClock>();
  MemoryBackendOptions mo;
  mo.clock = clock;
  ServerOptions so;
  so.backend = std::shared_ptr<KvBackend>(NewMemoryBackend(mo).value());
  so.clock.now_ms = [clock] { return clock->NowMs(); };
  so.clock.set_ms = [clock](int64_t ms) { clock->SetMs(ms); };
  so.clock.advance = [clock](int64_t d) { clock->Advance(std::chrono::milliseconds(d)); };
  ServerStats stats;
  server::Dispatcher d(so, &stats);
  server::ClientState c;
  c.id = 1;
  d.AddClient(&c);
  size_t runs = 0;
  for (auto& argv : whole) {
    if (++runs > 200) break;
    std::string out;
    d.Execute(&c, argv, &out);
    FUZZ_CHECK(!out.empty() && ValueLength(out) == out.size(),
               "reply to " + Printable(argv[0]) + ": " + Printable(out));
    if (c.close_after_reply) break;
  }
  d.RemoveClient(&c);
  return 0;
}

}  // namespace stormkv::fuzz
