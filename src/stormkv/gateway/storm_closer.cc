#include "stormkv/gateway/storm_closer.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <utility>

#include "stormkv/gateway/scripts.h"

namespace stormkv {
namespace {

// Lua's tonumber() for the decimal integers this script handles; nullopt otherwise.
std::optional<double> Number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str()) return std::nullopt;
  while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r') ++end;
  if (*end != '\0') return std::nullopt;
  return v;
}

std::string FormatInt(double v) { return std::to_string(static_cast<int64_t>(v)); }

Reply Triple(int64_t code, std::string desc, int64_t until) {
  return Reply::Array({Reply::Integer(code), Reply::Bulk(std::move(desc)), Reply::Integer(until)});
}

uint64_t Fnv1a(std::string_view a, std::string_view b) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(a);
  mix(std::string_view("\0", 1));
  mix(b);
  return h;
}

}  // namespace

Result<Reply> StormCloseTwin(ScriptContext& ctx, const std::vector<std::string>& keys,
                             const std::vector<std::string>& argv) {
  if (keys.size() != 1 || argv.size() < 4) {
    return Status::ScriptError(
        "storm_close: wrong arguments, want 1 key and now, mode, first, ttl[, ...]");
  }
  const std::string& key = keys[0];
  const std::optional<double> now = Number(argv[0]);
  const std::string& mode = argv[1];
  const std::string& first = argv[2];
  auto call = [&ctx](Command c) { return ctx.Call(c); };
  Result<Reply> m = call({"HMGET", key, "s", "d"});
  if (!m.ok()) return m.status();
  const auto& e = m->elements();
  const std::string state = e.at(0).is_nil() ? "" : e.at(0).str();
  const std::string desc = e.at(1).is_nil() ? "" : e.at(1).str();
  const std::string claimed = "claim:" + first + ":";
  if (mode == "open") {
    if (argv.size() < 5) return Status::ScriptError("storm_close: open needs a descriptor");
    if (state == "open:" + first || state == "done:" + first ||
        state.compare(0, claimed.size(), claimed) == 0) {
      return Triple(0, "", 0);
    }
    if (auto r = call({"HSET", key, "s", "open:" + first, "d", argv[4]}); !r.ok()) return r.status();
    if (auto r = call({"PEXPIRE", key, argv[3]}); !r.ok()) return r.status();
    return Triple(1, "", 0);
  }
  if (state == "done:" + first) return Triple(2, desc, 0);
  if (mode == "claim") {
    if (argv.size() < 6 || !now || !Number(argv[5])) {
      return Status::ScriptError("storm_close: claim needs now, a claimer and a lease");
    }
    if (state.compare(0, claimed.size(), claimed) == 0) {
      const std::string rest = state.substr(claimed.size());
      const std::size_t colon = rest.find(':');
      if (colon != std::string::npos) {
        const std::optional<double> until = Number(rest.substr(0, colon));
        if (until && *now < *until && rest.substr(colon + 1) != argv[4]) {
          return Triple(0, desc, static_cast<int64_t>(*until));
        }
      }
    }
    const std::string value = claimed + FormatInt(*now + *Number(argv[5])) + ":" + argv[4];
    if (auto r = call({"HSET", key, "s", value}); !r.ok()) return r.status();
    if (auto r = call({"PEXPIRE", key, argv[3]}); !r.ok()) return r.status();
    return Triple(1, desc, 0);
  }
  if (mode != "done") return StatusFromErrorReply("ERR storm_close: unknown mode");
  if (auto r = call({"HSET", key, "s", "done:" + first}); !r.ok()) return r.status();
  if (auto r = call({"PEXPIRE", key, argv[3]}); !r.ok()) return r.status();
  return Triple(1, desc, 0);
}

StormCloser::StormCloser(KvBackend& kv, std::shared_ptr<const Clock> clock, KeySchema schema,
                         StormCloseOptions options)
    : kv_(kv), clock_(std::move(clock)), schema_(std::move(schema)), options_(options) {
  options_.due_buckets = std::max(1, options_.due_buckets);
}

std::string StormCloser::CloseKey(std::string_view ns, std::string_view alertname) const {
  return schema_.StormKey(family::kStormClose, ns, alertname);
}

std::string StormCloser::DueKey(int bucket) const {
  return schema_.Key(family::kStormDue, std::to_string(bucket));
}

int StormCloser::BucketOf(std::string_view ns, std::string_view alertname) const {
  return static_cast<int>(Fnv1a(ns, alertname) % static_cast<uint64_t>(options_.due_buckets));
}

std::string StormCloser::DueMember(std::string_view ns, std::string_view alertname,
                                   int64_t first_seen_ms) {
  std::string m = std::to_string(first_seen_ms);
  m += ':';
  m += std::to_string(ns.size());
  m += ':';
  m += ns;
  m += alertname;
  return m;
}

