// stormkv/gateway/scripts.h — the gateway's atomic scripts: Lua text (lua/<name>.lua, embedded)
// plus native twins, registered once in ScriptRegistry::Global().
//
// Each twin issues the same primitive commands, in the same order and with the same argument
// bytes, through ScriptContext::Call as its Lua text does through redis.call, and returns the
// same reply (Lua numbers become truncated integers, false becomes nil). Every script takes
// `now` (ms since the epoch) as ARGV[1], never TIME, and touches only its KEYS, which share one
// hash tag. KEYS/ARGV of each script are documented at the top of its .lua file.
//
// Services (dedup.h, storm_detector.h, storm_aggregator.h, rate_limiter.h) are the intended
// callers; tests and benches use GatewayScript() directly.
#ifndef STORMKV_GATEWAY_SCRIPTS_H_
#define STORMKV_GATEWAY_SCRIPTS_H_

#include <array>
#include <cstddef>
#include <string_view>

#include "stormkv/gateway/layouts.h"
#include "stormkv/reply.h"
#include "stormkv/script.h"
#include "stormkv/status.h"

namespace stormkv {

enum class ScriptId {
  kDedup,               // "dedup"
  kStormDetect,         // "storm_detect"
  kStormAggCompact,     // "storm_agg_compact"
  kStormAggJsonMeta,    // "storm_agg_json_meta"
  kStormAggFullCrd,     // "storm_agg_full_crd"
  kRateLimit,           // "rate_limit"
  kDedupFinish,         // "dedup_finish"
  kStormClose,          // "storm_close" (storm_closer.h)
};

inline constexpr std::array<ScriptId, 8> kAllScriptIds = {
    ScriptId::kDedup,           ScriptId::kStormDetect,     ScriptId::kStormAggCompact,
    ScriptId::kStormAggJsonMeta, ScriptId::kStormAggFullCrd, ScriptId::kRateLimit,
    ScriptId::kDedupFinish,     ScriptId::kStormClose};

// The script's registry name, which is also its Lua file name without ".lua".
std::string_view ScriptName(ScriptId id);

// The registered script (registers all gateway scripts on first use; thread-safe; the reference
// stays valid for the process lifetime).
const Script& GatewayScript(ScriptId id);

// The aggregation script of a layout.
ScriptId AggregationScript(Layout layout);

// Prefix of the error a script raises (redis.error_reply) when a stored record does not decode;
// services turn it into Status::Corruption.
inline constexpr std::string_view kCorruptErrorPrefix = "CORRUPT ";

// How services report a failed Eval: a "CORRUPT ..." error becomes Status::Corruption; every
// other Status keeps its code. The message is prefixed with `context` ("dedup: ...").
Status ScriptFailure(const Status& status, std::string_view context);

// Checks a script reply's shape: an array of `size` elements whose first `integers` elements
// are integers. Internal (naming `context`) otherwise.
Status CheckReplyShape(const Reply& reply, std::size_t size, std::size_t integers,
                       std::string_view context);

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_SCRIPTS_H_
