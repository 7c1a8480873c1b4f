// stormkv/server/resp.h — the RESP wire format as a Redis 7.0 server speaks it: an incremental
// request parser (multibulk and inline commands) and a reply writer for RESP2 and RESP3.
//
// Private to the server library (not installed).
#ifndef STORMKV_SERVER_RESP_H_
#define STORMKV_SERVER_RESP_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/reply.h"

namespace stormkv::server {

struct RespLimits {
  // proto-max-bulk-len: the largest bulk argument accepted (Redis 7.0 default 512 MB).
  int64_t max_bulk_len = int64_t{512} * 1024 * 1024;
  // client-query-buffer-limit: the most bytes one client may have buffered unparsed (1 GB).
  int64_t max_query_buffer = int64_t{1024} * 1024 * 1024;
  // Redis's PROTO_INLINE_MAX_SIZE: an inline command line longer than this is refused.
  int64_t max_inline = 64 * 1024;
  // Redis 7.0 refuses a multibulk count above 1024*1024*1024 with "invalid multibulk length".
  int64_t max_multibulk = int64_t{1024} * 1024 * 1024;
};

// Parses requests from the bytes a client sent, as Redis's processInputBuffer does: a request
// starting with '*' is a multibulk array of bulk strings; anything else is an inline command
// split on whitespace with Redis's quoting rules ("..." with \n \xHH escapes, '...').
// Feed() appends bytes; Next() yields complete commands in order.
class RespParser {
 public:
  enum class Outcome {
    kCommand,     // *out holds one command (possibly empty: an empty inline line is skipped)
    kNeedMore,    // no complete command buffered yet
    kProtocolError,  // error() holds Redis's text ("Protocol error: ..."); the client must be
                     // sent it and closed, as Redis does
  };

  explicit RespParser(RespLimits limits = {}) : limits_(limits) {}

  void Feed(const char* data, size_t n) { buf_.append(data, n); }
  // Bytes buffered and not yet consumed (the client's query buffer).
  size_t buffered() const { return buf_.size() - pos_; }
  // True when the query buffer exceeds max_query_buffer (Redis closes such a client).
  bool OverQueryLimit() const { return static_cast<int64_t>(buffered()) > limits_.max_query_buffer; }

  // A multibulk command is swapped into *out; the strings *out held before (the caller's
  // previous command, which it need not clear) are kept and assigned over by the next commands,
  // so a stream of similar commands allocates nothing per command.
  Outcome Next(std::vector<std::string>* out);
  // Frees the kept strings (call when a batch of reads is done, so an idle client holds none).
  void ReleaseSpare();
  const std::string& error() const { return error_; }
  // True when the last command came from an inline line (Redis answers errors the same way).
  bool last_inline() const { return last_inline_; }

 private:
  Outcome ParseMultibulk(std::vector<std::string>* out);
  Outcome ParseInline(std::vector<std::string>* out);
  Outcome Fail(std::string text);
  void Compact();

  RespLimits limits_;
  std::string buf_;
  size_t pos_ = 0;
  // Multibulk state that survives a partial read (so a huge argument is not re-scanned).
  int64_t pending_args_ = -1;  // -1: no multibulk in progress
  int64_t pending_bulk_ = -1;  // -1: waiting for a $ header
  std::vector<std::string> partial_;  // the command being parsed: its first filled_ strings
  size_t filled_ = 0;
  std::string error_;
  bool last_inline_ = false;
};

// Splits an inline command line with Redis's rules (sdssplitargs). false on unbalanced quotes.
bool SplitInlineArgs(std::string_view line, std::vector<std::string>* out);

// Appends replies to an output buffer in RESP2 or RESP3.
class RespWriter {
 public:
  explicit RespWriter(std::string* out, int proto = 2) : out_(out), proto_(proto) {}
  int proto() const { return proto_; }
  std::string* buffer() const { return out_; }

  void Write(const Reply& r);
  void Status(std::string_view s);
  void Error(std::string_view s);
  void Integer(int64_t v);
  void Bulk(std::string_view s);
  void Nil();            // RESP2 $-1, RESP3 _
  void NilArray();       // RESP2 *-1, RESP3 _
  void ArrayHeader(size_t n);
  void MapHeader(size_t n);   // RESP2: an array of 2n elements
  void SetHeader(size_t n);   // RESP2: an array
  void Double(double d);      // RESP2: a bulk string as Redis formats it
  void Bool(bool b);          // RESP2: integer 0/1
  void Verbatim(std::string_view s);  // RESP3 "txt" verbatim string; RESP2 bulk

 private:
  void Header(char type, int64_t n);
  std::string* out_;
  int proto_;
};

// Redis's reply text for a double in RESP3 / bulk form (%.17g, inf, -inf, nan).
std::string FormatDouble(double d);

}  // namespace stormkv::server

#endif  // STORMKV_SERVER_RESP_H_
