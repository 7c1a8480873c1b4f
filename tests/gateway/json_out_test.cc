// The direct JSON writers (json_out.h) against the serialisers they replaced, on random content:
// RemediationRequestToJson's compact form equals cereal's (its pretty form, whitespace dropped);
// AlertDecisionToJson equals nlohmann's dump of the same fields (error_handler replace).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "stormkv/gateway/json_out.h"
#include "stormkv/gateway/pipeline.h"
#include "stormkv/gateway/remediation_request.h"

namespace stormkv {
namespace {

// Random bytes: plain text, quotes, backslashes, control bytes, UTF-8 (valid and not).
std::string RandomText(std::mt19937& rng, bool valid_utf8) {
  static const std::string kPieces[] = {"a", "Pod/x", "\"", "\\", "\n", "\t", "\x01", "\x1f",
                                        "\x7f", "/", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x94\xa5",
                                        " ", "{}", ":"};
  static const std::string kBad[] = {"\xff", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xc0\xaf",
                                     "\xf4\x90\x80\x80", "\x80"};
  std::string out;
  const int n = std::uniform_int_distribution<int>(0, 12)(rng);
  for (int i = 0; i < n; ++i) {
    if (!valid_utf8 && std::uniform_int_distribution<int>(0, 5)(rng) == 0) {
      out += kBad[std::uniform_int_distribution<int>(0, 6)(rng)];
    } else {
      out += kPieces[std::uniform_int_distribution<int>(0, 15)(rng)];
    }
  }
  return out;
}

std::string WithoutWhitespace(const std::string& text) {
  std::string out;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      out += c;
    } else if (c == '"') {
      in_string = true;
      out += c;
    } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
      out += c;
    }
  }
  return out;
}

TEST(JsonOut, RemediationRequestMatchesCerealByteForByte) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    RemediationRequest rr;
    rr.name = RandomText(rng, false);
    rr.namespace_name = RandomText(rng, false);
    rr.signal_fingerprint = RandomText(rng, true);
    rr.signal_name = RandomText(rng, false);
    rr.severity = RandomText(rng, true);
    rr.signal_type = "prometheus-alert";
    rr.signal_source = RandomText(rng, true);
    rr.target_resource = {RandomText(rng, true), RandomText(rng, false),
                          i % 3 == 0 ? "" : RandomText(rng, true)};
    rr.firing_time_ms = 1714564800000 + i * 1234;
    rr.received_time_ms = 1714564800000 + i * 777;
    rr.deduplication.is_duplicate = i % 2 == 0;
    rr.deduplication.occurrence_count = i - 5;
    rr.deduplication.previous_remediation_request_ref = i % 4 == 0 ? RandomText(rng, true) : "";
    rr.is_storm = i % 2 == 1;
    rr.storm_type = RandomText(rng, true);
    rr.storm_window = "1m";
    rr.storm_alert_count = i;
    for (int k = 0; k < i % 5; ++k) rr.affected_resources.push_back(RandomText(rng, false));
    rr.affected_resources_overflow = i % 3;
    rr.storm_closed = i % 4 == 1;
    for (int k = 0; k < i % 6; ++k) rr.signal_labels[RandomText(rng, false) + "k"] = RandomText(rng, false);
    for (int k = 0; k < i % 3; ++k) rr.signal_annotations["a" + RandomText(rng, true)] = RandomText(rng, true);
    ASSERT_EQ(RemediationRequestToJson(rr), WithoutWhitespace(RemediationRequestToJson(rr, true)))
        << i;
  }
}

