#include "stormkv/byte_size.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

namespace stormkv {

Result<int64_t> ParseByteSize(std::string_view text) {
  std::string s;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) s += static_cast<char>(std::tolower(c));
  }
  auto bad = [&] {
    return Status::InvalidArgument("invalid memory size '" + std::string(text) +
                                   "': use a number of bytes or a unit like 100kb, 256mb, 2gb");
  };
  std::size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  if (digits == 0) return bad();
  std::string_view unit = std::string_view(s).substr(digits);
  int64_t mul = 0;
  if (unit.empty() || unit == "b")
    mul = 1;
  else if (unit == "k")
    mul = 1000;
  else if (unit == "kb" || unit == "kib")
    mul = 1024;
  else if (unit == "m")
    mul = 1000 * 1000;
  else if (unit == "mb" || unit == "mib")
    mul = 1024 * 1024;
  else if (unit == "g")
    mul = 1000LL * 1000 * 1000;
  else if (unit == "gb" || unit == "gib")
    mul = 1024LL * 1024 * 1024;
  else
    return bad();
  int64_t n = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    int d = s[i] - '0';
    if (n > (std::numeric_limits<int64_t>::max() - d) / 10) return bad();
    n = n * 10 + d;
  }
  if (n > std::numeric_limits<int64_t>::max() / mul) return bad();
  return n * mul;
}

std::string FormatBytes(int64_t bytes) {
  static const char* kUnits[] = {"KB", "MB", "GB", "TB", "PB"};
  const char* sign = bytes < 0 ? "-" : "";
  double v = std::fabs(static_cast<double>(bytes));
  if (v < 1024) return sign + std::to_string(static_cast<int64_t>(v)) + " B";
  int u = -1;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[48];
  int decimals = v >= 99.95 ? 0 : v >= 9.995 ? 1 : 2;
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string num = buf;
  if (num.find('.') != std::string::npos) {
    while (num.back() == '0') num.pop_back();
    if (num.back() == '.') num.pop_back();
  }
  return sign + num + " " + kUnits[u];
}

}  // namespace stormkv
