// backends/redis/redis_wire.h — internal: the hiredis plumbing every Redis backend shares (the
// plain backend, each node of the cluster backend). Not installed; not part of the API.
//
// One mapping from a hiredis failure or an error reply to a Status (MapRedisError), RESP
// encoding into a per-thread buffer, blocking send/read bounded by the socket timeouts.
#ifndef STORMKV_BACKENDS_REDIS_REDIS_WIRE_H_
#define STORMKV_BACKENDS_REDIS_REDIS_WIRE_H_

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "stormkv/kv_backend.h"
#include "stormkv/reply.h"
#include "stormkv/status.h"

namespace stormkv::redis_internal {

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* c) const {
    if (c != nullptr) redisFree(c);
  }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

timeval ToTimeval(std::chrono::milliseconds d);

// The one mapping from a hiredis failure or an error reply to a Status.
//  * `reply` of type error: the server's text, coded by StatusFromErrorReply (no prefix: callers
//    may compare it with what the memory backend says); with `during` (connection setup) the
//    server and the step go in front.
//  * otherwise a transport failure: `kind` is hiredis's REDIS_ERR_* (the context's err, or
//    REDIS_ERR_IO for our own send), `text` its description, `saved_errno` errno right after the
//    failing call: timeouts -> kTimeout; refused/reset/EOF/unresolvable -> kUnavailable; a
//    protocol error (the peer does not speak RESP) -> kServerError. The message starts with
//    `server`.
Status MapRedisError(const std::string& server, int kind, std::string_view text, int saved_errno,
                     const redisReply* reply, std::string_view during = {});

// MapRedisError for a failure recorded in a hiredis context (nullptr: allocation failed).
Status ContextError(const std::string& server, const redisContext* c, int saved_errno,
                    std::string_view during = {});

// The hiredis reply as a Reply (nested error replies stay Reply::Error elements).
Result<Reply> ConvertReply(const std::string& server, const redisReply* r);

// The top-level reply of one command: an error reply becomes a Status.
Result<Reply> TopLevel(const std::string& server, const redisReply* r);

// Appends the RESP encoding of `cmd` (an array of bulk strings) to `out`.
void EncodeCommand(const Command& cmd, std::string* out);

// Writes all of `data` to the connection's socket. We write ourselves rather than through
// hiredis's output buffer: MSG_NOSIGNAL makes a peer that went away an EPIPE error instead of a
// process-killing SIGPIPE (hiredis 0.14 uses write()), and the batch is not copied again.
// SO_SNDTIMEO (the command timeout) bounds each send.
Status SendAll(const std::string& server, redisContext* c, std::string_view data,
               std::string_view during = {});

// Reads the next reply from the connection (blocking, bounded by SO_RCVTIMEO).
Status ReadReply(const std::string& server, redisContext* c, ReplyPtr* out,
                 std::string_view during = {});

// The per-thread buffer commands are encoded into, cleared (reused: no allocation per call;
// released after a batch of more than 4 MiB).
std::string& WireBuffer();

// True when an idle connection has something to read: the server closed it (EOF, reset) or
// sent something nobody asked for. Either way it cannot be used.
bool LooksDead(const redisContext* c);

}  // namespace stormkv::redis_internal

#endif  // STORMKV_BACKENDS_REDIS_REDIS_WIRE_H_
