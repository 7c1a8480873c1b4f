// stormkv/gateway/pipeline.h — the ingest pipeline: payload bytes in, decisions and
// RemediationRequests out.
//
// Ingest() runs, in order:
//  1. adapt: the whole payload is parsed and validated (alertmanager.h / k8s_event.h). An
//     invalid payload is rejected as a whole and NOTHING is written (not even a rate-limit
//     bucket);
//  2. rate limit: one RateLimiter::Allow(client) per payload (cost 1, or the number of signals
//     with `rate_limit_per_signal`). Denied: every signal is kRateLimited with retry_after;
//     Alertmanager callers get HTTP 503 + Retry-After (Alertmanager retries only 5xx), others 429;
//  3. per signal, in payload order: resolved alerts and non-Warning events are kIgnored (no
//     write); otherwise
//       a. Deduplicator::Begin(fingerprint, rr-name, attempt) — a duplicate stops here
//          (kDuplicate). A new fingerprint is stored UNFINISHED until (e) (dedup.h);
//       b. StormDetector::Observe(namespace, name, "Kind/name");
//       c. in a storm: StormAggregator::Add with request id "<fingerprint[0:16]>:<first_seen>" —
//          kStormAggregated; the alert that opens the storm registers it for closing (below)
//          and emits the storm's PROVISIONAL RemediationRequest (isStorm, stormClosed false,
//          the opening alert as its one affected resource; signalFingerprint =
//          ComputeStormFingerprint(name, namespace, storm first_seen), so every alert of the
//          storm names the same request). The dedup record of an aggregated alert keeps the
//          alert's own request name (never emitted): a later duplicate of it reports that name;
//       d. otherwise kCreated and the alert's RemediationRequest is emitted;
//       e. Deduplicator::Finish(kDone): the record is finished; later deliveries are duplicates.
//     Cluster-scoped signals (no namespace) use the namespace "_cluster" for storm keys (no
//     Kubernetes namespace can start with '_'); signals without a resource use "-" as resource.
//  4. a backend error (Unavailable, Timeout, OutOfMemory, ...) fails that signal (kFailed with
//     the Status) and every later signal of the payload (not attempted), and the result's status
//     is that error (HTTP 503, so Alertmanager retries). Delivery is AT LEAST ONCE, never lossy:
//     * a new alert that fails after (a) is abandoned (Finish(kAbandon)), so the retry RESUMES it
//       (dedup.h): it is processed again as the new alert it is — same count, same first_seen,
//       its request emitted — instead of being taken for a duplicate. If the backend is down for
//       the abandon too, the record stays unfinished: a retry within
//       DedupOptions::unfinished_lease is answered busy (kFailed, Unavailable, 503), a later one
//       resumes it;
//     * the storm aggregation of a resumed alert is not counted twice: its request id makes the
//       add a replay when it was the storm's last add (storm_aggregator.h), which also re-reports
//       a storm it opened, so the storm's request is emitted;
//     * when (e) fails, the alert's request has been emitted already; the decision keeps its
//       outcome and carries the error (status, reason) and the payload fails from there: the
//       retry emits a request of the SAME name again (consumers create RemediationRequests by
//       name, idempotently);
//     * a delivery that meets an unfinished first occurrence of another live attempt (e.g. the
//       same alert from an HA Alertmanager peer at the same moment) waits for it (up to
//       `busy_wait`, real time) and is then a duplicate; after that it fails busy: 503, retry;
//     * limits: the storm-rate counter (an approximate counter) can count a resumed alert twice;
//       a duplicate whose reply was lost is counted twice (no request depends on it); a replay
//       is only recognised while no other alert was added to the storm in between.
//
// Batching (PipelineOptions::batch, the default). Step 3 runs stage by stage for the whole payload
// instead of alert by alert: all Begins of the payload in one KvBackend::EvalBatch (one
// pipelined round trip on Redis, one per master on a cluster, a loop on the embedded stores),
// then the storm detection of every new alert, then the storm adds — the first alert of each
// storm in one batch, the storms it opened registered (2 round trips per storm that opens), the
// other alerts of those storms in a second batch — then every Finish(kDone) in one batch, the
// settled storm adds' replay-list removals in one, and the abandons of failed alerts in one more.
// A payload thus costs a bounded number of round trips (about 8 plus 2 per storm opening in it),
// not 4-5 per alert. A repeat of a fingerprint inside
// the payload goes to a later "wave" (the same stages again for the repeats) after the first
// occurrence's Finish; so does an alert answered busy, after a short wait (up to busy_wait);
// inline closes of storms that are over run alert by alert (rare).
// Every stage runs its calls in payload order and each call sees the calls before it, so
// without faults the decisions, emitted requests (in payload order) and stored keys are those
// of sequential processing (batch = false), whose `now` is read per call instead of per stage
// (tests/integration/batch_differential_test.cc checks it, concurrent deliveries included).
// A backend error under batching fails THE ALERTS IT HIT, not the rest of the payload: every
// other alert of the stage was already sent in the same pipeline and is processed to its end.
// An alert that fails is abandoned as above (the retry resumes it), and so are the alerts
// that depend on it: a later occurrence of the same fingerprint in the payload (not attempted),
// and the later alerts of a storm whose first alert in the payload failed at its add or its
// registration (not added: so that alert's add stays the storm's last, and its retry is the
// replay that opens and registers the storm again). The result's status and HTTP 503 are as
// above (the first failed alert's error), so the payload is retried and the retry completes
// it: alerts processed before are duplicates, failed ones are resumed. The at-least-once
// guarantees above hold; what batching widens, and how it keeps storm counts exact
// (BatchedPipelineFaultTest in tests/fault/pipeline_fault_test.cc sweeps every cut point of every
// stage):
//  * the storm detection of a whole stage runs before any alert of it is aggregated or marked
//    done: an alert that fails after its detection ran is counted by the storm-rate counter
//    again on its retry (as above), and its retry's detection also sees the resources of the
//    alerts detected after it in the failed attempt, so it may find the storm one alert earlier
//    than a fault-free run would (an alert whose own request was emitted before its done mark
//    failed may then be aggregated into that storm by its retry);
//  * every storm add of a batch records the alert's request id in the storm's replay list
//    (AggregationOptions::replay_list, a hash in the storm's slot: no key shared by storms), and
//    the ids of the alerts marked done leave it in one more batch (f). So the retry of ANY alert
//    whose add reached the storm — a lost reply, a failed done mark or registration, however
//    many adds of the storm followed it — is a replay: counted once, and an add that opened the
//    storm reports it opened again, so its retry registers the storm and emits its provisional
//    request. When that removal stage fails, the settled ids stay until the storm record
//    expires (a retry of their alerts is a duplicate and never adds them again). Without
//    closing (close.enabled false) there is no replay list: an add is then a replay only while
//    it is the storm's last (as alert by alert), a retried add followed by others counts twice,
//    and once per storm and payload, when a resumed alert is added to a storm no alert of the
//    payload opened, the storm's provisional request is emitted again (same name).
//
// Closing storms (PipelineOptions::close; storm_closer.h). A storm's FINAL request — same name,
// stormClosed true, stormAlertCount, every affected resource up to max_resources, overflow,
// first and last seen — is emitted once its window has closed (deadline = min(last_seen +
// inactivity_window, first_seen + hard_cap)):
//  * by CloseDueStorms(), which a front end runs periodically: it reads the due-list buckets
//    for storms whose recorded deadline has passed, re-reads each storm (a storm still receiving
//    alerts is rescheduled to its new deadline), CLAIMS it in its close record (one atomic
//    script: one claimer at a time, lease claim_lease), emits the final request, marks it DONE
//    and removes its due entry. Exactly once across replicas: the claim decides who emits;
//    at least once under faults: a claimer that fails after emitting (done mark lost) or dies
//    leaves the claim to expire (its own retries renew it at once), and the next close call
//    emits a request of the same name again;
//  * inline, by the alert that meets its storm over but not done: the aggregation script refuses
//    to replace an unclosed storm (it writes nothing and says so), the Pipeline closes it as
//    above (its final request is emitted in that payload's result, before the alert's own) and
//    adds the alert again, which opens the next storm. Another replica holding the claim is
//    waited for up to busy_wait, then the alert fails retryable (503).
// Cluster-safe: the close record shares the storm's hash tag; the due lists are `due_buckets`
// sorted sets chosen by a hash of the storm's name, written once per storm (when it opens), not
// per alert; no key is written by every storm. Records live `grace` past the deadline: close
// calls must come at least that often, or a storm expires unclosed (StormCloseResult::expired).
// Why keep the provisional request: remediation can start when the storm opens instead of up
// to hard_cap later, and it was already delivered at least once under every fault; consumers
// apply requests by name, so the final one updates it. Limits: the final request's
// signalAnnotations are empty (the opening alert's labels and fields are stored, its
// annotations are not); an add from a replica whose clock runs behind the closer's by more
// than the time between the closer's two reads of the record is counted in the stored storm
// but not in its final request.
//
// An oversized body (more than PipelineOptions::limits.max_payload_bytes, 32 MiB by default,
// sized for storms: signal.h) is rejected before any parsing with the reason "payload too large:
// N bytes > limit M" and nothing written; the answer is HTTP 503 for Alertmanager callers and 413
// for others (OversizedPayloadHttpStatus). Why 503: Alertmanager never retries a 4xx, so a 413
// drops every alert of the storm for good; a 503 keeps the notification in Alertmanager's retry
// loop (and in its alertmanager_notifications_failed_total, which operators alert on) while the
// limit is raised, and each retry costs one size check. Other senders (event forwarders) follow
// HTTP and get the honest 413. A front end that reads bodies itself applies the same rule to the
// Content-Length before reading (PayloadTooLarge, signal.h), so it never buffers such a body.
//
// Thread-safety: a Pipeline is immutable after construction; Ingest may be called concurrently
// (the services' scripts are atomic). The backend and clock must outlive the pipeline.
#ifndef STORMKV_GATEWAY_PIPELINE_H_
#define STORMKV_GATEWAY_PIPELINE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/clock.h"
#include "stormkv/gateway/dedup.h"
#include "stormkv/gateway/rate_limiter.h"
#include "stormkv/gateway/remediation_request.h"
#include "stormkv/gateway/signal.h"
#include "stormkv/gateway/storm_aggregator.h"
#include "stormkv/gateway/storm_closer.h"
#include "stormkv/gateway/storm_detector.h"
#include "stormkv/key_schema.h"
#include "stormkv/kv_backend.h"
#include "stormkv/status.h"

