// The Pipeline's batched path (PipelineOptions::batch, pipeline.h "Batching"): a payload's
// alerts go to the backend stage by stage, each stage one KvBackend::EvalBatch.
#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "stormkv/gateway/fingerprint.h"
#include "stormkv/gateway/pipeline.h"

namespace stormkv {

// One payload's batched processing. Decisions go to result->decisions, requests to `emitted`
// (per payload index, so they come out in payload order as in sequential processing).
class Pipeline::BatchRun {
 public:
  BatchRun(Pipeline& p, const std::vector<Item>& items, const std::string& attempt,
           IngestResult* result)
      : p_(p), items_(items), attempt_(attempt), result_(result), emitted_(items.size()),
        busy_until_us_(items.size(), 0) {}

  void Run() {
    std::vector<std::size_t> pending;
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (result_->decisions[i].outcome != Outcome::kIgnored) pending.push_back(i);
    }
    while (!pending.empty()) {
      // This wave: the first pending occurrence of each fingerprint; a repeat waits for the next
      // wave, after the first one's Finish (then it is the duplicate it is in sequential order).
      std::vector<std::size_t> wave, later;
      std::unordered_set<std::string_view> in_wave;
      for (std::size_t i : pending) {
        const std::string& fp = Signal(i).fingerprint;
        if (auto f = failed_fps_.find(fp); f != failed_fps_.end()) {
          NotAttempted(i, f->second, "an earlier occurrence of this alert in the payload failed");
          continue;
        }
        (in_wave.insert(fp).second ? wave : later).push_back(i);
      }
      std::vector<std::size_t> busy = RunWave(wave);
      pending.clear();
      std::merge(busy.begin(), busy.end(), later.begin(), later.end(),
                 std::back_inserter(pending));
      if (!busy.empty()) {
        // Another delivery holds these alerts unfinished: wait a little (injected clock).
        p_.clock_->SleepFor(pause_);
        pause_ = std::min<std::chrono::microseconds>(pause_ * 2, std::chrono::milliseconds(20));
      }
    }
    for (std::size_t i = 0; i < items_.size(); ++i) {
      for (RemediationRequest& rr : emitted_[i]) result_->requests.push_back(std::move(rr));
      const AlertDecision& d = result_->decisions[i];
      if (!d.status.ok() && result_->status.ok()) {
        result_->status = d.status.WithContext("alert " + std::to_string(i));
        result_->http_status = 503;
      }
    }
  }

 private:
  const NormalizedSignal& Signal(std::size_t i) const { return *items_[i].signal; }
  AlertDecision& D(std::size_t i) { return result_->decisions[i]; }

  // Fails alert i with `status`; `begun`: its Begin may have written (it is abandoned).
  void Fail(std::size_t i, const Status& status, bool begun) {
    AlertDecision& d = D(i);
    d.outcome = Outcome::kFailed;
    d.status = status;
    d.reason = status.ToString();
    if (begun) abandon_.push_back(i);
    failed_fps_.emplace(Signal(i).fingerprint, status);
  }

  void NotAttempted(std::size_t i, const Status& cause, std::string_view why) {
    AlertDecision& d = D(i);
    d.outcome = Outcome::kFailed;
    d.status = cause;
    d.reason = "not attempted: " + std::string(why) + ": " + cause.ToString();
    failed_fps_.emplace(Signal(i).fingerprint, cause);
  }

