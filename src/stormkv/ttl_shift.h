// stormkv/ttl_shift.h — ages a real server's keys along with a virtual clock.
//
// A simulation or a test drives the gateway with a virtual clock (ManualClock), but a real
// Redis expires keys on its own wall clock. ShiftTtls moves the keys' deadlines instead: when the
// virtual clock jumps by `d`, every key's remaining TTL shrinks by `d`. Keys that become due are
// NOT deleted: each gets PEXPIRE 1 and the call waits until the server's clock has passed that
// deadline, so the server expires them itself (lazily on the next access, or in its active
// expiry cycle) and counts them in INFO stats expired_keys, exactly as it would have without the
// shift. Used by `stormkv simulate --backend redis://...` and by the test harness.
#ifndef STORMKV_TTL_SHIFT_H_
#define STORMKV_TTL_SHIFT_H_

#include <chrono>
#include <cstdint>
#include <string_view>

#include "stormkv/kv_backend.h"
#include "stormkv/status.h"

namespace stormkv {

struct TtlShiftOptions {
  // Keys per PTTL / PEXPIRE pipeline.
  int64_t batch = 1000;
  // Longest real time to wait for the server's clock to pass the due keys' deadline (it takes
  // 2 ms unless the server is stalled).
  std::chrono::milliseconds max_wait = std::chrono::seconds(5);
};

// Shortens the TTL of every key of `kv` matching `match` ("" = all) by `d` (<= 0: nothing):
// PTTL, then PEXPIRE with the remainder; a remainder <= 0 gets PEXPIRE 1 and, when any key was
// due, the call returns only after the server's TIME passed those deadlines (polled, not a fixed
// sleep). Keys without a TTL, and keys that vanish meanwhile, are untouched. The server's wall
// time keeps running during the call, so results are exact to a few milliseconds only.
// Errors: the backend's (with the command and key as context); Timeout when the server's clock
// did not pass the deadline within options.max_wait; Internal on an unexpected reply.
Status ShiftTtls(KvBackend& kv, std::string_view match, std::chrono::milliseconds d,
                 const TtlShiftOptions& options = {});

// The server's clock (TIME) in milliseconds since the epoch.
Result<int64_t> ServerTimeMs(KvBackend& kv);

}  // namespace stormkv

#endif  // STORMKV_TTL_SHIFT_H_
