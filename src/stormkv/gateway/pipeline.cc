#include "stormkv/gateway/pipeline.h"

#include <exception>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <random>
#include <utility>

#include <unistd.h>

#include "stormkv/gateway/alertmanager.h"
#include "stormkv/gateway/fingerprint.h"
#include "stormkv/gateway/json_dom.h"
#include "stormkv/gateway/json_out.h"
#include "stormkv/gateway/k8s_event.h"

namespace stormkv {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Reverses KeySchema::EscapePart's %XX escapes (a digest-shortened part stays as stored).
std::string Unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// A random id for one processing attempt of a payload (dedup.h: Begin): 16 hex digits.
// Reseeded in a forked child (it would repeat its parent's ids otherwise).
std::string NewAttemptId() {
  thread_local std::mt19937_64 rng;
  thread_local pid_t seeded_for = 0;
  if (const pid_t pid = getpid(); pid != seeded_for) {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), static_cast<unsigned>(pid)};
    rng.seed(seq);
    seeded_for = pid;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t v = rng();
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = kHex[v & 15];
  return out;
}

// What the final request of a storm names, stored with its close record when it opens: the
// opening alert's signal fields (annotations are left out: up to 16 KiB each).
std::string StormDescriptor(const NormalizedSignal& s) {
  nlohmann::json j = {{"name", s.name},
                      {"namespace", s.namespace_name},
                      {"severity", s.severity},
                      {"source", SignalSourceName(s.source)},
                      {"kind", s.resource.kind},
                      {"resource", s.resource.name},
                      {"startsAt", s.starts_at_ms},
                      {"receivedAt", s.received_at_ms},
                      {"labels", s.labels}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The opening signal back from a descriptor; what is missing (an empty or foreign descriptor)
// falls back to the storm's own names.
NormalizedSignal SignalFromDescriptor(std::string_view descriptor, std::string_view ns,
                                      std::string_view alertname) {
  NormalizedSignal s;
  s.name = std::string(alertname);
  s.namespace_name = ns == "_cluster" ? "" : std::string(ns);
  s.severity = "unknown";
  nlohmann::json j = nlohmann::json::parse(descriptor.begin(), descriptor.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return s;
  auto str = [&j](const char* k, std::string* out) {
    auto it = j.find(k);
    if (it != j.end() && it->is_string()) *out = it->get<std::string>();
  };
  auto num = [&j](const char* k, int64_t* out) {
    auto it = j.find(k);
    if (it != j.end() && it->is_number_integer()) *out = it->get<int64_t>();
  };
  str("name", &s.name);
  str("namespace", &s.namespace_name);
  str("severity", &s.severity);
  std::string source;
  str("source", &source);
  if (std::optional<SignalSource> src = ParseSignalSource(source)) s.source = *src;
  str("kind", &s.resource.kind);
  str("resource", &s.resource.name);
  num("startsAt", &s.starts_at_ms);
  num("receivedAt", &s.received_at_ms);
  if (auto it = j.find("labels"); it != j.end() && it->is_object()) {
    for (auto l = it->begin(); l != it->end(); ++l) {
      if (l.value().is_string()) s.labels.emplace(l.key(), l.value().get<std::string>());
    }
  }
  return s;
}

void FillSignal(const NormalizedSignal& s, AlertDecision* d) {
  d->fingerprint = s.fingerprint;
  d->signal_name = s.name;
  d->namespace_name = s.namespace_name;
  d->resource = s.resource;
}

}  // namespace

Result<std::vector<Pipeline::Item>> Pipeline::Adapt(std::string_view payload, SignalSource source,
                                                    int64_t now_ms, const AdapterLimits& limits) {
  std::vector<Item> items;
  if (source == SignalSource::kAlertmanager) {
    auto signals = ParseAlertmanagerWebhook(payload, now_ms, limits);
    if (!signals.ok()) return signals.status();
    items.reserve(signals->size());
    for (NormalizedSignal& s : *signals) {
      Item item;
      if (s.resolved) item.ignored_reason = "resolved alert: nothing to remediate";
      item.signal = std::move(s);
      items.push_back(std::move(item));
    }
    return items;
  }
  auto events = ParseKubernetesEvents(payload, now_ms, limits);
  if (!events.ok()) return events.status();
  items.reserve(events->size());
  for (KubernetesEventItem& e : *events) {
    items.push_back(Item{std::move(e.signal), std::move(e.ignored_reason)});
  }
  return items;
}

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kCreated:
      return "created";
    case Outcome::kDuplicate:
      return "duplicate";
    case Outcome::kStormAggregated:
      return "storm-aggregated";
    case Outcome::kRateLimited:
      return "rate-limited";
    case Outcome::kRejected:
      return "rejected";
    case Outcome::kIgnored:
      return "ignored";
    case Outcome::kFailed:
      return "failed";
  }
  return "unknown";
}

