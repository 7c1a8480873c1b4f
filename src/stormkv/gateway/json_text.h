// stormkv/gateway/json_text.h — internal to stormkv_gateway (needs nlohmann-json, which the
// library links privately): the canonical JSON encoder described in layouts.h, shared by the
// native twins of the JSON layouts and the aggregator.
#ifndef STORMKV_GATEWAY_JSON_TEXT_H_
#define STORMKV_GATEWAY_JSON_TEXT_H_

#include <string>

#include <nlohmann/json.hpp>

namespace stormkv {

// The canonical text of `value` (byte-identical to the Lua encoder in lua/storm_agg_*.lua):
// every number is first converted to a double, as Lua holds it.
std::string CanonicalJsonText(const nlohmann::json& value);

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_JSON_TEXT_H_
