// Private to src/stormkv/server: the small text helpers both halves of the dispatcher use
// (dispatcher.cc: keyspace and connection commands; dispatcher_tx.cc: EXEC, scripts, clock).
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "stormkv/status.h"

namespace stormkv::server::text {

// ASCII case-insensitive equality (command and option names).
inline bool IEq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

inline std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// A whole signed 64-bit decimal integer, as Redis's string2ll accepts it: no sign-only, no spaces,
// no trailing bytes.
inline bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// An error Status from the backend back into an error reply's text: Redis's text (it starts with an
// upper-case code such as WRONGTYPE or OOM) is kept as it is; a transport or internal failure gets
// an ERR prefix.
inline std::string ErrorText(const Status& s) {
  const std::string& m = s.message();
  size_t sp = m.find(' ');
  std::string_view word(m.data(), sp == std::string::npos ? m.size() : sp);
  bool code = !word.empty() && std::all_of(word.begin(), word.end(), [](char ch) {
    return std::isupper(static_cast<unsigned char>(ch)) || ch == '_';
  });
  return code ? m : "ERR " + m;
}

}  // namespace stormkv::server::text