std::size_t IngestResult::Count(Outcome outcome) const {
  std::size_t n = 0;
  for (const AlertDecision& d : decisions) n += d.outcome == outcome;
  return n;
}

PipelineOptions Pipeline::Normalize(PipelineOptions options) {
  if (options.close.enabled) {
    if (options.close.grace.count() <= 0) options.close.grace = StormCloseOptions{}.grace;
    if (options.close.claim_lease.count() <= 0) {
      options.close.claim_lease = StormCloseOptions{}.claim_lease;
    }
    options.aggregation.close_grace = options.close.grace;
    // The batched path adds many alerts of one storm in a row: their retries are recognised by
    // the storm's replay list (pipeline.h "Batching"), whose ids it removes once settled.
    options.aggregation.replay_list = options.batch;
  } else {
    options.aggregation.replay_list = false;
    options.aggregation.close_grace.reset();
  }
  return options;
}

Pipeline::Pipeline(KvBackend& kv, std::shared_ptr<const Clock> clock, PipelineOptions options)
    : kv_(kv),
      clock_(std::move(clock)),
      options_(Normalize(std::move(options))),
      schema_(options_.keys),
      dedup_(kv, clock_, schema_, options_.dedup),
      detector_(kv, clock_, schema_, options_.storm),
      aggregator_(kv, clock_, schema_, options_.aggregation),
      limiter_(kv, clock_, schema_, options_.rate_limit),
      closer_(kv, clock_, schema_, options_.close),
      instance_id_(NewAttemptId()) {}

std::string Pipeline::StormNamespaceFor(const NormalizedSignal& signal) {
  return signal.namespace_name.empty() ? "_cluster" : signal.namespace_name;
}

std::string Pipeline::StormRequestId(const NormalizedSignal& signal, int64_t first_seen_ms) {
  std::string id;
  id.reserve(16 + 1 + 20);
  id.append(signal.fingerprint, 0, 16);
  id += ':';
  id += std::to_string(first_seen_ms);
  return id;
}

std::string Pipeline::StormResourceFor(const NormalizedSignal& signal) {
  if (signal.resource.empty()) return "-";
  return signal.resource.kind + "/" + signal.resource.name;
}

RemediationRequest Pipeline::MakeStormRequest(const NormalizedSignal& opening, StormType type,
                                              int64_t alert_count, int64_t first_seen_ms,
                                              int64_t last_seen_ms) const {
  DeduplicationInfo d;
  d.first_seen_ms = first_seen_ms;
  d.last_seen_ms = last_seen_ms;
  d.occurrence_count = alert_count;
  RemediationRequest rr = MakeRemediationRequest(opening, d);
  rr.signal_fingerprint =
      ComputeStormFingerprint(opening.name, opening.namespace_name, first_seen_ms);
  rr.name = RemediationRequestName(rr.signal_fingerprint);
  rr.is_storm = true;
  rr.storm_type = std::string(StormTypeName(type));
  rr.storm_window = FormatDuration(options_.aggregation.inactivity_window);
  rr.storm_alert_count = alert_count;
  return rr;
}

Status Pipeline::Aggregated(const NormalizedSignal& signal, const StormAlert& alert,
                            const AggregateResult& agg, AlertDecision* d,
                            std::vector<RemediationRequest>* out) {
  d->outcome = Outcome::kStormAggregated;
  d->storm_type = alert.storm_type;
  d->storm_opened = agg.is_new;
  d->storm_alert_count = agg.alert_count;
  d->storm_resource_count = agg.resource_count;
  d->storm_overflow = agg.overflow;
  d->remediation_request = RemediationRequestName(
      ComputeStormFingerprint(signal.name, signal.namespace_name, agg.first_seen_ms));
  if (!agg.is_new) return Status::Ok();
  // Registered before its provisional request goes out: a failure here fails the alert, and
  // the retry (a replay of the add, is_new again) registers it again.
  return RegisterStorm(signal, alert, agg, agg.first_seen_ms, out);
}

