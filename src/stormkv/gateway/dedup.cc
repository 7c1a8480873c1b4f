#include "stormkv/gateway/dedup.h"

#include <string>
#include <utility>
#include <vector>

#include "stormkv/gateway/scripts.h"
#include "stormkv/script.h"

namespace stormkv {

Deduplicator::Deduplicator(KvBackend& kv, std::shared_ptr<const Clock> clock, KeySchema schema,
                           DedupOptions options)
    : kv_(kv), clock_(std::move(clock)), schema_(std::move(schema)), options_(options) {}

std::string Deduplicator::KeyFor(std::string_view fingerprint) const {
  return schema_.Key(family::kDedup, fingerprint);
}

namespace {

// Decodes lua/dedup.lua's reply {state, count, first, last, ref} (Record() only ever sees states
// 0 and 1).
Result<DedupResult> DecodeDedup(const Result<Reply>& reply) {
  if (!reply.ok()) return ScriptFailure(reply.status(), "dedup");
  STORMKV_RETURN_IF_ERROR(CheckReplyShape(*reply, 5, 4, "dedup"));
  const auto& e = reply->elements();
  if (!e[4].is_bulk()) return Status::Internal("dedup: reply without ref: " + reply->ToString());
  DedupResult out;
  switch (e[0].integer()) {
    case 0:
      out.state = DedupState::kNew;
      break;
    case 1:
      out.state = DedupState::kDuplicate;
      break;
    case 2:
      out.state = DedupState::kResumed;
      break;
    case 3:
      out.state = DedupState::kBusy;
      break;
    default:
      return Status::Internal("dedup: unexpected state in " + reply->ToString());
  }
  out.is_duplicate = out.state == DedupState::kDuplicate || out.state == DedupState::kBusy;
  out.count = e[1].integer();
  out.first_seen_ms = e[2].integer();
  out.last_seen_ms = e[3].integer();
  out.rr_name = e[4].str();
  return out;
}

// Runs lua/dedup.lua with `args` and decodes its reply.
Result<DedupResult> RunDedupScript(KvBackend& kv, const std::string& key,
                                   std::vector<std::string> args) {
  return DecodeDedup(kv.Eval(GatewayScript(ScriptId::kDedup), {key}, args));
}

Result<bool> DecodeFinish(const Result<Reply>& reply) {
  if (!reply.ok()) return ScriptFailure(reply.status(), "dedup finish");
  if (!reply->is_integer()) {
    return Status::Internal("dedup finish: unexpected reply " + reply->ToString());
  }
  return reply->integer() == 1;
}

// Runs `calls` as one EvalBatch; entries already failed in `out` (argument errors) are skipped.
template <typename T, typename Decode>
std::vector<Result<T>> RunBatch(KvBackend& kv, std::vector<ScriptCall> calls,
                                std::vector<Result<T>> out, const std::vector<std::size_t>& at,
                                Decode decode) {
  std::vector<Result<Reply>> replies = kv.EvalBatch(calls);
  for (std::size_t k = 0; k < at.size(); ++k) out[at[k]] = decode(replies[k]);
  return out;
}

}  // namespace

Result<DedupResult> Deduplicator::Record(std::string_view fingerprint, std::string_view rr_name) {
  if (fingerprint.empty()) return Status::InvalidArgument("dedup: empty fingerprint");
  if (options_.ttl.count() <= 0) return Status::InvalidArgument("dedup: ttl must be > 0");
  return RunDedupScript(kv_, KeyFor(fingerprint),
                        {std::to_string(clock_->NowMs()), std::to_string(options_.ttl.count()),
                         std::string(rr_name)});
}

Result<DedupResult> Deduplicator::Begin(std::string_view fingerprint, std::string_view rr_name,
                                        std::string_view attempt) {
  if (fingerprint.empty()) return Status::InvalidArgument("dedup: empty fingerprint");
  if (attempt.empty()) return Status::InvalidArgument("dedup: empty attempt id");
  if (options_.ttl.count() <= 0) return Status::InvalidArgument("dedup: ttl must be > 0");
  if (options_.unfinished_lease.count() < 0) {
    return Status::InvalidArgument("dedup: unfinished_lease must be >= 0");
  }
  return RunDedupScript(kv_, KeyFor(fingerprint),
                        {std::to_string(clock_->NowMs()), std::to_string(options_.ttl.count()),
                         std::string(rr_name), std::string(attempt),
                         std::to_string(options_.unfinished_lease.count())});
}

Result<bool> Deduplicator::Finish(std::string_view fingerprint, std::string_view attempt,
                                  DedupFinish how) {
  if (fingerprint.empty()) return Status::InvalidArgument("dedup: empty fingerprint");
  if (attempt.empty()) return Status::InvalidArgument("dedup: empty attempt id");
  return DecodeFinish(
      kv_.Eval(GatewayScript(ScriptId::kDedupFinish), {KeyFor(fingerprint)},
               {std::string(attempt), how == DedupFinish::kDone ? "done" : "abandon"}));
}

std::vector<Result<DedupResult>> Deduplicator::BeginBatch(
    const std::vector<std::pair<std::string_view, std::string_view>>& items,
    std::string_view attempt) {
  std::vector<Result<DedupResult>> out(items.size(), Status::Internal("dedup: not run"));
  Status invalid;
  if (attempt.empty()) invalid = Status::InvalidArgument("dedup: empty attempt id");
  if (options_.ttl.count() <= 0) invalid = Status::InvalidArgument("dedup: ttl must be > 0");
  if (options_.unfinished_lease.count() < 0) {
    invalid = Status::InvalidArgument("dedup: unfinished_lease must be >= 0");
  }
  const std::string now = std::to_string(clock_->NowMs());
  const std::string ttl = std::to_string(options_.ttl.count());
  const std::string lease = std::to_string(options_.unfinished_lease.count());
  std::vector<ScriptCall> calls;
  std::vector<std::size_t> at;
  calls.reserve(items.size());
  at.reserve(items.size());
  const Script* script = &GatewayScript(ScriptId::kDedup);
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].first.empty()) {
      out[i] = Status::InvalidArgument("dedup: empty fingerprint");
      continue;
    }
    if (!invalid.ok()) {
      out[i] = invalid;
      continue;
    }
    // Built in place (a braced list would copy every string once more).
    ScriptCall& c = calls.emplace_back();
    c.script = script;
    c.keys.push_back(KeyFor(items[i].first));
    c.args.reserve(5);
    c.args.push_back(now);
    c.args.push_back(ttl);
    c.args.emplace_back(items[i].second);
    c.args.emplace_back(attempt);
    c.args.push_back(lease);
    at.push_back(i);
  }
  return RunBatch<DedupResult>(kv_, std::move(calls), std::move(out), at, DecodeDedup);
}

