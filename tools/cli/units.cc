#include "units.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

namespace stormkv::cli {

std::string FormatPercent(double fraction) {
  double p = fraction * 100;
  char buf[32];
  if (p == 0) return "0%";
  if (std::fabs(p) >= 99.95 || std::fabs(p - std::round(p)) < 1e-9) {
    std::snprintf(buf, sizeof buf, "%.0f%%", p);
  } else if (std::fabs(p) >= 9.995) {
    std::snprintf(buf, sizeof buf, "%.1f%%", p);
  } else if (std::fabs(p) >= 0.01) {
    std::snprintf(buf, sizeof buf, "%.2f%%", p);
  } else {
    std::snprintf(buf, sizeof buf, "<0.01%%");
  }
  return buf;
}

std::string FormatCount(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  int c = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (c > 0 && c % 3 == 0) out += ',';
    out += *it;
    ++c;
  }
  if (n < 0) out += '-';
  return std::string(out.rbegin(), out.rend());
}

}  // namespace stormkv::cli
