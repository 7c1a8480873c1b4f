#include "stormkv/server/resp.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace stormkv::server {
namespace {

// Redis refuses a '*' or '$' count line longer than this (no CRLF found within it).
constexpr size_t kMaxCountLine = 1024 * 1024;

bool ParseLength(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  int64_t v = 0;
  auto r = std::from_chars(b, e, v);
  if (r.ec != std::errc() || r.ptr != e) return false;
  // Redis's string2ll refuses "+1" and leading zeros other than "0" itself.
  if (s[0] == '+' || (s.size() > 1 && s[0] == '0') || (s.size() > 2 && s[0] == '-' && s[1] == '0')) {
    return false;
  }
  *out = v;
  return true;
}

// The common count line: "<digits>\r\n" at p (just after the '*' or '$'), canonical (no leading
// zero but "0" itself, at most 18 digits) and complete. Its value in *v and its length with the
// CRLF; 0 for anything else, which the general path (memchr, ParseLength) then decides alike.
size_t FastCount(const char* p, const char* end, int64_t* v) {
  const char* q = p;
  int64_t x = 0;
  while (q < end && q - p < 18 && *q >= '0' && *q <= '9') x = x * 10 + (*q++ - '0');
  if (q == p || end - q < 2 || q[0] != '\r' || q[1] != '\n') return 0;
  if (*p == '0' && q - p > 1) return 0;
  *v = x;
  return static_cast<size_t>(q + 2 - p);
}

// A count line at base (its marker, '*' or '$', at base[0]; `avail` >= 1 bytes there), read by
// FastCount when canonical, else by memchr for the CR and ParseLength. kOk: *v holds its value
// and *used its length (CRLF included); kBad: it is complete (*used set) but no length;
// kNeedMore: incomplete; kTooBig: no CR within kMaxCountLine bytes.
enum class CountLine { kOk, kBad, kNeedMore, kTooBig };
CountLine ReadCountLine(const char* base, size_t avail, int64_t* v, size_t* used) {
  if (size_t n = FastCount(base + 1, base + avail, v)) {
    *used = 1 + n;
    return CountLine::kOk;
  }
  const void* cr = std::memchr(base, '\r', avail);
  if (!cr) return avail > kMaxCountLine ? CountLine::kTooBig : CountLine::kNeedMore;
  const size_t len = static_cast<const char*>(cr) - base;
  if (len + 1 >= avail) return CountLine::kNeedMore;  // the '\n' has not arrived
  *used = len + 2;
  return ParseLength(std::string_view(base + 1, len - 1), v) ? CountLine::kOk : CountLine::kBad;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f'; }

}  // namespace

bool SplitInlineArgs(std::string_view line, std::vector<std::string>* out) {
  out->clear();
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    while (i < n && IsSpace(line[i])) ++i;
    if (i >= n) return true;
    std::string cur;
    bool in_dq = false, in_sq = false, done = false;
    while (!done) {
      if (in_dq) {
        if (i >= n) return false;  // unterminated quotes
        char c = line[i];
        if (c == '\\' && i + 3 < n && line[i + 1] == 'x' && HexValue(line[i + 2]) >= 0 &&
            HexValue(line[i + 3]) >= 0) {
          cur.push_back(static_cast<char>(HexValue(line[i + 2]) * 16 + HexValue(line[i + 3])));
          i += 3;
        } else if (c == '\\' && i + 1 < n) {
          ++i;
          switch (line[i]) {
            case 'n': cur.push_back('\n'); break;
            case 'r': cur.push_back('\r'); break;
            case 't': cur.push_back('\t'); break;
            case 'b': cur.push_back('\b'); break;
            case 'a': cur.push_back('\a'); break;
            default: cur.push_back(line[i]); break;
          }
        } else if (c == '"') {
          // A closing quote must be followed by a space or the end.
          if (i + 1 < n && !IsSpace(line[i + 1])) return false;
          done = true;
        } else {
          cur.push_back(c);
        }
      } else if (in_sq) {
        if (i >= n) return false;
        char c = line[i];
        if (c == '\\' && i + 1 < n && line[i + 1] == '\'') {
          ++i;
          cur.push_back('\'');
        } else if (c == '\'') {
          if (i + 1 < n && !IsSpace(line[i + 1])) return false;
          done = true;
        } else {
          cur.push_back(c);
        }
      } else {
        if (i >= n) {
          done = true;
          break;
        }
        char c = line[i];
        if (IsSpace(c)) {
          done = true;
        } else if (c == '"') {
          in_dq = true;
        } else if (c == '\'') {
          in_sq = true;
        } else {
          cur.push_back(c);
        }
      }
      if (i < n) ++i;
    }
    out->push_back(std::move(cur));
  }
}

