#include "stormkv/ttl_shift.h"

#include <charconv>
#include <string>
#include <thread>
#include <vector>

namespace stormkv {
namespace {

Result<int64_t> ParseInt(const Reply& r) {
  int64_t v = 0;
  const std::string& s = r.str();
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size())
    return Status::Internal("TIME: not an integer: " + r.ToString());
  return v;
}

// PTTL + PEXPIRE for one batch of keys; `any_due` is set when a key got PEXPIRE 1.
Status ShiftBatch(KvBackend& kv, const std::vector<std::string>& keys, int64_t d_ms,
                  bool* any_due) {
  std::vector<Command> pttls;
  pttls.reserve(keys.size());
  for (const std::string& k : keys) pttls.push_back({"PTTL", k});
  std::vector<Result<Reply>> remaining = kv.RunBatch(pttls);
  std::vector<Command> updates;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!remaining[i].ok()) return remaining[i].status().WithContext("PTTL " + keys[i]);
    if (!remaining[i]->is_integer())
      return Status::Internal("PTTL " + keys[i] + " answered " + remaining[i]->ToString());
    const int64_t ms = remaining[i]->integer();
    if (ms < 0) continue;  // -1 no expiry, -2 gone meanwhile
    const int64_t left = ms - d_ms;
    if (left <= 0) *any_due = true;
    updates.push_back({"PEXPIRE", keys[i], std::to_string(left <= 0 ? 1 : left)});
  }
  std::vector<Result<Reply>> done = kv.RunBatch(updates);
  for (std::size_t i = 0; i < done.size(); ++i) {
    if (!done[i].ok()) return done[i].status().WithContext("PEXPIRE " + updates[i][1]);
  }
  return Status::Ok();
}

}  // namespace

Result<int64_t> ServerTimeMs(KvBackend& kv) {
  Result<Reply> r = kv.Run({"TIME"});
  if (!r.ok()) return r.status().WithContext("TIME");
  if (!r->is_array() || r->elements().size() != 2)
    return Status::Internal("TIME: unexpected reply " + r->ToString());
  Result<int64_t> s = ParseInt(r->elements()[0]);
  if (!s.ok()) return s.status();
  Result<int64_t> us = ParseInt(r->elements()[1]);
  if (!us.ok()) return us.status();
  return *s * 1000 + *us / 1000;
}

Status ShiftTtls(KvBackend& kv, std::string_view match, std::chrono::milliseconds d,
                 const TtlShiftOptions& options) {
  if (d.count() <= 0) return Status::Ok();
  const std::size_t batch = options.batch > 0 ? static_cast<std::size_t>(options.batch) : 1000;
  bool any_due = false;
  std::vector<std::string> keys;
  STORMKV_RETURN_IF_ERROR(kv.ScanAll(match, [&](const std::string& k) {
    keys.push_back(k);
    if (keys.size() < batch) return Status::Ok();
    Status s = ShiftBatch(kv, keys, d.count(), &any_due);
    keys.clear();
    return s;
  }));
  if (!keys.empty()) STORMKV_RETURN_IF_ERROR(ShiftBatch(kv, keys, d.count(), &any_due));
  if (!any_due) return Status::Ok();
  // Every PEXPIRE 1 ran before this TIME, so its deadline is at most t + 1; Redis expires a key
  // once its clock is past the deadline (now > when): wait for t + 2.
  Result<int64_t> t = ServerTimeMs(kv);
  if (!t.ok()) return t.status();
  const auto give_up = std::chrono::steady_clock::now() + options.max_wait;
  for (;;) {
    Result<int64_t> now = ServerTimeMs(kv);
    if (!now.ok()) return now.status();
    if (*now >= *t + 2) return Status::Ok();
    if (std::chrono::steady_clock::now() > give_up) {
      return Status::Timeout("the server's clock did not pass the due keys' deadline (TIME " +
                             std::to_string(*t) + " + 2 ms) within " +
                             std::to_string(options.max_wait.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

}  // namespace stormkv