Status Pipeline::Reregister(const NormalizedSignal& signal, const StormAlert& alert,
                           const AggregateResult& agg, std::vector<RemediationRequest>* out) {
  // storm_close's open writes nothing when the record names this storm already.
  return RegisterStorm(signal, alert, agg, agg.last_seen_ms, out);
}

Status Pipeline::RegisterStorm(const NormalizedSignal& signal, const StormAlert& alert,
                               const AggregateResult& agg, int64_t last_seen_ms,
                               std::vector<RemediationRequest>* out) {
  if (options_.close.enabled) {
    const int64_t deadline = StormDeadline(agg.first_seen_ms, last_seen_ms);
    STORMKV_RETURN_IF_ERROR(closer_.Open(alert.ns, signal.name, agg.first_seen_ms, deadline,
                                         StormDescriptor(signal), CloseTtl(deadline)));
  }
  RemediationRequest rr = MakeStormRequest(signal, alert.storm_type, agg.alert_count,
                                           agg.first_seen_ms, agg.last_seen_ms);
  rr.affected_resources.push_back(AffectedResourceId(signal.namespace_name, signal.resource));
  out->push_back(std::move(rr));
  return Status::Ok();
}

Result<AggregateResult> Pipeline::AddClosingOver(const StormAlert& alert,
                                                 std::vector<RemediationRequest>* out) {
  // Added again first: an earlier alert of the same payload may have closed the storm already.
  Result<AggregateResult> agg = aggregator_.Add(alert);
  if (!agg.ok() || !agg->needs_close) return agg;
  STORMKV_RETURN_IF_ERROR(CloseBeforeReopen(alert.ns, alert.alertname, agg->first_seen_ms, out));
  agg = aggregator_.Add(alert);
  if (agg.ok() && agg->needs_close) {
    return Status::Unavailable("storm " + alert.ns + "/" + alert.alertname +
                               " is over and still being closed; retry");
  }
  return agg;
}

