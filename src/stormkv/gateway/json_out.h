// stormkv/gateway/json_out.h — internal to stormkv_gateway: a small, allocation-light JSON
// writer for the gateway's outputs (RemediationRequest, decision lines), byte-identical to the
// serialisers it replaces (cereal/rapidjson for requests, nlohmann for decisions), measured by
// tests/gateway/json_out_test.cc.
#ifndef STORMKV_GATEWAY_JSON_OUT_H_
#define STORMKV_GATEWAY_JSON_OUT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace stormkv::jsonout {

// Appends `s` as a JSON string. kRapidjson: '"' '\\' escaped, \b \t \n \f \r, other control
// bytes as \u00XX (upper-case hex), every other byte as is (what cereal's rapidjson writer
// writes). kNlohmann: the same with lower-case hex, and each byte that is not part of valid
// UTF-8 replaced by U+FFFD (nlohmann's dump with error_handler_t::replace, ensure_ascii false).
enum class Dialect { kRapidjson, kNlohmann };
void AppendString(std::string* out, std::string_view s, Dialect dialect);

inline void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  char* p = buf + sizeof buf;
  uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  do {
    *--p = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) *--p = '-';
  out->append(p, static_cast<std::size_t>(buf + sizeof buf - p));
}

}  // namespace stormkv::jsonout

#endif  // STORMKV_GATEWAY_JSON_OUT_H_
