// Fuzz targets of the two adapters: untrusted payload bytes -> NormalizedSignals.
// Properties: never throws; failure is InvalidArgument with a bounded message; success gives
// well-formed signals within every AdapterLimits cap whose RemediationRequest serialises to
// valid JSON; parsing is deterministic; tighter limits never accept what default limits reject.
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fuzz_targets.h"
#include "stormkv/gateway/alertmanager.h"
#include "stormkv/gateway/fingerprint.h"
#include "stormkv/gateway/k8s_event.h"
#include "stormkv/gateway/pipeline.h"
#include "stormkv/gateway/remediation_request.h"

namespace stormkv::fuzz {
namespace {

constexpr int64_t kNowMs = 1714564800000;
constexpr std::size_t kMaxMessageBytes = 1024;

AdapterLimits Tight() {
  AdapterLimits l;
  l.max_payload_bytes = 2048;
  l.max_items = 3;
  l.max_json_depth = 6;
  l.max_labels = 4;
  l.max_label_name_bytes = 16;
  l.max_label_value_bytes = 24;
  l.max_annotation_value_bytes = 48;
  return l;
}

bool IsLowerHex(const std::string& s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void CheckError(const Status& s, std::string_view input) {
  if (KnownIssue(s.ToString())) return;
  FUZZ_CHECK(s.IsInvalidArgument(), s.ToString() + " for " + Printable(input));
  FUZZ_CHECK(!s.message().empty(), Printable(input));
  FUZZ_CHECK(s.message().size() <= kMaxMessageBytes,
             std::to_string(s.message().size()) + "-byte error: " + Printable(s.message()));
  for (char c : s.message()) {
    const auto u = static_cast<unsigned char>(c);
    FUZZ_CHECK(u >= 0x20 && u != 0x7f, "control byte in error: " + Printable(s.message()));
  }
}

void CheckSignal(const NormalizedSignal& s, SignalSource source, const AdapterLimits& limits,
                 std::string_view input) {
  const std::string where = " in " + Printable(input);
  FUZZ_CHECK(s.source == source, where);
  FUZZ_CHECK(!s.name.empty(), "empty name" + where);
  FUZZ_CHECK(!s.severity.empty(), "empty severity" + where);
  FUZZ_CHECK(s.fingerprint.size() == 64 && IsLowerHex(s.fingerprint), s.fingerprint + where);
  FUZZ_CHECK(s.fingerprint == ComputeFingerprint(s.name, s.namespace_name, s.resource),
             "fingerprint does not follow name/namespace/resource" + where);
  FUZZ_CHECK(s.received_at_ms == kNowMs, where);
  // signal.h: "1 when absent or 0" (regressions/k8s_event/count_zero_gives_source_count_zero).
  FUZZ_CHECK(s.source_count >= 1, std::to_string(s.source_count) + where);
  Status labels = CheckStringMap(s.labels, "labels", limits, limits.max_label_value_bytes);
  FUZZ_CHECK(labels.ok(), labels.ToString() + where);
  Status annotations =
      CheckStringMap(s.annotations, "annotations", limits, limits.max_annotation_value_bytes);
  FUZZ_CHECK(annotations.ok(), annotations.ToString() + where);
  FUZZ_CHECK(s.ends_at_ms.value_or(0) >= 0, where);
  DeduplicationInfo d;
  d.first_seen_ms = kNowMs;
  d.last_seen_ms = kNowMs;
  d.occurrence_count = 1;
  const std::string json = RemediationRequestToJson(MakeRemediationRequest(s, d));
  FUZZ_CHECK(!json.empty(), "RemediationRequestToJson failed" + where);
  FUZZ_CHECK(nlohmann::json::accept(json), "invalid RemediationRequest JSON " + Printable(json) + where);
}

std::vector<std::string> Fingerprints(const std::vector<NormalizedSignal>& signals) {
  std::vector<std::string> out;
  for (const NormalizedSignal& s : signals) out.push_back(s.fingerprint);
  return out;
}

std::vector<std::string> Fingerprints(const std::vector<KubernetesEventItem>& items) {
  std::vector<std::string> out;
  for (const KubernetesEventItem& i : items) out.push_back(i.signal ? i.signal->fingerprint : "-");
  return out;
}

}  // namespace

int AlertmanagerOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    for (const AdapterLimits& limits : {AdapterLimits{}, Tight()}) {
      Result<std::vector<NormalizedSignal>> r = ParseAlertmanagerWebhook(input, kNowMs, limits);
      if (!r.ok()) {
        CheckError(r.status(), input);
        continue;
      }
      FUZZ_CHECK(!r->empty(), Printable(input));
      FUZZ_CHECK(r->size() <= limits.max_items, Printable(input));
      FUZZ_CHECK(input.size() <= limits.max_payload_bytes, Printable(input));
      for (const NormalizedSignal& s : *r) CheckSignal(s, SignalSource::kAlertmanager, limits, input);
      Result<std::vector<NormalizedSignal>> again = ParseAlertmanagerWebhook(input, kNowMs, limits);
      FUZZ_CHECK(again.ok() && Fingerprints(*again) == Fingerprints(*r), "not deterministic");
      Result<std::optional<SignalSource>> detected = DetectSignalSource(input, limits);
      FUZZ_CHECK(detected.ok() && *detected == SignalSource::kAlertmanager,
                 "accepted webhook not detected as one: " + Printable(input));
      if (limits.max_items == AdapterLimits{}.max_items) continue;
      // Accepted under the tight limits: the defaults accept it too, with the same signals.
      Result<std::vector<NormalizedSignal>> wide = ParseAlertmanagerWebhook(input, kNowMs);
      FUZZ_CHECK(wide.ok() && Fingerprints(*wide) == Fingerprints(*r),
                 "tight limits accepted what the defaults reject: " + Printable(input));
    }
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, std::string("exception escaped: ") + e.what());
  }
  return 0;
}

int KubernetesEventOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    for (const AdapterLimits& limits : {AdapterLimits{}, Tight()}) {
      Result<std::vector<KubernetesEventItem>> r = ParseKubernetesEvents(input, kNowMs, limits);
      if (!r.ok()) {
        CheckError(r.status(), input);
        continue;
      }
      FUZZ_CHECK(!r->empty(), Printable(input));
      FUZZ_CHECK(r->size() <= limits.max_items, Printable(input));
      for (const KubernetesEventItem& item : *r) {
        FUZZ_CHECK(item.signal.has_value() != !item.ignored_reason.empty(),
                   "an item needs a signal or a reason, not both: " + Printable(input));
        if (!item.signal) continue;
        CheckSignal(*item.signal, SignalSource::kKubernetesEvent, limits, input);
        FUZZ_CHECK(item.signal->severity == "warning", Printable(input));
        FUZZ_CHECK(!item.signal->resolved, Printable(input));
      }
      Result<std::vector<KubernetesEventItem>> again = ParseKubernetesEvents(input, kNowMs, limits);
      FUZZ_CHECK(again.ok() && Fingerprints(*again) == Fingerprints(*r), "not deterministic");
      if (limits.max_items == AdapterLimits{}.max_items) continue;
      Result<std::vector<KubernetesEventItem>> wide = ParseKubernetesEvents(input, kNowMs);
      FUZZ_CHECK(wide.ok() && Fingerprints(*wide) == Fingerprints(*r),
                 "tight limits accepted what the defaults reject: " + Printable(input));
    }
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, std::string("exception escaped: ") + e.what());
  }
  return 0;
}

}  // namespace stormkv::fuzz