bool Pipeline::ProcessSignal(const NormalizedSignal& signal, std::string_view attempt,
                             AlertDecision* d, std::vector<RemediationRequest>* requests) {
  const std::string rr_name = RemediationRequestName(signal.fingerprint);
  // After Begin() was sent, a failure abandons the unfinished occurrence (best effort: when the
  // backend stays down, the lease ends it), so the retry resumes it.
  auto fail = [&](const Status& status, bool begun) {
    d->outcome = Outcome::kFailed;
    d->status = status;
    d->reason = status.ToString();
    if (begun) {
      Result<bool> ab = dedup_.Finish(signal.fingerprint, attempt, DedupFinish::kAbandon);
      if (!ab.ok()) {
        d->reason += "; abandoning the unfinished dedup record failed too (" +
                     ab.status().ToString() + "): a retry within " +
                     std::to_string(options_.dedup.unfinished_lease.count()) +
                     " ms of it is answered busy, a later one resumes it";
      }
    }
    return false;
  };

  Result<DedupResult> rec = dedup_.Begin(signal.fingerprint, rr_name, attempt);
  // Busy: another delivery of the same alert is being processed right now (it takes a few round
  // trips); wait for it with a short backoff, then this one is a duplicate.
  // Measured and slept on the injected clock (a ManualClock's wait is virtual).
  const int64_t wait_until_us =
      clock_->NowUs() + std::chrono::microseconds(options_.busy_wait).count();
  for (auto pause = std::chrono::microseconds(50);
       rec.ok() && rec->state == DedupState::kBusy &&
       clock_->NowUs() + pause.count() < wait_until_us;
       pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(20))) {
    clock_->SleepFor(pause);
    rec = dedup_.Begin(signal.fingerprint, rr_name, attempt);
  }
  // A transport failure may hide a Begin the server ran (lost reply): abandon it too. Any other
  // error (OOM, WRONGTYPE, CORRUPT, ...) means the script wrote nothing.
  if (!rec.ok()) {
    return fail(rec.status(), rec.status().IsUnavailable() || rec.status().IsTimeout());
  }
  d->occurrence_count = rec->count;
  d->first_seen_ms = rec->first_seen_ms;
  d->last_seen_ms = rec->last_seen_ms;
  if (rec->state == DedupState::kDuplicate) {
    d->outcome = Outcome::kDuplicate;
    d->remediation_request = rec->rr_name;
    return true;
  }
  if (rec->state == DedupState::kBusy) {
    return fail(Status::Unavailable("alert " + signal.fingerprint.substr(0, 16) +
                                    " is still being processed by another delivery after " +
                                    std::to_string(options_.busy_wait.count()) + " ms; retry"),
                false);
  }

  const std::string ns = StormNamespaceFor(signal);
  const std::string resource = StormResourceFor(signal);
  Result<StormCheck> check = detector_.Observe(ns, signal.name, resource);
  if (!check.ok()) return fail(check.status(), true);

  std::vector<RemediationRequest> emitted;
  if (std::optional<StormType> type = check->type()) {
    StormAlert alert;
    alert.ns = ns;
    alert.alertname = signal.name;
    alert.storm_type = *type;
    alert.resource = resource;
    alert.request_id = StormRequestId(signal, rec->first_seen_ms);
    if (options_.aggregation.layout == Layout::kFullCrd) {
      alert.fingerprint = signal.fingerprint;
      alert.severity = signal.severity;
      alert.labels = signal.labels;
      alert.annotations = signal.annotations;
    }
    Result<AggregateResult> agg = aggregator_.Add(alert);
    if (agg.ok() && agg->needs_close) {
      // The storm this alert belongs to by name is over but not closed yet: close it (its final
      // request goes out first), then this alert opens the next one.
      if (Status closed = CloseBeforeReopen(ns, signal.name, agg->first_seen_ms, requests);
          !closed.ok()) {
        return fail(closed, true);
      }
      agg = aggregator_.Add(alert);
      if (agg.ok() && agg->needs_close) {
        return fail(Status::Unavailable("storm " + ns + "/" + signal.name +
                                        " is over and still being closed; retry"),
                    true);
      }
    }
    if (!agg.ok()) return fail(agg.status(), true);
    if (Status st = Aggregated(signal, alert, *agg, d, &emitted); !st.ok()) return fail(st, true);
  } else {
    DeduplicationInfo info;
    info.first_seen_ms = rec->first_seen_ms;
    info.last_seen_ms = rec->last_seen_ms;
    info.occurrence_count = rec->count;
    RemediationRequest rr = MakeRemediationRequest(signal, info);
    d->outcome = Outcome::kCreated;
    d->remediation_request = rr.name;
    emitted.push_back(std::move(rr));
  }

  // The alert is processed: its request is emitted whatever happens next. If marking the record
  // done fails, the alert stays unfinished (or abandoned): the retry the error asks for resumes
  // it and emits a request of the same name again — at least once, never lost.
  for (RemediationRequest& rr : emitted) requests->push_back(std::move(rr));
  Result<bool> done = dedup_.Finish(signal.fingerprint, attempt, DedupFinish::kDone);
  if (!done.ok()) {
    d->status = done.status();
    d->reason = "processed and its request emitted, but marking it done failed: " +
                done.status().ToString() +
                "; a retry processes it again and emits a request of the same name";
    Result<bool> ab = dedup_.Finish(signal.fingerprint, attempt, DedupFinish::kAbandon);
    (void)ab;  // best effort: without it the lease ends the unfinished record
    return false;
  }
  return true;
}

IngestResult Pipeline::Ingest(std::string_view payload, SignalSource source,
                              std::string_view client_id) {
  Result<std::vector<Item>> items = Status::Internal("not adapted");
  try {
    items = Adapt(payload, source, clock_->NowMs(), options_.limits);
  } catch (const std::exception& e) {
    items = Status::Internal(std::string("ingest: ") + e.what());
  }
  if (!items.ok()) {
    IngestResult result;
    result.status = items.status();
    result.http_status = items.status().IsInvalidArgument() ? 400 : 500;
    if (PayloadTooLarge(payload.size(), options_.limits))
      result.http_status = OversizedPayloadHttpStatus(source);
    AlertDecision d;
    d.outcome = Outcome::kRejected;
    d.reason = items.status().message();
    result.decisions.push_back(std::move(d));
    return result;
  }
  return Process(std::move(items).value(), source, client_id);
}