namespace stormkv {

struct PipelineOptions {
  KeySchemaOptions keys;
  AdapterLimits limits;
  DedupOptions dedup;
  StormDetectionOptions storm;
  AggregationOptions aggregation;
  RateLimitOptions rate_limit;
  // Closing storms: the final request of each storm when its window ends (see the file comment).
  StormCloseOptions close;
  // When false, no rate limiting at all (no bucket is written).
  bool rate_limit_enabled = true;
  // Cost of a payload: 1 (false) or its number of signals (true).
  bool rate_limit_per_signal = false;
  // How long a delivery waits for another delivery of the same new alert that is being processed
  // at that moment (dedup.h: kBusy), or for another replica closing the storm it is about to
  // reopen, before it gives up with a retryable error. Measured and slept on the injected clock
  // (Clock::SleepFor: real time for SystemClock, virtual time for ManualClock).
  std::chrono::milliseconds busy_wait = std::chrono::seconds(1);
  // Stage-by-stage processing of a payload with pipelined backend calls (see "Batching" in the
  // file comment). false: alert by alert, every call its own round trip (the reference the
  // batched path is tested against).
  bool batch = true;
  // Client id used when Ingest() gets an empty client_id.
  std::string default_client = "anonymous";
};

enum class Outcome {
  kCreated,          // new fingerprint, no storm: its RemediationRequest is emitted
  kDuplicate,        // fingerprint seen within the dedup TTL: count/last seen updated
  kStormAggregated,  // part of a storm: added to the storm's aggregation
  kRateLimited,      // the client is over its rate: nothing processed; retry after
  kRejected,         // invalid payload: nothing processed or stored
  kIgnored,          // resolved alert or non-Warning event: nothing to do
  kFailed,           // backend error while processing (or not attempted after one)
};

// "created", "duplicate", "storm-aggregated", "rate-limited", "rejected", "ignored", "failed".
std::string_view OutcomeName(Outcome outcome);

struct AlertDecision {
  std::size_t index = 0;  // position of the alert/event in the payload (0 for a rejected payload)
  Outcome outcome = Outcome::kRejected;
  // rejected/ignored/failed/rate-limited: why, in plain words. Empty otherwise.
  std::string reason;
  // kFailed: the backend's error (ok otherwise).
  Status status;
  // The signal (empty for a rejected payload or an ignored event without a signal).
  std::string fingerprint;
  std::string signal_name;
  std::string namespace_name;
  ResourceRef resource;
  // created: the emitted request; duplicate: the name recorded by the fingerprint's first
  // occurrence; storm-aggregated: the storm's request.
  std::string remediation_request;
  // created/duplicate/storm-aggregated: the dedup record after this alert.
  int64_t occurrence_count = 0;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  // storm-aggregated.
  std::optional<StormType> storm_type;
  bool storm_opened = false;  // this alert opened the storm (its request is emitted)
  int64_t storm_alert_count = 0;
  int64_t storm_resource_count = 0;
  int64_t storm_overflow = 0;
  // rate-limited: when the same payload would be allowed.
  int64_t retry_after_ms = 0;
};

struct IngestResult {
  // ok; InvalidArgument for a rejected payload; Unavailable ("rate limited: ...") when the
  // client is over its rate; the backend's error when a signal failed (also when the rate
  // limiter could not be reached).
  Status status;
  // What an HTTP front end answers: 200 (processed, some maybe duplicates/ignored), 400
  // (rejected), 413 (body over max_payload_bytes, non-Alertmanager), 429 (rate-limited,
  // non-Alertmanager), 503 (body over max_payload_bytes or rate-limited, Alertmanager caller; or
  // a backend error: the caller should retry).
  int http_status = 200;
  // 429/503 because of rate limiting: seconds for a Retry-After header (ceil of ms; >= 1).
  int64_t retry_after_seconds = 0;
  std::vector<AlertDecision> decisions;
  // RemediationRequests to emit, in decision order.
  std::vector<RemediationRequest> requests;

