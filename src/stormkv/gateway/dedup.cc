#include "stormkv/gateway/dedup.h"

#include <string>
#include <utility>
#include <vector>

#include "stormkv/gateway/scripts.h"

namespace stormkv {

Deduplicator::Deduplicator(KvBackend& kv, std::shared_ptr<const Clock> clock, KeySchema schema,
                           DedupOptions options)
    : kv_(kv), clock_(std::move(clock)), schema_(std::move(schema)), options_(options) {}

std::string Deduplicator::KeyFor(std::string_view fingerprint) const {
  return schema_.Key(family::kDedup, fingerprint);
}

namespace {

// Runs lua/dedup.lua with `args` and decodes its reply {state, count, first, last, ref}
// (Record() only ever sees states 0 and 1).
Result<DedupResult> RunDedupScript(KvBackend& kv, const std::string& key,
                                   std::vector<std::string> args) {
  auto reply = kv.Eval(GatewayScript(ScriptId::kDedup), {key}, args);
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
  auto reply = kv_.Eval(GatewayScript(ScriptId::kDedupFinish), {KeyFor(fingerprint)},
                        {std::string(attempt), how == DedupFinish::kDone ? "done" : "abandon"});
  if (!reply.ok()) return ScriptFailure(reply.status(), "dedup finish");
  if (!reply->is_integer()) {
    return Status::Internal("dedup finish: unexpected reply " + reply->ToString());
  }
  return reply->integer() == 1;
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
