#include <cstdio>
#include <cstdlib>

#include "fuzz_targets.h"

namespace stormkv::fuzz {

void PropertyFailed(const char* file, int line, const char* cond, const std::string& detail) {
  std::fprintf(stderr, "fuzz property failed: %s at %s:%d: %s\n", cond, file, line,
               detail.c_str());
  std::fflush(stderr);
  std::abort();
}

bool KnownIssue(const std::string& /*status_text*/) { return false; }

std::string Printable(std::string_view bytes, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (bytes.size() > max) out += "...(" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

}  // namespace stormkv::fuzz