IngestResult Pipeline::IngestSignals(std::vector<NormalizedSignal> signals, SignalSource source,
                                     std::string_view client_id) {
  std::vector<Item> items;
  items.reserve(signals.size());
  for (std::size_t i = 0; i < signals.size(); ++i) {
    NormalizedSignal& s = signals[i];
    if (s.name.empty()) {
      IngestResult result;
      result.status = Status::InvalidArgument("signals[" + std::to_string(i) + "]: empty name");
      result.http_status = 400;
      AlertDecision d;
      d.outcome = Outcome::kRejected;
      d.reason = result.status.message();
      result.decisions.push_back(std::move(d));
      return result;
    }
    if (s.fingerprint.empty())
      s.fingerprint = ComputeFingerprint(s.name, s.namespace_name, s.resource);
    Item item;
    if (s.resolved) item.ignored_reason = "resolved alert: nothing to remediate";
    item.signal = std::move(s);
    items.push_back(std::move(item));
  }
  return Process(std::move(items), source, client_id);
}

IngestResult Pipeline::Process(std::vector<Item> items, SignalSource source,
                               std::string_view client_id) {
  IngestResult result;
  try {
    result.decisions.resize(items.size());
    std::size_t signals = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      AlertDecision& d = result.decisions[i];
      d.index = i;
      const Item& item = items[i];
      if (item.signal) FillSignal(*item.signal, &d);
      if (!item.ignored_reason.empty()) {
        d.outcome = Outcome::kIgnored;
        d.reason = item.ignored_reason;
      } else {
        ++signals;
      }
    }
    if (signals == 0) return result;

    if (options_.rate_limit_enabled) {
      const std::string client =
          client_id.empty() ? options_.default_client : std::string(client_id);
      const int64_t cost =
          options_.rate_limit_per_signal
              ? std::min<int64_t>(static_cast<int64_t>(signals), options_.rate_limit.burst)
              : 1;
      Result<RateDecision> rate = limiter_.Allow(client, cost);
      if (!rate.ok() || !rate->allowed) {
        const bool limited = rate.ok();
        if (limited) {
          const int64_t secs = std::max<int64_t>(1, (rate->retry_after_ms + 999) / 1000);
          result.status = Status::Unavailable("rate limited: client '" + client +
                                              "' must retry after " + std::to_string(secs) + "s");
          result.http_status = source == SignalSource::kAlertmanager ? 503 : 429;
          result.retry_after_seconds = secs;
        } else {
          result.status = rate.status();
          result.http_status = 503;
        }
        for (AlertDecision& d : result.decisions) {
          if (d.outcome == Outcome::kIgnored) continue;
          if (limited) {
            d.outcome = Outcome::kRateLimited;
            d.retry_after_ms = rate->retry_after_ms;
            d.reason = result.status.message();
          } else {
            d.outcome = Outcome::kFailed;
            d.status = rate.status();
            d.reason = "not attempted: the rate limiter failed: " + rate.status().ToString();
          }
        }
        return result;
      }
    }

    const std::string attempt = NewAttemptId();
    if (options_.batch) {
      ProcessBatched(items, attempt, &result);
      return result;
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      AlertDecision& d = result.decisions[i];
      if (d.outcome == Outcome::kIgnored) continue;
      if (!result.status.ok()) {
        d.outcome = Outcome::kFailed;
        d.status = result.status;
        d.reason = "not attempted after an earlier backend error: " + result.status.ToString();
        continue;
      }
      if (!ProcessSignal(*items[i].signal, attempt, &d, &result.requests)) {
        result.status = d.status.WithContext("alert " + std::to_string(i));
        result.http_status = 503;
      }
    }
  } catch (const std::exception& e) {
    result.status = Status::Internal(std::string("ingest: ") + e.what());
    result.http_status = 500;
  }
  return result;
}

int64_t Pipeline::StormDeadline(int64_t first_seen_ms, int64_t last_seen_ms) const {
  return std::min(last_seen_ms + options_.aggregation.inactivity_window.count(),
                  first_seen_ms + options_.aggregation.hard_cap.count());
}

std::chrono::milliseconds Pipeline::CloseTtl(int64_t deadline_ms) const {
  return std::chrono::milliseconds(
      std::max<int64_t>(1, deadline_ms + options_.close.grace.count() - clock_->NowMs()));
}

RemediationRequest Pipeline::FinalStormRequest(std::string_view ns, std::string_view alertname,
                                               const StormRecord& r,
                                               std::string_view descriptor) const {
  const NormalizedSignal opening = SignalFromDescriptor(descriptor, ns, alertname);
  Result<StormType> type = ParseStormType(r.pattern);
  RemediationRequest rr = MakeStormRequest(opening, type.ok() ? *type : StormType::kRate,
                                           r.alert_count, r.first_seen_ms, r.last_seen_ms);
  if (!type.ok()) rr.storm_type = r.pattern;
  rr.storm_closed = true;
  rr.affected_resources_overflow = r.overflow;
  rr.affected_resources.reserve(r.resources.size());
  for (const StormResource& res : r.resources) {
    const std::string name = Unescape(res.name);
    const std::size_t slash = name.find('/');
    ResourceRef ref = slash == std::string::npos
                          ? ResourceRef{"", name}
                          : ResourceRef{name.substr(0, slash), name.substr(slash + 1)};
    rr.affected_resources.push_back(AffectedResourceId(opening.namespace_name, ref));
  }
  return rr;
}

