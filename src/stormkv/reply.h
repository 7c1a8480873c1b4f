// stormkv/reply.h — a Redis-shaped value (RESP2): nil, integer, bulk string, status, error, array.
//
// Backends return a Reply for every successful command. A top-level error reply is turned into
// a non-ok Status by the backend (see kv_backend.h); Reply::Error only appears nested, e.g. as
// one element of a pipelined batch or of a script's returned table.
#ifndef STORMKV_REPLY_H_
#define STORMKV_REPLY_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace stormkv {

class Reply {
 public:
  enum class Type { kNil, kInteger, kBulk, kStatus, kError, kArray };

  Reply() = default;  // nil
  static Reply Nil() { return Reply(); }
  static Reply Integer(int64_t v) { Reply r; r.type_ = Type::kInteger; r.integer_ = v; return r; }
  static Reply Bulk(std::string s) { Reply r; r.type_ = Type::kBulk; r.str_ = std::move(s); return r; }
  static Reply StatusText(std::string s) { Reply r; r.type_ = Type::kStatus; r.str_ = std::move(s); return r; }
  static Reply Ok() { return StatusText("OK"); }
  static Reply Error(std::string s) { Reply r; r.type_ = Type::kError; r.str_ = std::move(s); return r; }
  static Reply Array(std::vector<Reply> v) { Reply r; r.type_ = Type::kArray; r.elements_ = std::move(v); return r; }

  Type type() const { return type_; }
  bool is_nil() const { return type_ == Type::kNil; }
  bool is_integer() const { return type_ == Type::kInteger; }
  bool is_bulk() const { return type_ == Type::kBulk; }
  bool is_status() const { return type_ == Type::kStatus; }
  bool is_error() const { return type_ == Type::kError; }
  bool is_array() const { return type_ == Type::kArray; }

  // REQUIRES: is_integer().
  int64_t integer() const { return integer_; }
  // Text of a bulk, status or error reply; empty for other types.
  const std::string& str() const { return str_; }
  // Elements of an array reply; empty for other types.
  const std::vector<Reply>& elements() const { return elements_; }
  std::vector<Reply>& elements() { return elements_; }

  // Bulk or status text as an optional; nullopt for nil (and for other types).
  std::optional<std::string> AsOptionalString() const;

  // redis-cli-like rendering for test failures and logs: (nil), (integer) 1, "bulk", OK,
  // (error) ERR ..., [a, b].
  std::string ToString() const;

  friend bool operator==(const Reply& a, const Reply& b);
  friend bool operator!=(const Reply& a, const Reply& b) { return !(a == b); }

 private:
  Type type_ = Type::kNil;
  int64_t integer_ = 0;
  std::string str_;
  std::vector<Reply> elements_;
};

inline std::ostream& operator<<(std::ostream& os, const Reply& r) { return os << r.ToString(); }

}  // namespace stormkv

#endif  // STORMKV_REPLY_H_