  // Number of decisions with `outcome`.
  std::size_t Count(Outcome outcome) const;
};

// What one Pipeline::CloseDueStorms() call did.
struct StormCloseResult {
  // ok, or the first backend error: the storms not handled yet stay due for the next call.
  Status status;
  // The final request of every storm this call closed (stormClosed: true), in closing order.
  std::vector<RemediationRequest> requests;
  std::size_t closed = 0;   // storms closed by this call (one request each)
  std::size_t not_due = 0;  // listed as due, but still receiving alerts: rescheduled
  std::size_t busy = 0;     // another replica is closing them right now
  // Storms whose records expired before any close call ran (more than `grace` after their
  // deadline): their final request is lost. A front end that closes often enough sees 0.
  std::size_t expired = 0;
};

class Pipeline {
 public:
  // `clock` supplies the receipt time and every service's `now`.
  Pipeline(KvBackend& kv, std::shared_ptr<const Clock> clock, PipelineOptions options = {});

  // Processes one payload — the raw body of one request from `source`, not retained — for
  // rate-limit bucket `client_id` ("" = options.default_client); see the file comment. The
  // receipt time is the clock's now. Never throws; every failure is in the result.
  IngestResult Ingest(std::string_view payload, SignalSource source = SignalSource::kAlertmanager,
                      std::string_view client_id = {});