std::vector<Result<bool>> Deduplicator::FinishBatch(
    const std::vector<std::string_view>& fingerprints, std::string_view attempt,
    DedupFinish how) {
  std::vector<Result<bool>> out(fingerprints.size(), Status::Internal("dedup finish: not run"));
  std::vector<ScriptCall> calls;
  std::vector<std::size_t> at;
  calls.reserve(fingerprints.size());
  at.reserve(fingerprints.size());
  const Script* script = &GatewayScript(ScriptId::kDedupFinish);
  for (std::size_t i = 0; i < fingerprints.size(); ++i) {
    if (fingerprints[i].empty()) {
      out[i] = Status::InvalidArgument("dedup: empty fingerprint");
      continue;
    }
    if (attempt.empty()) {
      out[i] = Status::InvalidArgument("dedup: empty attempt id");
      continue;
    }
    ScriptCall& c = calls.emplace_back();
    c.script = script;
    c.keys.push_back(KeyFor(fingerprints[i]));
    c.args.reserve(2);
    c.args.emplace_back(attempt);
    c.args.emplace_back(how == DedupFinish::kDone ? "done" : "abandon");
    at.push_back(i);
  }
  return RunBatch<bool>(kv_, std::move(calls), std::move(out), at, DecodeFinish);
}

Result<std::optional<DedupResult>> Deduplicator::Lookup(std::string_view fingerprint) {
  if (fingerprint.empty()) return Status::InvalidArgument("dedup: empty fingerprint");
  auto reply = kv_.Run({"HMGET", KeyFor(fingerprint), "count", "first", "last", "ref"});
  if (!reply.ok()) return reply.status().WithContext("dedup");
  if (!reply->is_array() || reply->elements().size() != 4) {
    return Status::Internal("dedup: unexpected HMGET reply " + reply->ToString());
  }
  const auto& e = reply->elements();
  bool any = false, all = true;
  for (const Reply& r : e) {
    any = any || !r.is_nil();
    all = all && r.is_bulk();
  }
  if (!any) return std::optional<DedupResult>();
  DedupResult out;
  out.is_duplicate = true;
  auto parse = [](const Reply& r, int64_t* v) {
    try {
      std::size_t pos = 0;
      *v = std::stoll(r.str(), &pos);
      return pos == r.str().size();
    } catch (...) {
      return false;
    }
  };
  if (!all || !parse(e[0], &out.count) || !parse(e[1], &out.first_seen_ms) ||
      !parse(e[2], &out.last_seen_ms)) {
    return Status::Corruption("dedup: record " + KeyFor(fingerprint) + " lacks its fields");
  }
  out.rr_name = e[3].str();
  return std::optional<DedupResult>(std::move(out));
}

}  // namespace stormkv