RespParser::Outcome RespParser::Fail(std::string text) {
  error_ = std::move(text);
  return Outcome::kProtocolError;
}

void RespParser::Compact() {
  // Drop consumed bytes once they dominate the buffer (amortised O(1) per byte).
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ > 64 * 1024)) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

void RespParser::ReleaseSpare() {
  if (pending_args_ < 0) {
    partial_.clear();
    if (partial_.capacity() > 64) std::vector<std::string>().swap(partial_);
  }
}

RespParser::Outcome RespParser::Next(std::vector<std::string>* out) {
  while (true) {
    Compact();
    if (pending_args_ < 0) {
      if (pos_ >= buf_.size()) return Outcome::kNeedMore;
      if (buf_[pos_] != '*') {
        Outcome o = ParseInline(out);
        if (o == Outcome::kCommand && out->empty()) continue;  // an empty line
        return o;
      }
    }
    Outcome o = ParseMultibulk(out);
    if (o == Outcome::kCommand && out->empty()) continue;  // "*0" or "*-1": nothing to run
    return o;
  }
}

RespParser::Outcome RespParser::ParseInline(std::vector<std::string>* out) {
  const char* base = buf_.data() + pos_;
  size_t avail = buf_.size() - pos_;
  const void* nl = std::memchr(base, '\n', avail);
  if (!nl) {
    if (static_cast<int64_t>(avail) > limits_.max_inline) {
      return Fail("Protocol error: too big inline request");
    }
    return Outcome::kNeedMore;
  }
  size_t len = static_cast<const char*>(nl) - base;
  std::string_view line(base, len);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!SplitInlineArgs(line, out)) return Fail("Protocol error: unbalanced quotes in request");
  pos_ += len + 1;
  last_inline_ = true;
  return Outcome::kCommand;
}

RespParser::Outcome RespParser::ParseMultibulk(std::vector<std::string>* out) {
  if (pending_args_ < 0) {
    int64_t count = 0;
    size_t used = 0;
    switch (ReadCountLine(buf_.data() + pos_, buf_.size() - pos_, &count, &used)) {
      case CountLine::kNeedMore:
        return Outcome::kNeedMore;
      case CountLine::kTooBig:
        return Fail("Protocol error: too big mbulk count string");
      case CountLine::kBad:
        return Fail("Protocol error: invalid multibulk length");
      case CountLine::kOk:
        break;
    }
    if (count > limits_.max_multibulk || count > INT32_MAX) {
      return Fail("Protocol error: invalid multibulk length");
    }
    pos_ += used;
    last_inline_ = false;
    if (count <= 0) {
      out->clear();
      return Outcome::kCommand;
    }
    pending_args_ = count;
    pending_bulk_ = -1;
    filled_ = 0;  // partial_ keeps the strings of an earlier command: assigned over, not freed
    if (partial_.capacity() < static_cast<size_t>(std::min<int64_t>(count, 1024))) {
      partial_.reserve(static_cast<size_t>(std::min<int64_t>(count, 1024)));
    }
  }
  while (pending_args_ > 0) {
    if (pending_bulk_ < 0) {
      const char* base = buf_.data() + pos_;
      const size_t avail = buf_.size() - pos_;
      if (avail == 0) return Outcome::kNeedMore;
      int64_t bulk = 0;
      size_t used = 0;
      const CountLine line = ReadCountLine(base, avail, &bulk, &used);
      if (line == CountLine::kNeedMore) return Outcome::kNeedMore;
      if (line == CountLine::kTooBig) return Fail("Protocol error: too big bulk count string");
      if (base[0] != '$') {
        return Fail(std::string("Protocol error: expected '$', got '") + base[0] + "'");
      }
      if (line == CountLine::kBad || bulk < 0 || bulk > limits_.max_bulk_len) {
        return Fail("Protocol error: invalid bulk length");
      }
      pos_ += used;
      pending_bulk_ = bulk;
    }
    size_t need = static_cast<size_t>(pending_bulk_) + 2;
    if (buf_.size() - pos_ < need) {
      // Reserve once for a big argument so appends do not reallocate repeatedly.
      if (buf_.capacity() < pos_ + need) buf_.reserve(pos_ + need);
      return Outcome::kNeedMore;
    }
    if (filled_ < partial_.size()) {
      partial_[filled_].assign(buf_.data() + pos_, static_cast<size_t>(pending_bulk_));
    } else {
      partial_.emplace_back(buf_.data() + pos_, static_cast<size_t>(pending_bulk_));
    }
    ++filled_;
    pos_ += need;  // Redis does not check the trailing CRLF bytes themselves
    pending_bulk_ = -1;
    --pending_args_;
  }
  pending_args_ = -1;
  partial_.resize(filled_);
  // *out's strings (the caller's previous command) come back for the next command to reuse.
  out->swap(partial_);
  return Outcome::kCommand;
}