  // Processes signals that were already adapted (e.g. by a simulator or a batch replay): the
  // same as Ingest from step 2 on, with `source` deciding the rate-limit answer (503/429).
  // A signal with an empty fingerprint gets ComputeFingerprint's; a signal with an empty name
  // rejects the whole batch (kRejected, nothing written). Resolved signals are kIgnored.
  IngestResult IngestSignals(std::vector<NormalizedSignal> signals,
                             SignalSource source = SignalSource::kAlertmanager,
                             std::string_view client_id = {});

  // The storm (namespace, signal name) as a RemediationRequest built from its stored record:
  // stormAlertCount, affectedResources ("namespace:Kind:name") and overflow as stored now, with
  // `opening` supplying the signal fields (name, severity, labels...). nullopt when no storm is
  // stored. Errors: as StormAggregator::Get.
  Result<std::optional<RemediationRequest>> StormRequest(const NormalizedSignal& opening);

  // Closes every storm whose window has ended by the clock's now (at most `max_storms` per due
  // bucket per call): exactly one caller across replicas emits each storm's final request (see
  // the file comment). A front end runs it periodically (e.g. every second; at least every
  // options().close.grace); `stormkv ingest` and `simulate` run it with their clocks. Never
  // throws. Does nothing when options().close.enabled is false.
  StormCloseResult CloseDueStorms(std::size_t max_storms = 1000);

