// stormkv/gateway/layouts.h — how one alert storm is stored: the three aggregation layouts.
//
//  * kFullCrd  ("full-crd"):  the whole RemediationRequest-like JSON document in one string,
//    decoded, updated and re-encoded per alert (the legacy, kept for comparison);
//  * kJsonMeta ("json-meta"): the lightweight JSON record of the triage note
//    {"alert_count","first_seen","last_seen","overflow","pattern","resources"} in one string,
//    decoded, scanned, appended and re-encoded per alert — O(resources) per alert;
//  * kCompact  ("compact", the default): one HASH per storm, O(1) per alert, listpack-encoded by
//    Redis while small. Fields: "#n" alert count, "#f" first seen (ms), "#l" last seen (ms),
//    "#p" pattern (storm type), "#o" overflow count, "#r" the last added alert (see below), and
//    one field per affected resource (its escaped name, which never starts with '#') whose value
//    is that resource's alert count.
//
// Every layout keeps the last added alert's request id (StormAlert::request_id), prefixed with
// '0'/'1' for its is_new: compact "#r", json-meta "request", full-crd spec.stormRequest. An add
// with the same request id is a replay: it writes nothing and returns that alert's result again.
//
// JSON text written by the scripts is canonical, so the Lua script and its native twin produce the
// same bytes: object keys in byte order, no whitespace, integers printed in full ("%d"), other
// numbers "%.14g", strings with '"', '\\' and control bytes (0x00-0x1f, 0x7f) escaped ('"' and
// '\\' with a backslash, control bytes as \u00xx), other bytes as is, and every empty container
// (object or array) written as "[]" — never "{}" for an empty list.
#ifndef STORMKV_GATEWAY_LAYOUTS_H_
#define STORMKV_GATEWAY_LAYOUTS_H_

#include <array>
#include <string>
#include <string_view>

#include "stormkv/status.h"

namespace stormkv {

enum class Layout { kFullCrd, kJsonMeta, kCompact };

inline constexpr std::array<Layout, 3> kAllLayouts = {Layout::kFullCrd, Layout::kJsonMeta,
                                                      Layout::kCompact};

// "full-crd", "json-meta" or "compact".
std::string_view LayoutName(Layout layout);

// Parses a layout name (exactly as LayoutName prints it; also accepts '_' for '-').
// InvalidArgument naming the accepted values otherwise.
Result<Layout> ParseLayout(std::string_view name);

// Re-encodes JSON `text` canonically (see above). Corruption when `text` is not valid JSON or
// nests arrays/objects deeper than 1000 levels (what Redis's Lua cjson refuses to decode).
Result<std::string> CanonicalJson(std::string_view text);

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_LAYOUTS_H_
