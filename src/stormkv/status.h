// stormkv/status.h — Status and Result<T>: errors as values at every API boundary.
//
// A Status is ok, or a code plus a human-readable message. Messages that come from a Redis
// server (or from the memory backend imitating one) keep the server's exact text, e.g.
// "OOM command not allowed when used memory > 'maxmemory'." — callers may show it as is.
// Messages never contain credentials.
#ifndef STORMKV_STATUS_H_
#define STORMKV_STATUS_H_

#include <cassert>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace stormkv {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad command/arguments: "ERR syntax error", wrong arity, not an integer, bad URL...
  kWrongType,        // "WRONGTYPE Operation against a key holding the wrong kind of value"
  kOutOfMemory,      // maxmemory reached ("OOM command not allowed ..."), or a shared segment is full
  kUnavailable,      // server unusable now: refused, reset, LOADING, READONLY, CLUSTERDOWN; retry may work
  kTimeout,          // connect or command timeout elapsed
  kScriptError,      // a script failed (NOSCRIPT after retry, BUSY, a runtime error inside the script)
  kCorruption,       // a stored record cannot be decoded (e.g. json-meta value that is not JSON)
  kServerError,      // any other error reply from the server ("NOPERM ...", "MOVED ...", "EXECABORT ...")
  kInternal,         // a bug or an impossible state in stormkv itself
};

// Stable lower-case name of a code, e.g. "wrong_type"; used in logs and JSON output.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status WrongType(std::string m) { return {StatusCode::kWrongType, std::move(m)}; }
  static Status OutOfMemory(std::string m) { return {StatusCode::kOutOfMemory, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
  static Status ScriptError(std::string m) { return {StatusCode::kScriptError, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status ServerError(std::string m) { return {StatusCode::kServerError, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsInvalidArgument() const { return code_ == StatusCode::kInvalidArgument; }
  bool IsWrongType() const { return code_ == StatusCode::kWrongType; }
  bool IsOutOfMemory() const { return code_ == StatusCode::kOutOfMemory; }
  bool IsUnavailable() const { return code_ == StatusCode::kUnavailable; }
  bool IsTimeout() const { return code_ == StatusCode::kTimeout; }
  bool IsScriptError() const { return code_ == StatusCode::kScriptError; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }

  // Adds context in front of the message: "dedup: " + message. No-op on ok.
  Status WithContext(std::string_view context) const;

  // "ok" or "<code name>: <message>".
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline std::ostream& operator<<(std::ostream& os, const Status& s) { return os << s.ToString(); }

namespace internal {
// Writes "stormkv: Result::value() called on an error: <status>" to stderr and aborts. Called
// by Result's accessors in every build type (Release included), so the bug is a clear crash
// naming the error, never undefined behaviour.
[[noreturn]] void DieOnValueOfError(const Status& status);
}  // namespace internal

// A value or a non-ok Status. Accessing value() (or *, ->) of an error is a bug: the process
// aborts with the status text, in every build type.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result constructed from an ok Status without a value");
    if (status_.ok()) status_ = Status::Internal("Result constructed from an ok Status");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & {
    CheckValue();
    return *value_;
  }
  const T& value() const& {
    CheckValue();
    return *value_;
  }
  T&& value() && {
    CheckValue();
    return std::move(*value_);
  }
  T value_or(T fallback) const { return ok() ? *value_ : std::move(fallback); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void CheckValue() const {
    if (!status_.ok()) internal::DieOnValueOfError(status_);
  }

  Status status_;
  std::optional<T> value_;
};

}  // namespace stormkv

// Returns the Status of `expr` from the enclosing function when it is not ok.
#define STORMKV_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::stormkv::Status stormkv_status_ = (expr);  \
    if (!stormkv_status_.ok()) return stormkv_status_; \
  } while (0)

#endif  // STORMKV_STATUS_H_