// ---- writer ----------------------------------------------------------------------------------

std::string FormatDouble(double d) {
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (std::isnan(d)) return "nan";
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%.17g", d);
  return std::string(buf, static_cast<size_t>(n));
}

void RespWriter::Header(char type, int64_t n) {
  char buf[24];
  buf[0] = type;
  auto r = std::to_chars(buf + 1, buf + sizeof buf - 2, n);
  *r.ptr++ = '\r';
  *r.ptr++ = '\n';
  out_->append(buf, static_cast<size_t>(r.ptr - buf));
}

void RespWriter::Status(std::string_view s) {
  out_->push_back('+');
  out_->append(s);
  out_->append("\r\n");
}

void RespWriter::Error(std::string_view s) {
  out_->push_back('-');
  // An error text never spans lines on the wire (Redis replaces newlines with spaces).
  for (char c : s) out_->push_back(c == '\r' || c == '\n' ? ' ' : c);
  out_->append("\r\n");
}

void RespWriter::Integer(int64_t v) { Header(':', v); }

void RespWriter::Bulk(std::string_view s) {
  Header('$', static_cast<int64_t>(s.size()));
  out_->append(s);
  out_->append("\r\n");
}

void RespWriter::Nil() { out_->append(proto_ == 3 ? "_\r\n" : "$-1\r\n"); }
void RespWriter::NilArray() { out_->append(proto_ == 3 ? "_\r\n" : "*-1\r\n"); }
void RespWriter::ArrayHeader(size_t n) { Header('*', static_cast<int64_t>(n)); }
void RespWriter::MapHeader(size_t n) {
  if (proto_ == 3) {
    Header('%', static_cast<int64_t>(n));
  } else {
    Header('*', static_cast<int64_t>(2 * n));
  }
}
void RespWriter::SetHeader(size_t n) { Header(proto_ == 3 ? '~' : '*', static_cast<int64_t>(n)); }

void RespWriter::Double(double d) {
  std::string s = FormatDouble(d);
  if (proto_ == 3) {
    out_->push_back(',');
    out_->append(s);
    out_->append("\r\n");
  } else {
    Bulk(s);
  }
}

void RespWriter::Bool(bool b) {
  if (proto_ == 3) {
    out_->append(b ? "#t\r\n" : "#f\r\n");
  } else {
    Integer(b ? 1 : 0);
  }
}

void RespWriter::Verbatim(std::string_view s) {
  if (proto_ == 3) {
    Header('=', static_cast<int64_t>(s.size() + 4));
    out_->append("txt:");
    out_->append(s);
    out_->append("\r\n");
  } else {
    Bulk(s);
  }
}

void RespWriter::Write(const Reply& r) {
  switch (r.type()) {
    case Reply::Type::kNil: Nil(); break;
    case Reply::Type::kInteger: Integer(r.integer()); break;
    case Reply::Type::kBulk: Bulk(r.str()); break;
    case Reply::Type::kStatus: Status(r.str()); break;
    case Reply::Type::kError: Error(r.str()); break;
    case Reply::Type::kArray:
      ArrayHeader(r.elements().size());
      for (const Reply& e : r.elements()) Write(e);
      break;
  }
}

}  // namespace stormkv::server