  // Storms registered in the due lists (opened and not yet closed), with their recorded
  // deadlines (a storm still receiving alerts has a later real deadline). Errors: the backend's.
  Result<std::vector<DueStorm>> OpenStorms(std::size_t max_storms = 100000);

  // The storm namespace used for a signal ("_cluster" when it has none).
  static std::string StormNamespaceFor(const NormalizedSignal& signal);
  // The storm resource of a signal: "Kind/name", or "-" when it names none.
  static std::string StormResourceFor(const NormalizedSignal& signal);

  const PipelineOptions& options() const { return options_; }
  const KeySchema& schema() const { return schema_; }
  Deduplicator& dedup() { return dedup_; }
  StormDetector& detector() { return detector_; }
  StormAggregator& aggregator() { return aggregator_; }
  RateLimiter& rate_limiter() { return limiter_; }
  StormCloser& closer() { return closer_; }

 private:
  enum class CloseStep { kClosed, kAlreadyDone, kNotDue, kBusy, kGone, kReplaced };
  struct CloseOne {
    CloseStep step = CloseStep::kGone;
    int64_t due_ms = 0;  // kNotDue: the current deadline; kBusy: the other claim's end
  };
  static PipelineOptions Normalize(PipelineOptions options);
  // A storm add's request id: "<fingerprint[0:16]>:<first_seen>" (see the file comment, 3c).
  static std::string StormRequestId(const NormalizedSignal& signal, int64_t first_seen_ms);
  int64_t StormDeadline(int64_t first_seen_ms, int64_t last_seen_ms) const;
  std::chrono::milliseconds CloseTtl(int64_t deadline_ms) const;
  // Claims, emits (into `out`) and marks done one storm, if it is over.
  Result<CloseOne> CloseStorm(std::string_view ns, std::string_view alertname,
                              int64_t first_seen_ms, std::vector<RemediationRequest>* out);
  // An alert meets its storm over but not closed: close it now (waiting up to busy_wait for
  // another closer), so the alert can open the next storm.
  Status CloseBeforeReopen(std::string_view ns, std::string_view alertname, int64_t first_seen_ms,
                           std::vector<RemediationRequest>* out);
  RemediationRequest FinalStormRequest(std::string_view ns, std::string_view alertname,
                                       const StormRecord& record,
                                       std::string_view descriptor) const;
  // One item of a validated payload: a signal, or why it produces none.
  struct Item {
    std::optional<NormalizedSignal> signal;
    std::string ignored_reason;
  };
  static Result<std::vector<Item>> Adapt(std::string_view payload, SignalSource source,
                                         int64_t now_ms, const AdapterLimits& limits);
  IngestResult Process(std::vector<Item> items, SignalSource source, std::string_view client_id);
  // Processes one signal; returns false after a backend failure.
  bool ProcessSignal(const NormalizedSignal& signal, std::string_view attempt,
                     AlertDecision* decision, std::vector<RemediationRequest>* requests);
  // The batched path (pipeline_batch.cc).
  class BatchRun;
  void ProcessBatched(const std::vector<Item>& items, const std::string& attempt,
                      IngestResult* result);
  // A storm add succeeded: fills the decision; a storm it opened is registered (when closing is
  // enabled) and its provisional request appended to `out`. Errors: the registration's.
  Status Aggregated(const NormalizedSignal& signal, const StormAlert& alert,
                    const AggregateResult& agg, AlertDecision* d,
                    std::vector<RemediationRequest>* out);
  // A resumed alert was added to a storm it did not open (batched path without a replay list):
  // registers the storm again (idempotent) and emits its provisional request again, in case the
  // failed attempt's opening alert never got that far.
  Status Reregister(const NormalizedSignal& signal, const StormAlert& alert,
                    const AggregateResult& agg, std::vector<RemediationRequest>* out);
  // Both: the storm's close registration (when closing is on; its deadline from the storm's
  // first seen and `last_seen_ms`), then its provisional request to `out`.
  Status RegisterStorm(const NormalizedSignal& signal, const StormAlert& alert,
                       const AggregateResult& agg, int64_t last_seen_ms,
                       std::vector<RemediationRequest>* out);
  // An add was answered needs_close: add again, closing the over storm first if it still is
  // (its final request to `out`).
  Result<AggregateResult> AddClosingOver(const StormAlert& alert,
                                         std::vector<RemediationRequest>* out);
  RemediationRequest MakeStormRequest(const NormalizedSignal& opening, StormType type,
                                      int64_t alert_count, int64_t first_seen_ms,
                                      int64_t last_seen_ms) const;