// The nlohmann writer AlertDecisionToJson used before (the reference).
std::string NlohmannDecision(const AlertDecision& d) {
  nlohmann::json j;
  j["index"] = d.index;
  j["outcome"] = OutcomeName(d.outcome);
  if (!d.reason.empty()) j["reason"] = d.reason;
  if (!d.status.ok()) j["error"] = StatusCodeName(d.status.code());
  if (!d.fingerprint.empty()) {
    j["fingerprint"] = d.fingerprint;
    j["signalName"] = d.signal_name;
    j["namespace"] = d.namespace_name;
    if (!d.resource.empty()) j["resource"] = {{"kind", d.resource.kind}, {"name", d.resource.name}};
  }
  if (!d.remediation_request.empty()) j["remediationRequest"] = d.remediation_request;
  if (d.occurrence_count > 0) {
    j["occurrenceCount"] = d.occurrence_count;
    j["firstSeen"] = FormatRfc3339Ms(d.first_seen_ms);
    j["lastSeen"] = FormatRfc3339Ms(d.last_seen_ms);
  }
  if (d.outcome == Outcome::kStormAggregated) {
    if (d.storm_type) j["stormType"] = StormTypeName(*d.storm_type);
    j["stormOpened"] = d.storm_opened;
    j["stormAlertCount"] = d.storm_alert_count;
    j["stormResourceCount"] = d.storm_resource_count;
    if (d.storm_overflow > 0) j["stormOverflow"] = d.storm_overflow;
  }
  if (d.outcome == Outcome::kRateLimited) j["retryAfterMs"] = d.retry_after_ms;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

TEST(JsonOut, DecisionMatchesNlohmannByteForByte) {
  std::mt19937 rng(11);
  const Outcome outcomes[] = {Outcome::kCreated, Outcome::kDuplicate, Outcome::kStormAggregated,
                              Outcome::kRateLimited, Outcome::kRejected, Outcome::kIgnored,
                              Outcome::kFailed};
  for (int i = 0; i < 3000; ++i) {
    AlertDecision d;
    d.index = static_cast<std::size_t>(i);
    d.outcome = outcomes[i % 7];
    d.reason = i % 3 == 0 ? "" : RandomText(rng, false);
    if (i % 5 == 0) d.status = Status::Unavailable("x");
    d.fingerprint = i % 4 == 0 ? "" : RandomText(rng, false) + "f";
    d.signal_name = RandomText(rng, false);
    d.namespace_name = RandomText(rng, false);
    if (i % 3 != 0) d.resource = {RandomText(rng, false), RandomText(rng, true) + "n"};
    d.remediation_request = i % 2 ? RandomText(rng, true) : "";
    d.occurrence_count = i % 3;
    d.first_seen_ms = 1714564800000 + i;
    d.last_seen_ms = 1714564800000 + 2 * i;
    if (i % 2) d.storm_type = StormType::kPattern;
    d.storm_opened = i % 4 == 3;
    d.storm_alert_count = i;
    d.storm_resource_count = i / 2;
    d.storm_overflow = i % 3;
    d.retry_after_ms = i * 10;
    ASSERT_EQ(AlertDecisionToJson(d), NlohmannDecision(d)) << i;
    // The ingest line: "payload" first, then index, outcome, reason, error, then the rest.
    nlohmann::ordered_json line;
    line["payload"] = "file.json";
    const nlohmann::json parsed = nlohmann::json::parse(NlohmannDecision(d));
    for (const char* first : {"index", "outcome", "reason", "error"}) {
      if (parsed.contains(first)) line[first] = parsed[first];
    }
    for (auto it = parsed.begin(); it != parsed.end(); ++it) {
      if (!line.contains(it.key())) line[it.key()] = it.value();
    }
    ASSERT_EQ(AlertDecisionToJson(d, "file.json"),
              line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace))
        << i;
  }
}

}  // namespace
}  // namespace stormkv

namespace stormkv {
namespace {

// Long strings (the 16-byte block scan of AppendString, specials at every offset): the
// nlohmann dialect equals nlohmann's dump, the rapidjson one the byte-by-byte escaping that
// cereal's rapidjson writer does.
TEST(JsonOut, LongStringsMatchTheirReferences) {
  std::mt19937 rng(18);
  auto rapidjson_reference = [](std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
      static const char kHex[] = "0123456789ABCDEF";
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\t': out += "\\t"; break;
        case '\n': out += "\\n"; break;
        case '\f': out += "\\f"; break;
        case '\r': out += "\\r"; break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
    }
    return out + "\"";
  };
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    const int pieces = std::uniform_int_distribution<int>(1, 12)(rng);
    for (int p = 0; p < pieces; ++p) {
      text += std::string(std::uniform_int_distribution<std::size_t>(0, 40)(rng), 'x');
      text += RandomText(rng, /*valid_utf8=*/i % 2 == 0);
    }
    std::string nl, rj;
    jsonout::AppendString(&nl, text, jsonout::Dialect::kNlohmann);
    jsonout::AppendString(&rj, text, jsonout::Dialect::kRapidjson);
    ASSERT_EQ(nl, nlohmann::json(text).dump(-1, ' ', false,
                                            nlohmann::json::error_handler_t::replace))
        << i;
    ASSERT_EQ(rj, rapidjson_reference(text)) << i;
  }
}

}  // namespace
}  // namespace stormkv