  // Runs one wave through every stage; returns the alerts answered busy that may still wait.
  std::vector<std::size_t> RunWave(const std::vector<std::size_t>& wave) {
    std::vector<std::size_t> busy;
    if (wave.empty()) return busy;
    abandon_.clear();
    added_.clear();
    // (a) dedup: every Begin of the wave in one batch.
    std::vector<std::string> rr_names;
    rr_names.reserve(wave.size());
    std::vector<std::pair<std::string_view, std::string_view>> begins;
    begins.reserve(wave.size());
    for (std::size_t i : wave) rr_names.push_back(RemediationRequestName(Signal(i).fingerprint));
    for (std::size_t k = 0; k < wave.size(); ++k) {
      begins.emplace_back(Signal(wave[k]).fingerprint, rr_names[k]);
    }
    std::vector<Result<DedupResult>> recs = p_.dedup_.BeginBatch(begins, attempt_);
    std::vector<std::size_t> fresh;  // new or resumed: stored unfinished by this attempt
    std::vector<DedupResult> rec(items_.size());
    for (std::size_t k = 0; k < wave.size(); ++k) {
      const std::size_t i = wave[k];
      Result<DedupResult>& r = recs[k];
      // A transport failure may hide a Begin the server ran (lost reply): abandon it too.
      if (!r.ok()) {
        Fail(i, r.status(), r.status().IsUnavailable() || r.status().IsTimeout());
        continue;
      }
      if (r->state == DedupState::kBusy) {
        const int64_t now_us = p_.clock_->NowUs();
        if (busy_until_us_[i] == 0) {
          busy_until_us_[i] = now_us + std::chrono::microseconds(p_.options_.busy_wait).count();
        }
        // As alert by alert: wait while the next pause still ends before the deadline.
        if (now_us + pause_.count() < busy_until_us_[i]) {
          busy.push_back(i);
        } else {
          D(i).occurrence_count = r->count;
          D(i).first_seen_ms = r->first_seen_ms;
          D(i).last_seen_ms = r->last_seen_ms;
          Fail(i,
               Status::Unavailable("alert " + Signal(i).fingerprint.substr(0, 16) +
                                   " is still being processed by another delivery after " +
                                   std::to_string(p_.options_.busy_wait.count()) + " ms; retry"),
               false);
        }
        continue;
      }
      AlertDecision& d = D(i);
      d.occurrence_count = r->count;
      d.first_seen_ms = r->first_seen_ms;
      d.last_seen_ms = r->last_seen_ms;
      if (r->state == DedupState::kDuplicate) {
        d.outcome = Outcome::kDuplicate;
        d.remediation_request = r->rr_name;
        continue;
      }
      rec[i] = std::move(r).value();
      fresh.push_back(i);
    }

    // (b) storm detection of every new alert, in payload order, in one batch.
    std::vector<std::string> ns(fresh.size()), res(fresh.size());
    std::vector<StormDetector::Observation> obs;
    obs.reserve(fresh.size());
    for (std::size_t k = 0; k < fresh.size(); ++k) {
      ns[k] = StormNamespaceFor(Signal(fresh[k]));
      res[k] = StormResourceFor(Signal(fresh[k]));
      obs.push_back({ns[k], Signal(fresh[k]).name, res[k]});
    }
    std::vector<Result<StormCheck>> checks = p_.detector_.ObserveBatch(obs);
    std::vector<std::size_t> done;  // processed: their Finish(kDone) is due
    std::vector<StormAlert> storm(fresh.size());
    std::vector<std::size_t> storm_idx;  // positions in `fresh`
    for (std::size_t k = 0; k < fresh.size(); ++k) {
      const std::size_t i = fresh[k];
      if (!checks[k].ok()) {
        Fail(i, checks[k].status(), true);
        continue;
      }
      const NormalizedSignal& s = Signal(i);
      if (std::optional<StormType> type = checks[k]->type()) {
        // ns[k] and res[k] are done with (the detection batch has run): moved, not copied.
        StormAlert& a = storm[k];
        a.ns = std::move(ns[k]);
        a.alertname = s.name;
        a.storm_type = *type;
        a.resource = std::move(res[k]);
        a.request_id = StormRequestId(s, rec[i].first_seen_ms);
        if (p_.options_.aggregation.layout == Layout::kFullCrd) {
          a.fingerprint = s.fingerprint;
          a.severity = s.severity;
          a.labels = s.labels;
          a.annotations = s.annotations;
        }
        storm_idx.push_back(k);
        continue;
      }
      DeduplicationInfo info;
      info.first_seen_ms = rec[i].first_seen_ms;
      info.last_seen_ms = rec[i].last_seen_ms;
      info.occurrence_count = rec[i].count;
      RemediationRequest rr = MakeRemediationRequest(s, info);
      D(i).outcome = Outcome::kCreated;
      D(i).remediation_request = rr.name;
      emitted_[i].push_back(std::move(rr));
      done.push_back(i);
    }

    // (c) aggregation: first the first alert of each storm (it may open the storm, which is
    // registered before any other alert of it is added), then the others, each round one batch.
    std::unordered_map<std::string, std::optional<std::pair<std::size_t, Status>>> storms;
    std::vector<std::size_t> first, rest;  // positions in `fresh`
    for (std::size_t k : storm_idx) {
      auto [it, inserted] = storms.try_emplace(storm[k].ns + '\n' + storm[k].alertname);
      (inserted ? first : rest).push_back(k);
    }
    std::unordered_set<std::string> opened;  // storms opened by this wave
    // storm -> (first resumed alert added to it, its add), see pipeline.h "Batching"
    std::map<std::string, std::pair<std::size_t, AggregateResult>> resumed;
    auto key_of = [&](std::size_t k) { return storm[k].ns + '\n' + storm[k].alertname; };
    auto add_round = [&](const std::vector<std::size_t>& round) {
      std::vector<const StormAlert*> adds;
      std::vector<std::size_t> sent;
      for (std::size_t k : round) {
        auto& blocked = storms[key_of(k)];
        if (blocked) {
          // The first alert of this storm failed: adding this one would hide that alert's add
          // from its retry's replay check (storm_aggregator.h), and a storm it opened would stay
          // unregistered. It is abandoned and retried with it.
          AlertDecision& d = D(fresh[k]);
          d.outcome = Outcome::kFailed;
          d.status = blocked->second;
          d.reason = "not added to its storm: alert " + std::to_string(blocked->first) +
                     " of the payload, the first of the storm, failed: " +
                     blocked->second.ToString();
          abandon_.push_back(fresh[k]);
          failed_fps_.emplace(Signal(fresh[k]).fingerprint, blocked->second);
          continue;
        }
        adds.push_back(&storm[k]);
        sent.push_back(k);
      }
      std::vector<Result<AggregateResult>> aggs = p_.aggregator_.AddBatch(adds);
      for (std::size_t j = 0; j < sent.size(); ++j) {
        const std::size_t k = sent[j];
        const std::size_t i = fresh[k];
        Result<AggregateResult> agg = std::move(aggs[j]);
        if (agg.ok() && agg->needs_close) agg = p_.AddClosingOver(storm[k], &emitted_[i]);
        Status st = agg.ok() ? Status::Ok() : agg.status();
        if (st.ok()) st = p_.Aggregated(Signal(i), storm[k], *agg, &D(i), &emitted_[i]);
        if (!st.ok()) {
          Fail(i, st, true);
          auto& blocked = storms[key_of(k)];
          if (!blocked) blocked.emplace(i, st);
          continue;
        }
        added_[i] = &storm[k];
        if (agg->is_new) {
          opened.insert(key_of(k));
        } else if (rec[i].state == DedupState::kResumed) {
          resumed.try_emplace(key_of(k), k, *agg);
        }
        done.push_back(i);
      }
    };
    add_round(first);
    add_round(rest);
    // Only without a replay list (closing disabled): with one, the retry of a storm's opening
    // add is a replay that reports the storm opened again, and registers it.
    for (const auto& [key, at] : resumed) {
      if (opened.count(key) || p_.options_.aggregation.replay_list) continue;
      const std::size_t i = fresh[at.first];
      if (Status st = p_.Reregister(Signal(i), storm[at.first], at.second, &emitted_[i]);
          !st.ok()) {
        done.erase(std::find(done.begin(), done.end(), i));
        Fail(i, st, true);
      }
    }

    // (d) every processed alert marked done in one batch; (e) the failed ones abandoned in one.
    std::sort(done.begin(), done.end());
    std::vector<std::string_view> fps;
    fps.reserve(done.size());
    for (std::size_t i : done) fps.push_back(Signal(i).fingerprint);
    std::vector<Result<bool>> finished = p_.dedup_.FinishBatch(fps, attempt_, DedupFinish::kDone);
    std::vector<std::size_t> finish_failed;
    std::vector<const StormAlert*> settled;  // storm adds of alerts now done
    for (std::size_t k = 0; k < done.size(); ++k) {
      if (finished[k].ok()) {
        if (auto it = added_.find(done[k]); it != added_.end()) settled.push_back(it->second);
        continue;
      }
      const std::size_t i = done[k];
      AlertDecision& d = D(i);
      d.status = finished[k].status();
      d.reason = "processed and its request emitted, but marking it done failed: " +
                 finished[k].status().ToString() +
                 "; a retry processes it again and emits a request of the same name";
      failed_fps_.emplace(Signal(i).fingerprint, d.status);
      finish_failed.push_back(i);
    }
    // (f) their request ids leave the storms' replay lists (one batch). Best effort: an id left
    // behind lives only as long as its storm record, and only a retry of its alert, a duplicate
    // now, could carry it again.
    (void)p_.aggregator_.ForgetReplays(settled);
    std::sort(abandon_.begin(), abandon_.end());
    std::vector<std::size_t> abandon = abandon_;
    abandon.insert(abandon.end(), finish_failed.begin(), finish_failed.end());
    if (!abandon.empty()) {
      fps.clear();
      for (std::size_t i : abandon) fps.push_back(Signal(i).fingerprint);
      std::vector<Result<bool>> ab = p_.dedup_.FinishBatch(fps, attempt_, DedupFinish::kAbandon);
      // Reported for the failed alerts; best effort for the finish failures (the lease ends
      // their unfinished records).
      for (std::size_t k = 0; k < abandon_.size(); ++k) {
        if (ab[k].ok()) continue;
        D(abandon_[k]).reason +=
            "; abandoning the unfinished dedup record failed too (" + ab[k].status().ToString() +
            "): a retry within " + std::to_string(p_.options_.dedup.unfinished_lease.count()) +
            " ms of it is answered busy, a later one resumes it";
      }
    }
    return busy;
  }

  Pipeline& p_;
  const std::vector<Item>& items_;
  const std::string& attempt_;
  IngestResult* result_;
  std::vector<std::vector<RemediationRequest>> emitted_;
  std::vector<int64_t> busy_until_us_;
  std::chrono::microseconds pause_{50};  // the next busy wait
  std::unordered_map<std::string, Status> failed_fps_;  // fingerprints whose alert failed
  std::vector<std::size_t> abandon_;                     // this wave's begun-and-failed alerts
  // This wave's alerts added to their storms (payload index -> the add; `storm` of RunWave).
  std::unordered_map<std::size_t, const StormAlert*> added_;
};

void Pipeline::ProcessBatched(const std::vector<Item>& items, const std::string& attempt,
                              IngestResult* result) {
  BatchRun(*this, items, attempt, result).Run();
}

}  // namespace stormkv