Result<Pipeline::CloseOne> Pipeline::CloseStorm(std::string_view ns, std::string_view alertname,
                                                int64_t first_seen_ms,
                                                std::vector<RemediationRequest>* out) {
  Result<std::optional<StormRecord>> rec = aggregator_.Get(ns, alertname);
  if (!rec.ok()) return rec.status();
  if (!rec->has_value()) return CloseOne{CloseStep::kGone};
  // A newer storm under the same name: this one was closed (a storm is replaced only then).
  if ((*rec)->first_seen_ms != first_seen_ms) return CloseOne{CloseStep::kReplaced};
  const int64_t deadline = StormDeadline((*rec)->first_seen_ms, (*rec)->last_seen_ms);
  if (clock_->NowMs() < deadline) return CloseOne{CloseStep::kNotDue, deadline};
  const std::chrono::milliseconds ttl = CloseTtl(deadline);
  Result<ClaimResult> claim = closer_.Claim(ns, alertname, first_seen_ms, instance_id_, ttl);
  if (!claim.ok()) return claim.status();
  if (claim->claim == CloseClaim::kDone) return CloseOne{CloseStep::kAlreadyDone};
  if (claim->claim == CloseClaim::kBusy) return CloseOne{CloseStep::kBusy, claim->busy_until_ms};
  // Read again under the claim: an add from a replica whose clock runs behind may have landed
  // between the first read and the claim.
  Result<std::optional<StormRecord>> final_rec = aggregator_.Get(ns, alertname);
  if (!final_rec.ok()) return final_rec.status();
  const StormRecord& r = final_rec->has_value() && (*final_rec)->first_seen_ms == first_seen_ms
                             ? **final_rec
                             : **rec;
  // Emitted before the done mark: if the mark fails, the next close emits it again (at least
  // once, same name).
  out->push_back(FinalStormRequest(ns, alertname, r, claim->descriptor));
  Result<ClaimResult> done = closer_.Done(ns, alertname, first_seen_ms, ttl);
  if (!done.ok()) return done.status();
  return CloseOne{CloseStep::kClosed};
}

Status Pipeline::CloseBeforeReopen(std::string_view ns, std::string_view alertname,
                                   int64_t first_seen_ms, std::vector<RemediationRequest>* out) {
  const int64_t wait_until_us =
      clock_->NowUs() + std::chrono::microseconds(options_.busy_wait).count();
  auto pause = std::chrono::microseconds(50);
  for (;;) {
    Result<CloseOne> one = CloseStorm(ns, alertname, first_seen_ms, out);
    if (!one.ok()) return one.status();
    if (one->step == CloseStep::kBusy && clock_->NowUs() + pause.count() < wait_until_us) {
      clock_->SleepFor(pause);
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(20));
      continue;
    }
    if (one->step == CloseStep::kBusy || one->step == CloseStep::kNotDue) {
      return Status::Unavailable("storm " + std::string(ns) + "/" + std::string(alertname) +
                                 " is being closed by another gateway; retry");
    }
    // Best effort: a due entry left behind is removed by the next close call (it finds the
    // storm done or replaced).
    DueStorm due;
    due.member = StormCloser::DueMember(ns, alertname, first_seen_ms);
    due.bucket = closer_.BucketOf(ns, alertname);
    (void)closer_.Remove(due);
    return Status::Ok();
  }
}

