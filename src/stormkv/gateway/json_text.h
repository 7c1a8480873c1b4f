// stormkv/gateway/json_text.h — internal to stormkv_gateway (needs nlohmann-json, which the
// library links privately; not installed): the canonical JSON encoder described in layouts.h,
// shared by the native twins of the JSON layouts and the aggregator; the nesting scan; and the
// adapters' JSON decoding boundary.
#ifndef STORMKV_GATEWAY_JSON_TEXT_H_
#define STORMKV_GATEWAY_JSON_TEXT_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "stormkv/gateway/signal.h"
#include "stormkv/status.h"

namespace stormkv {

// The canonical text of `value` (byte-identical to the Lua encoder in lua/storm_agg_*.lua):
// every number is first converted to a double, as Lua holds it.
std::string CanonicalJsonText(const nlohmann::json& value);

// The deepest nesting of arrays/objects Redis's Lua cjson decodes (its decode_max_depth, 1000):
// deeper text fails with "Found too many nested data structures". The twins refuse the same
// texts, and the recursive encoder above never sees a deeper value.
inline constexpr std::size_t kMaxJsonNesting = 1000;

// The byte offset of the first '[' or '{' in `text` that opens a container nested deeper than
// `max_depth` (the outermost container has depth 1), or std::string_view::npos when there is
// none. A byte scan that skips string contents: exact for valid JSON; on other text its answer
// is only a hint (such text does not parse anyway).
std::size_t JsonNestingExceededAt(std::string_view text, std::size_t max_depth);

// The exception boundary of the adapters (ParseAlertmanagerWebhook, ParseKubernetesEvents;
// defined in signal.cc):
// checks `payload` with CheckPayloadEnvelope, decodes it and returns what `body` returns for the
// document. Nothing thrown escapes:
//  * decoding fails (nlohmann parse_error, out_of_range such as a number beyond double range,
//    any other json::exception): InvalidArgument "payload: invalid JSON: <what>", where <what>
//    is nlohmann's explanation with the quoted input token cut short and non-printable bytes
//    escaped (EscapeForError): at most kMaxJsonErrorBytes bytes, whatever the input;
//  * std::bad_alloc anywhere: InvalidArgument "payload: out of memory while parsing";
//  * any other exception thrown by `body` (a bug): Internal "<adapter>: <what>".
Status DecodePayload(std::string_view payload, const AdapterLimits& limits,
                     std::string_view adapter,
                     const std::function<Status(const nlohmann::json&)>& body);

// Upper bound of the <what> part of DecodePayload's "invalid JSON" errors.
inline constexpr std::size_t kMaxJsonErrorBytes = 256;

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_JSON_TEXT_H_
