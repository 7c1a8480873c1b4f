// JsonNestingExceededAt (json_text.h), which visits only the bytes that matter, against the
// byte-by-byte state machine it replaced, on random texts of brackets, quotes, backslashes and
// filler (JSON or not), cut at every length around the 16-byte blocks, for several depth caps.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

#include "stormkv/gateway/json_text.h"

namespace stormkv {
namespace {

std::size_t Reference(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

TEST(JsonNesting, EqualsTheByteByByteScanOnRandomTexts) {
  std::mt19937 rng(18);
  static const char kBytes[] = {'[', ']', '{', '}', '"', '\\', 'a', ' ', ':', ',', '\n',
                                ';', '\x7b' ^ 0x20, '\x7d' ^ 0x20, '\xdb', '\xfb', '\0'};
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const int n = std::uniform_int_distribution<int>(0, 80)(rng);
    for (int i = 0; i < n; ++i) {
      text += kBytes[std::uniform_int_distribution<int>(0, sizeof kBytes - 1)(rng)];
    }
    const std::size_t cap = std::uniform_int_distribution<std::size_t>(0, 6)(rng);
    ASSERT_EQ(JsonNestingExceededAt(text, cap), Reference(text, cap))
        << "round " << round << " cap " << cap << " text '" << text << "'";
  }
}

TEST(JsonNesting, FindsTheFirstTooDeepBracketAtEveryOffset) {
  for (std::size_t pad = 0; pad < 40; ++pad) {
    // Strings whose escapes straddle the 16-byte blocks, brackets inside strings ignored.
    const std::string text = std::string(pad, ' ') + "{\"a\\\"[[\\\\\":[{\"x\":\"\\\\\\\"{{{\"}," +
                             std::string(pad % 7, ' ') + "[[[1]]]]}";
    for (std::size_t cap = 0; cap < 7; ++cap) {
      ASSERT_EQ(JsonNestingExceededAt(text, cap), Reference(text, cap)) << pad << " " << cap;
    }
  }
  EXPECT_EQ(JsonNestingExceededAt("[[[]]]", 3), std::string_view::npos);
  EXPECT_EQ(JsonNestingExceededAt("[[[[]]]]", 3), 3u);
}

}  // namespace
}  // namespace stormkv