StormCloseResult Pipeline::CloseDueStorms(std::size_t max_storms) {
  StormCloseResult result;
  if (!options_.close.enabled) return result;
  try {
    Result<std::vector<DueStorm>> due = closer_.Due(clock_->NowMs(), max_storms);
    if (!due.ok()) {
      result.status = due.status();
      return result;
    }
    for (const DueStorm& s : *due) {
      Result<CloseOne> one = CloseStorm(s.ns, s.alertname, s.first_seen_ms, &result.requests);
      if (!one.ok()) {
        result.status = one.status();
        return result;
      }
      Status st;
      switch (one->step) {
        case CloseStep::kClosed:
          ++result.closed;
          st = closer_.Remove(s);
          break;
        case CloseStep::kGone:
          ++result.expired;
          st = closer_.Remove(s);
          break;
        case CloseStep::kAlreadyDone:
        case CloseStep::kReplaced:
          st = closer_.Remove(s);
          break;
        case CloseStep::kNotDue:
          ++result.not_due;
          st = closer_.Reschedule(s, one->due_ms);
          break;
        case CloseStep::kBusy:
          ++result.busy;
          break;
      }
      if (!st.ok()) {
        result.status = st;
        return result;
      }
    }
  } catch (const std::exception& e) {
    result.status = Status::Internal(std::string("closing storms: ") + e.what());
  }
  return result;
}

Result<std::vector<DueStorm>> Pipeline::OpenStorms(std::size_t max_storms) {
  if (!options_.close.enabled) return std::vector<DueStorm>();
  return closer_.Due(std::numeric_limits<int64_t>::max(), max_storms);
}

Result<std::optional<RemediationRequest>> Pipeline::StormRequest(const NormalizedSignal& opening) {
  Result<std::optional<StormRecord>> rec =
      aggregator_.Get(StormNamespaceFor(opening), opening.name);
  if (!rec.ok()) return rec.status();
  if (!rec->has_value()) return std::optional<RemediationRequest>();
  const StormRecord& r = **rec;
  Result<StormType> type = ParseStormType(r.pattern);
  RemediationRequest rr = MakeStormRequest(opening, type.ok() ? *type : StormType::kRate,
                                           r.alert_count, r.first_seen_ms, r.last_seen_ms);
  if (!type.ok()) rr.storm_type = r.pattern;
  rr.affected_resources_overflow = r.overflow;
  rr.affected_resources.reserve(r.resources.size());
  for (const StormResource& res : r.resources) {
    const std::string name = Unescape(res.name);
    const std::size_t slash = name.find('/');
    ResourceRef ref = slash == std::string::npos
                          ? ResourceRef{"", name}
                          : ResourceRef{name.substr(0, slash), name.substr(slash + 1)};
    rr.affected_resources.push_back(AffectedResourceId(opening.namespace_name, ref));
  }
  return std::optional<RemediationRequest>(std::move(rr));
}

int OversizedPayloadHttpStatus(SignalSource source) {
  return source == SignalSource::kAlertmanager ? 503 : 413;
}

Result<std::optional<SignalSource>> DetectSignalSource(std::string_view payload,
                                                       const AdapterLimits& limits) {
  // CheckPayloadEnvelope's answer, with its byte scan run only when the text does not parse or
  // the document is too deep (for the offset it names), as DecodePayload does: on a parsed
  // document the walk over its containers decides.
  if (PayloadTooLarge(payload.size(), limits)) return CheckPayloadEnvelope(payload, limits);
  std::optional<SignalSource> out;
  bool deep = false;
  const bool parsed = jsondom::WithDocument(payload, [&](jsondom::Value doc) {
    deep = jsondom::DocumentDeeperThan(doc, limits.max_json_depth);
    if (!jsondom::IsObject(doc)) return;
    bool alerts = false, event = false;
    const simdjson::dom::object members = doc.get_object().value_unsafe();
    for (simdjson::dom::key_value_pair kv : members) {
      alerts = alerts || kv.key == "alerts";
      event = event || kv.key == "involvedObject" || kv.key == "regarding" ||
              kv.key == "items" || kv.key == "object";
    }
    if (alerts) {
      out = SignalSource::kAlertmanager;
    } else if (event) {
      out = SignalSource::kKubernetesEvent;
    }
  });
  if (!parsed || deep) STORMKV_RETURN_IF_ERROR(CheckPayloadEnvelope(payload, limits));
  return out;
}

