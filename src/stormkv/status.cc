#include "stormkv/status.h"

#include <cstdio>
#include <cstdlib>

namespace stormkv {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kWrongType: return "wrong_type";
    case StatusCode::kOutOfMemory: return "out_of_memory";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kTimeout: return "timeout";
    case StatusCode::kScriptError: return "script_error";
    case StatusCode::kCorruption: return "corruption";
    case StatusCode::kServerError: return "server_error";
    case StatusCode::kInternal: return "internal";
  }
  return "unknown";
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, std::string(context) + ": " + message_);
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

namespace internal {

void DieOnValueOfError(const Status& status) {
  const std::string text = status.ToString();
  std::fprintf(stderr, "stormkv: Result::value() called on an error: %s\n", text.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace internal

}  // namespace stormkv
