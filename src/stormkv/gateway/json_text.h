// stormkv/gateway/json_text.h — internal to stormkv_gateway (needs nlohmann-json, which the
// library links privately; not installed): the canonical JSON encoder described in layouts.h,
// shared by the native twins of the JSON layouts and the aggregator; and the nesting scan.
// (Inbound payloads are parsed by json_dom.h.)
#ifndef STORMKV_GATEWAY_JSON_TEXT_H_
#define STORMKV_GATEWAY_JSON_TEXT_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "stormkv/gateway/signal.h"
#include "stormkv/status.h"

namespace stormkv {

// The canonical text of `value` (byte-identical to the Lua encoder in lua/storm_agg_*.lua):
// every number is first converted to a double, as Lua holds it.
std::string CanonicalJsonText(const nlohmann::json& value);

// `text` decoded exactly as Redis 7.0's Lua cjson.decode decodes it (cjson_decode.cc lists its
// leniencies: any byte inside strings, strtod numbers such as 0x10 or inf, the text ending at a
// NUL, ...), every number as a double; std::nullopt where cjson.decode raises an error. The
// native twins of the JSON layouts read stored records with it, so that they accept exactly
// what their Lua scripts accept.
std::optional<nlohmann::json> DecodeLikeCjson(const std::string& text);

// The deepest nesting of arrays/objects Redis's Lua cjson decodes (its decode_max_depth, 1000):
// deeper text fails with "Found too many nested data structures". The twins refuse the same
// texts, and the recursive encoder above never sees a deeper value.
inline constexpr std::size_t kMaxJsonNesting = 1000;

// The byte offset of the first '[' or '{' in `text` that opens a container nested deeper than
// `max_depth` (the outermost container has depth 1), or std::string_view::npos when there is
// none. A byte scan that skips string contents: exact for valid JSON; on other text its answer
// is only a hint (such text does not parse anyway).
std::size_t JsonNestingExceededAt(std::string_view text, std::size_t max_depth);

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_JSON_TEXT_H_