Result<ClaimResult> StormCloser::Run(std::string_view mode, std::string_view ns,
                                     std::string_view alertname, int64_t first_seen_ms,
                                     std::chrono::milliseconds ttl,
                                     std::vector<std::string> extra) {
  std::vector<std::string> args = {std::to_string(clock_->NowMs()), std::string(mode),
                                   std::to_string(first_seen_ms),
                                   std::to_string(std::max<int64_t>(1, ttl.count()))};
  for (std::string& x : extra) args.push_back(std::move(x));
  auto reply = kv_.Eval(GatewayScript(ScriptId::kStormClose), {CloseKey(ns, alertname)}, args);
  if (!reply.ok()) return ScriptFailure(reply.status(), "storm close");
  STORMKV_RETURN_IF_ERROR(CheckReplyShape(*reply, 3, 1, "storm close"));
  const auto& e = reply->elements();
  if (!e[1].is_bulk() || !e[2].is_integer()) {
    return Status::Internal("storm close: unexpected script reply " + reply->ToString());
  }
  ClaimResult out;
  const int64_t code = e[0].integer();
  out.claim = code == 1 ? CloseClaim::kClaimed : code == 2 ? CloseClaim::kDone : CloseClaim::kBusy;
  out.descriptor = e[1].str();
  out.busy_until_ms = e[2].integer();
  return out;
}

Status StormCloser::Open(std::string_view ns, std::string_view alertname, int64_t first_seen_ms,
                         int64_t deadline_ms, std::string_view descriptor,
                         std::chrono::milliseconds ttl) {
  Result<ClaimResult> r =
      Run("open", ns, alertname, first_seen_ms, ttl, {std::string(descriptor)});
  if (!r.ok()) return r.status();
  const std::string key = DueKey(BucketOf(ns, alertname));
  // A due list outlives the longest-lived storm in it by one more grace (so a close call can
  // still report a storm that expired unclosed): every opening extends it.
  const int64_t list_ttl = std::max<int64_t>(1, ttl.count() + options_.grace.count());
  std::vector<Result<Reply>> replies = kv_.RunBatch(
      {{"ZADD", key, std::to_string(deadline_ms), DueMember(ns, alertname, first_seen_ms)},
       {"PEXPIRE", key, std::to_string(list_ttl), "GT"},
       {"PEXPIRE", key, std::to_string(list_ttl), "NX"}});
  for (const Result<Reply>& rep : replies) {
    if (!rep.ok()) return rep.status().WithContext("storm due list");
  }
  return Status::Ok();
}

Result<ClaimResult> StormCloser::Claim(std::string_view ns, std::string_view alertname,
                                       int64_t first_seen_ms, std::string_view claimer,
                                       std::chrono::milliseconds ttl) {
  return Run("claim", ns, alertname, first_seen_ms, ttl,
             {std::string(claimer), std::to_string(options_.claim_lease.count())});
}

Result<ClaimResult> StormCloser::Done(std::string_view ns, std::string_view alertname,
                                      int64_t first_seen_ms, std::chrono::milliseconds ttl) {
  return Run("done", ns, alertname, first_seen_ms, ttl, {});
}

Result<std::vector<DueStorm>> StormCloser::Due(int64_t until_ms, std::size_t limit) {
  std::vector<Command> cmds;
  cmds.reserve(static_cast<std::size_t>(options_.due_buckets));
  for (int b = 0; b < options_.due_buckets; ++b) {
    cmds.push_back({"ZRANGEBYSCORE", DueKey(b), "-inf", std::to_string(until_ms), "WITHSCORES",
                    "LIMIT", "0", std::to_string(limit)});
  }
  std::vector<Result<Reply>> replies = kv_.RunBatch(cmds);
  std::vector<DueStorm> out;
  for (int b = 0; b < options_.due_buckets; ++b) {
    const Result<Reply>& r = replies.at(static_cast<std::size_t>(b));
    if (!r.ok()) return r.status().WithContext("storm due list");
    if (!r->is_array()) return Status::Internal("storm due list: unexpected reply " + r->ToString());
    const auto& e = r->elements();
    for (std::size_t i = 0; i + 1 < e.size(); i += 2) {
      if (!e[i].is_bulk() || !e[i + 1].is_bulk()) continue;
      DueStorm s;
      s.member = e[i].str();
      s.bucket = b;
      const std::string& m = s.member;
      const std::size_t c1 = m.find(':');
      const std::size_t c2 = c1 == std::string::npos ? c1 : m.find(':', c1 + 1);
      std::size_t ns_len = 0;
      int64_t first = 0;
      const bool ok =
          c2 != std::string::npos &&
          std::from_chars(m.data(), m.data() + c1, first).ec == std::errc() &&
          std::from_chars(m.data() + c1 + 1, m.data() + c2, ns_len).ec == std::errc() &&
          c2 + 1 + ns_len < m.size();
      if (!ok) continue;  // not one of ours: left alone
      s.first_seen_ms = first;
      s.ns = m.substr(c2 + 1, ns_len);
      s.alertname = m.substr(c2 + 1 + ns_len);
      s.due_ms = static_cast<int64_t>(std::strtod(e[i + 1].str().c_str(), nullptr));
      out.push_back(std::move(s));
    }
  }
  return out;
}

Status StormCloser::Reschedule(const DueStorm& storm, int64_t due_ms) {
  Result<Reply> r = kv_.Run({"ZADD", DueKey(storm.bucket), "XX", std::to_string(due_ms),
                             storm.member});
  return r.ok() ? Status::Ok() : r.status().WithContext("storm due list");
}

Status StormCloser::Remove(const DueStorm& storm) {
  Result<Reply> r = kv_.Run({"ZREM", DueKey(storm.bucket), storm.member});
  return r.ok() ? Status::Ok() : r.status().WithContext("storm due list");
}

}  // namespace stormkv
