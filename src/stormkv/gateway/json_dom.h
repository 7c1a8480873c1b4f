// stormkv/gateway/json_dom.h — internal to stormkv_gateway (simdjson is linked privately): the
// one parser of inbound payloads. The adapters (alertmanager.cc, k8s_event.cc), format detection
// and the CLI's "is this JSON" checks all go through it.
//
// Why simdjson's DOM (bench/pipeline, bench/RESULTS.md): on Alertmanager webhooks of 1, 100 and
// 1,000 alerts and Kubernetes Events it parses 17-43x faster than nlohmann's DOM, and 4-9x faster
// than rapidjson's SAX reader copying the strings the adapter keeps; the DOM keeps the adapters'
// field-by-field validation (and their error texts) simple, and a thread-local parser reuses its
// buffers, so a payload costs no allocation once the parser has grown.
//
// Semantics kept from the nlohmann DOM the adapters used before: a member that appears twice
// counts with its LAST value; members are validated in key order (so the first error reported is
// the same); strings are UTF-8-validated. One difference: an integer beyond 64 bits (which
// nlohmann read as a double) is a number error here; no Alertmanager or Kubernetes field is one.
#ifndef STORMKV_GATEWAY_JSON_DOM_H_
#define STORMKV_GATEWAY_JSON_DOM_H_

#include <simdjson.h>

#include <functional>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "stormkv/gateway/signal.h"
#include "stormkv/status.h"

namespace stormkv::jsondom {

using Value = simdjson::dom::element;

// "null", "boolean", "number", "string", "array", "object" (the names the errors use).
std::string_view TypeName(Value v);

inline bool IsObject(Value v) { return v.type() == simdjson::dom::element_type::OBJECT; }
inline bool IsArray(Value v) { return v.type() == simdjson::dom::element_type::ARRAY; }
inline bool IsString(Value v) { return v.type() == simdjson::dom::element_type::STRING; }
inline bool IsNull(Value v) { return v.type() == simdjson::dom::element_type::NULL_VALUE; }
// REQUIRES: IsString(v).
inline std::string_view Str(Value v) { return v.get_string().value_unsafe(); }

// The member `key` of object `obj` (its last occurrence), or nullopt when it is missing or
// null. REQUIRES: IsObject(obj).
std::optional<Value> Member(Value obj, std::string_view key);

// The members of object `obj` sorted by key, each key once with its last value.
void SortedMembers(Value obj, std::vector<std::pair<std::string_view, Value>>* out);

// The adapters' decoding boundary: checks `payload` with CheckPayloadEnvelope, parses it and
// returns what `body` returns for the document. Nothing thrown escapes:
//  * parsing fails: InvalidArgument "payload: invalid JSON: <why>": simdjson decides, and the
//    text that says where and quotes the token comes from nlohmann's SAX reader run on the
//    refused input only (the adapters' error texts stay as they were), cut to its ends and
//    escaped (EscapeForError, at most 256 bytes); a fixed text per kind of error when nlohmann
//    would have accepted the input (an integer beyond 64 bits);
//  * std::bad_alloc anywhere: InvalidArgument "payload: out of memory while parsing";
//  * any other exception thrown by `body` (a bug): Internal "<adapter>: <what>".
// The Value handed to `body` is valid only during the call.
Status DecodePayload(std::string_view payload, const AdapterLimits& limits,
                     std::string_view adapter, const std::function<Status(Value)>& body);

// True when the nesting of arrays/objects in `v` (itself at depth `depth`, the outermost
// container at 1) goes deeper than `max_depth`: on a parsed document, what
// CheckPayloadEnvelope's byte scan decides on its text, by a walk over the containers only.
bool DeeperThan(Value v, std::size_t depth, std::size_t max_depth);

// DeeperThan(root, 0, max_depth), remembered for the document WithDocument parsed last (a
// DecodePayload of the same bytes right after reuses the answer instead of walking again).
// REQUIRES: `root` is the root of the document the thread's parser holds (called from a
// WithDocument `fn`, or by DecodePayload on the document it reuses).
bool DocumentDeeperThan(Value root, std::size_t max_depth);

// Parses `payload` (no limits) and hands the document to `fn`; false when it is not JSON.
bool WithDocument(std::string_view payload, const std::function<void(Value)>& fn);

}  // namespace stormkv::jsondom

#endif  // STORMKV_GATEWAY_JSON_DOM_H_
