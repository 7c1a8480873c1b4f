#include "ingest.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "stormkv/clock.h"
#include "stormkv/gateway/pipeline.h"
#include "stormkv/gateway/remediation_request.h"

namespace stormkv::cli {
namespace {

using ojson = nlohmann::ordered_json;

Result<std::string> ReadInput(const std::string& path) {
  std::ostringstream os;
  if (path == "-") {
    os << std::cin.rdbuf();
    return os.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read '" + path + "': no such file or no access");
  os << in.rdbuf();
  return os.str();
}

std::string Dump(const ojson& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string RejectLine(const std::string& payload, const std::string& reason) {
  ojson line;
  line["payload"] = payload;
  line["index"] = 0;
  line["outcome"] = "rejected";
  line["reason"] = reason;
  return Dump(line);
}

// A clock the command can pin and step, or the system clock.
class IngestClock final : public Clock {
 public:
  explicit IngestClock(std::optional<int64_t> pinned)
      : manual_(pinned ? std::make_shared<ManualClock>(*pinned) : nullptr) {}
  int64_t NowMs() const override {
    return manual_ ? manual_->NowMs() : SystemClock::Shared()->NowMs();
  }
  int64_t NowUs() const override {
    return manual_ ? manual_->NowUs() : SystemClock::Shared()->NowUs();
  }
  void Step(int64_t ms) {
    if (manual_) manual_->Advance(std::chrono::milliseconds(ms));
  }
  bool pinned() const { return manual_ != nullptr; }
  void SetMs(int64_t ms) {
    if (manual_) manual_->SetMs(ms);
  }
  void SleepFor(std::chrono::microseconds d) const override {
    if (manual_) {
      manual_->SleepFor(d);
    } else {
      SystemClock::Shared()->SleepFor(d);
    }
  }

 private:
  std::shared_ptr<ManualClock> manual_;
};

}  // namespace

Result<std::optional<SignalSource>> ParseIngestFormat(std::string_view text) {
  if (text == "auto") return std::optional<SignalSource>();
  if (text == "alertmanager") return std::optional<SignalSource>(SignalSource::kAlertmanager);
  if (text == "kubernetes-event" || text == "k8s-event" || text == "k8s" || text == "event") {
    return std::optional<SignalSource>(SignalSource::kKubernetesEvent);
  }
  return Status::InvalidArgument("unknown format '" + std::string(text) +
                                 "': choose auto, alertmanager or kubernetes-event");
}

std::vector<std::string> SplitPayloads(const std::string& text) {
  if (IsJsonText(text)) return {text};
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  bool all_json = true;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    all_json = all_json && IsJsonText(line);
    out.push_back(line);
  }
  if (!all_json || out.empty()) return {text};  // let the adapter name the JSON error
  return out;
}

Result<IngestSummary> RunIngest(const IngestOptions& options, std::ostream& out) {
  auto clock = std::make_shared<IngestClock>(options.now_ms);
  OpenBackendOptions bo;
  bo.clock = clock;
  Result<std::unique_ptr<KvBackend>> kv = OpenBackend(options.backend, bo);
  if (!kv.ok()) return kv.status();

  PipelineOptions po;
  po.keys.prefix = options.prefix;
  po.aggregation.layout = options.layout;
  po.rate_limit_enabled = options.rate_limit;
  po.limits = options.limits;
  Pipeline pipeline(**kv, clock, po);

  std::vector<std::pair<std::string, std::string>> payloads;  // name, bytes
  for (const std::string& input : options.inputs) {
    Result<std::string> text = ReadInput(input);
    if (!text.ok()) return text.status();
    std::vector<std::string> parts = SplitPayloads(*text);
    const std::string base = input == "-" ? "stdin" : input;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      payloads.emplace_back(parts.size() == 1 ? base : base + ":" + std::to_string(i + 1),
                            std::move(parts[i]));
    }
  }

  IngestSummary summary;
  std::vector<RemediationRequest> requests;
  for (const auto& [name, bytes] : payloads) {
    ++summary.payloads;
    std::optional<SignalSource> source = options.format;
    std::string undetected =
        "cannot tell the format: neither an Alertmanager webhook (alerts) nor a Kubernetes "
        "Event; use --format";
    if (!source) {
      // The envelope (size, depth) first: an oversized storm is not a format problem.
      Result<std::optional<SignalSource>> detected = DetectSignalSource(bytes, options.limits);
      if (!detected.ok()) {
        undetected = detected.status().message();
      } else {
        source = *detected;
        // Not JSON at all: let the adapter say precisely where it breaks.
        if (!source && !IsJsonText(bytes)) source = SignalSource::kAlertmanager;
      }
    }
    if (!source) {
      ++summary.rejected_payloads;
      ++summary.outcomes["rejected"];
      ++summary.decisions;
      out << RejectLine(name, undetected) << "\n";
      continue;
    }
    IngestResult result = pipeline.Ingest(bytes, *source, options.client);
    for (const AlertDecision& d : result.decisions) {
      ++summary.decisions;
      ++summary.outcomes[std::string(OutcomeName(d.outcome))];
      out << AlertDecisionToJson(d, name) << "\n";
    }
    if (result.status.IsInvalidArgument()) ++summary.rejected_payloads;
    if (!result.status.ok() && !result.status.IsInvalidArgument()) {
      ++summary.failed_payloads;
      if (result.status.IsUnavailable() || result.status.IsTimeout()) {
        out.flush();
        return result.status;
      }
    }
    for (RemediationRequest& rr : result.requests) requests.push_back(std::move(rr));
    clock->Step(options.step_ms);
    StormCloseResult closed = pipeline.CloseDueStorms();
    summary.storms_closed += static_cast<int64_t>(closed.closed);
    for (RemediationRequest& rr : closed.requests) requests.push_back(std::move(rr));
    if (!closed.status.ok()) return closed.status.WithContext("closing storms");
  }
  // End of input: a pinned clock moves on until every open storm's window has ended (a storm's
  // recorded deadline can be earlier than its real one, hence the rounds).
  for (int round = 0; clock->pinned() && round < 16; ++round) {
    Result<std::vector<DueStorm>> open = pipeline.OpenStorms();
    if (!open.ok()) return open.status().WithContext("closing storms");
    if (open->empty()) break;
    int64_t due = clock->NowMs();
    for (const DueStorm& s : *open) due = std::max(due, s.due_ms);
    clock->SetMs(due);
    StormCloseResult closed = pipeline.CloseDueStorms();
    summary.storms_closed += static_cast<int64_t>(closed.closed);
    for (RemediationRequest& rr : closed.requests) requests.push_back(std::move(rr));
    if (!closed.status.ok()) return closed.status.WithContext("closing storms");
  }
  if (Result<std::vector<DueStorm>> open = pipeline.OpenStorms(); open.ok()) {
    summary.storms_left_open = static_cast<int64_t>(open->size());
  }
  for (const RemediationRequest& rr : requests) {
    out << RemediationRequestToJson(rr) << "\n";
    ++summary.requests;
  }
  out.flush();
  return summary;
}

}  // namespace stormkv::cli