  KvBackend& kv_;
  std::shared_ptr<const Clock> clock_;
  PipelineOptions options_;
  KeySchema schema_;
  Deduplicator dedup_;
  StormDetector detector_;
  StormAggregator aggregator_;
  RateLimiter limiter_;
  StormCloser closer_;
  // This pipeline's claimer id for storm closes (a claim it holds it may renew at once).
  std::string instance_id_;
};

// What a front end answers for a body over max_payload_bytes from `source`: 503 for
// Alertmanager (it retries only 5xx; see the file comment), 413 Payload Too Large otherwise.
int OversizedPayloadHttpStatus(SignalSource source);

// Guesses the source of a payload: "alertmanager" when it is a JSON object with an "alerts"
// member, "kubernetes-event" when it has involvedObject, regarding, items or object; nullopt
// when it is JSON of neither shape or not JSON at all (the adapter names the JSON error).
// InvalidArgument with CheckPayloadEnvelope's reason when the payload breaks an envelope cap of
// `limits` ("payload too large: N bytes > limit M"): the format is not what is wrong then.
Result<std::optional<SignalSource>> DetectSignalSource(std::string_view payload,
                                                       const AdapterLimits& limits = {});

// One decision as a single-line JSON object (for `stormkv ingest` output and logs):
// {"index":0,"outcome":"created","fingerprint":...,"remediationRequest":...,...}; fields that
// do not apply to the outcome are omitted.
std::string AlertDecisionToJson(const AlertDecision& decision);
// The same with "payload": `payload_name` first, then index, outcome, reason and error, then the
// other fields in key order: one line of `stormkv ingest`'s output.
std::string AlertDecisionToJson(const AlertDecision& decision, std::string_view payload_name);

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_PIPELINE_H_