namespace {

// One decision's fields as (key, JSON text), in key order (what nlohmann's object wrote); the
// texts are ranges of one buffer, reused by the thread (no allocation per field or per line).
struct Fields {
  struct Field {
    std::string_view key;
    std::size_t begin, end;  // of its text in `text`
  };
  std::string text;
  std::array<Field, 18> f;
  std::size_t n = 0;
  std::string_view Text(const Field& field) const {
    return std::string_view(text).substr(field.begin, field.end - field.begin);
  }
};

void DecisionFields(const AlertDecision& d, Fields* out) {
  using jsonout::Dialect;
  out->text.clear();
  out->n = 0;
  std::string& t = out->text;
  auto field = [out](std::string_view key, std::size_t begin) {
    out->f[out->n++] = Fields::Field{key, begin, out->text.size()};
  };
  auto str = [&](std::string_view key, std::string_view s) {
    const std::size_t begin = t.size();
    jsonout::AppendString(&t, s, Dialect::kNlohmann);
    field(key, begin);
  };
  auto num = [&](std::string_view key, int64_t v) {
    const std::size_t begin = t.size();
    jsonout::AppendInt(&t, v);
    field(key, begin);
  };
  auto raw = [&](std::string_view key, std::string_view v) {
    const std::size_t begin = t.size();
    t.append(v);
    field(key, begin);
  };
  const bool has_signal = !d.fingerprint.empty();
  const bool counted = d.occurrence_count > 0;
  const bool storm = d.outcome == Outcome::kStormAggregated;
  if (!d.status.ok()) str("error", StatusCodeName(d.status.code()));
  if (has_signal) str("fingerprint", d.fingerprint);
  if (counted) str("firstSeen", FormatRfc3339Ms(d.first_seen_ms));
  num("index", static_cast<int64_t>(d.index));
  if (counted) str("lastSeen", FormatRfc3339Ms(d.last_seen_ms));
  if (has_signal) str("namespace", d.namespace_name);
  if (counted) num("occurrenceCount", d.occurrence_count);
  str("outcome", OutcomeName(d.outcome));
  if (!d.reason.empty()) str("reason", d.reason);
  if (!d.remediation_request.empty()) str("remediationRequest", d.remediation_request);
  if (has_signal && !d.resource.empty()) {
    const std::size_t begin = t.size();
    t += "{\"kind\":";
    jsonout::AppendString(&t, d.resource.kind, Dialect::kNlohmann);
    t += ",\"name\":";
    jsonout::AppendString(&t, d.resource.name, Dialect::kNlohmann);
    t += '}';
    field("resource", begin);
  }
  if (d.outcome == Outcome::kRateLimited) num("retryAfterMs", d.retry_after_ms);
  if (has_signal) str("signalName", d.signal_name);
  if (storm) {
    num("stormAlertCount", d.storm_alert_count);
    raw("stormOpened", d.storm_opened ? "true" : "false");
    if (d.storm_overflow > 0) num("stormOverflow", d.storm_overflow);
    num("stormResourceCount", d.storm_resource_count);
    if (d.storm_type) str("stormType", StormTypeName(*d.storm_type));
  }
}

Fields& ThreadFields() {
  thread_local Fields fields;
  return fields;
}

void AppendField(std::string* out, std::string_view key, std::string_view value) {
  if (out->size() > 1) out->push_back(',');
  out->push_back('"');
  out->append(key);
  out->append("\":");
  out->append(value);
}

}  // namespace

std::string AlertDecisionToJson(const AlertDecision& d) {
  Fields& f = ThreadFields();
  DecisionFields(d, &f);
  std::string out;
  out.reserve(f.text.size() + 24 * f.n + 2);
  out.push_back('{');
  for (std::size_t k = 0; k < f.n; ++k) AppendField(&out, f.f[k].key, f.Text(f.f[k]));
  out.push_back('}');
  return out;
}

std::string AlertDecisionToJson(const AlertDecision& d, std::string_view payload_name) {
  Fields& f = ThreadFields();
  DecisionFields(d, &f);
  std::string out;
  out.reserve(f.text.size() + 24 * f.n + payload_name.size() + 16);
  out.push_back('{');
  out.append("\"payload\":");
  jsonout::AppendString(&out, payload_name, jsonout::Dialect::kNlohmann);
  static constexpr std::string_view kFirst[] = {"index", "outcome", "reason", "error"};
  for (std::string_view first : kFirst) {
    for (std::size_t k = 0; k < f.n; ++k) {
      if (f.f[k].key == first) AppendField(&out, f.f[k].key, f.Text(f.f[k]));
    }
  }
  for (std::size_t k = 0; k < f.n; ++k) {
    if (std::find(std::begin(kFirst), std::end(kFirst), f.f[k].key) == std::end(kFirst)) {
      AppendField(&out, f.f[k].key, f.Text(f.f[k]));
    }
  }
  out.push_back('}');
  return out;
}

}  // namespace stormkv
