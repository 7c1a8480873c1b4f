#include "ingest.h"

#include <algorithm>
#include <array>
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
  // A regular file is read in one piece into a string of its size (no stream copies); anything
  // whose size the stream cannot tell (a pipe, a FIFO) is copied as a stream.
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size >= 0 && in) {
    in.seekg(0, std::ios::beg);
    std::string text(static_cast<std::size_t>(size), '\0');
    in.read(text.data(), size);
    if (in.gcount() == size) {
      // Grown since it was measured: the rest too.
      if (in.peek() != std::char_traits<char>::eof()) {
        os << in.rdbuf();
        text += os.str();
      }
      return text;
    }
  }
  in.clear();
  in.seekg(0, std::ios::beg);
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

std::vector<std::string> SplitPayloads(std::string text) {
  // At most one line that is not blank: the lines are that line, and the text is JSON exactly
  // when that line is (blank lines are JSON whitespace), so the answer is the whole text either
  // way, without parsing it.
  std::size_t nonblank = 0;
  for (std::size_t at = 0; at <= text.size() && nonblank < 2;) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + at, end - at);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) ++nonblank;
    at = end + 1;
  }
  std::vector<std::string> whole;  // (a braced list would copy the text)
  if (nonblank < 2 || IsJsonText(text)) {
    whole.push_back(std::move(text));
    return whole;
  }
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  bool all_json = true;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    all_json = all_json && IsJsonText(line);
    out.push_back(line);
  }
  if (!all_json || out.empty()) {  // let the adapter name the JSON error
    whole.push_back(std::move(text));
    return whole;
  }
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
    std::vector<std::string> parts = SplitPayloads(std::move(text).value());
    const std::string base = input == "-" ? "stdin" : input;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      payloads.emplace_back(parts.size() == 1 ? base : base + ":" + std::to_string(i + 1),
                            std::move(parts[i]));
    }
  }

  IngestSummary summary;
  std::vector<RemediationRequest> requests;
  std::string lines;
  // Decisions per outcome, by enum value (named into summary.outcomes at the end).
  constexpr std::size_t kOutcomes = static_cast<std::size_t>(Outcome::kFailed) + 1;
  std::array<int64_t, kOutcomes> outcomes{};
  auto count_outcomes = [&] {
    for (std::size_t o = 0; o < kOutcomes; ++o) {
      if (outcomes[o] > 0) {
        summary.outcomes[std::string(OutcomeName(static_cast<Outcome>(o)))] += outcomes[o];
      }
      outcomes[o] = 0;
    }
  };
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
    // A payload's lines go out in one write.
    lines.clear();
    for (const AlertDecision& d : result.decisions) {
      ++summary.decisions;
      ++outcomes[static_cast<std::size_t>(d.outcome)];
      lines += AlertDecisionToJson(d, name);
      lines += '\n';
    }
    out.write(lines.data(), static_cast<std::streamsize>(lines.size()));
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
  count_outcomes();
  lines.clear();
  for (const RemediationRequest& rr : requests) {
    lines += RemediationRequestToJson(rr);
    lines += '\n';
    ++summary.requests;
    if (lines.size() >= (std::size_t{1} << 20)) {
      out.write(lines.data(), static_cast<std::streamsize>(lines.size()));
      lines.clear();
    }
  }
  out.write(lines.data(), static_cast<std::streamsize>(lines.size()));
  out.flush();
  return summary;
}

}  // namespace stormkv::cli
