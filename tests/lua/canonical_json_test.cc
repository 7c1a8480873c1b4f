// The JSON layouts' one encoder, matched byte for byte (label `lua`, no Redis): for thousands of
// generated texts — valid JSON, cjson's leniencies (raw control bytes, \xff, 0x10, +1, inf, a
// NUL ending the text) and broken text — the Lua side (lua-cjson's cjson.decode, the same as
// Redis's on the whole fidelity corpus, then lua/prelude/canonical_json.lua's encode) and the
// C++ side the native twins use (DecodeLikeCjson, then CanonicalJsonText) agree: both refuse, or
// both produce the same bytes. The seed is gtest's.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "lua/plain_lua.h"
#include "stormkv/gateway/json_text.h"

namespace stormkv::testing_lua {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string LuaLiteral(const std::string& bytes) {
  std::string out = "\"";
  for (unsigned char c : bytes) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\%03d", c);
    out += buf;
  }
  return out + "\"";
}

class TextGen {
 public:
  explicit TextGen(uint32_t seed) : rng_(seed) {}
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::string Pick(std::initializer_list<const char*> v) { return *(v.begin() + Int(0, static_cast<int>(v.size()) - 1)); }

  std::string Value(int depth) {
    switch (Int(0, depth > 0 ? 7 : 4)) {
      case 0: return Pick({"0", "-0", "1", "-1.5", "1e3", "1E-7", "0.1", "123456789012345678", "1e400",
                           "0x10", "-0x1f", "007", "+1", "1.", "-.5", "inf", "-Infinity", "nan", "2.5e+2",
                           "9007199254740993", "3.14159265358979323", "1e-320"});
      case 1: {
        std::string s = "\"";
        const int n = Int(0, 6);
        for (int i = 0; i < n; ++i) {
          s += Pick({"a", "Z", " ", "\t", "\x10", "\x01", "\x7f", "\xff", "\xc3\xa9", "\\n", "\\\"", "\\\\",
                     "\\/", "\\u00e9", "\\u0000", "\\ud83d\\ude00", "\\b", "#", "{", "]"});
        }
        return s + "\"";
      }
      case 2: return Pick({"true", "false", "null"});
      case 3: return Pick({"[]", "{}", "\"\""});
      case 4: return Pick({"1", "\"k\"", "null"});
      case 5:
      case 6: {
        std::string s = "[";
        const int n = Int(0, 4);
        for (int i = 0; i < n; ++i) s += (i ? Pick({",", ", ", " ,\n"}) : "") + Value(depth - 1);
        return s + "]";
      }
      default: {
        std::string s = "{";
        const int n = Int(0, 4);
        for (int i = 0; i < n; ++i) {
          s += (i ? "," : "") + Pick({"\"a\"", "\"b\"", "\"\"", "\"a\"", "\"\\u0041\"", "\"\xff\"", "\"k\tk\""}) +
               Pick({":", " : "}) + Value(depth - 1);
        }
        return s + "}";
      }
    }
  }

  // Valid-looking text, sometimes broken: a byte changed, cut short, something appended.
  std::string Text() {
    std::string t = Pick({"", " ", "\n"}) + Value(Int(0, 4)) + Pick({"", " ", "\r\n"});
    switch (Int(0, 9)) {
      case 0: if (!t.empty()) t[static_cast<std::size_t>(Int(0, static_cast<int>(t.size()) - 1))] = static_cast<char>(Int(0, 255)); break;
      case 1: t = t.substr(0, static_cast<std::size_t>(Int(0, static_cast<int>(t.size())))); break;
      case 2: t += Pick({",", "x", "]", " 1"}); break;
      case 3: t += std::string(1, '\0') + "garbage"; break;
      case 4: t = Pick({"\f", "\v", ""}) + t; break;
      default: break;
    }
    return t;
  }

 private:
  std::mt19937 rng_;
};

TEST(CanonicalJson, LuaPreludeAndCppEncoderAgreeOnWhatCjsonDecodes) {
  const std::string prelude = ReadFile(std::string(STORMKV_SOURCE_DIR) + "/lua/prelude/canonical_json.lua");
  ASSERT_NE(prelude.find("local function encode("), std::string::npos);
  const uint32_t seed = static_cast<uint32_t>(::testing::UnitTest::GetInstance()->random_seed());
  TextGen gen(seed);
  int decoded = 0, refused = 0, differ = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string text = i == 0 ? std::string(1001, '[') : gen.Text();
    Result<Reply> lua = RunPlainLua(prelude + "\nlocal ok, v = pcall(cjson.decode, " + LuaLiteral(text) +
                                    ")\nif not ok then return false end\nreturn encode(v)\n");
    ASSERT_TRUE(lua.ok()) << lua.status().message();
    std::optional<nlohmann::json> v = DecodeLikeCjson(text);
    const std::optional<std::string> cpp = v ? std::optional<std::string>(CanonicalJsonText(*v)) : std::nullopt;
    const std::optional<std::string> want = lua->is_bulk() ? std::optional<std::string>(lua->str()) : std::nullopt;
    (want ? decoded : refused)++;
    if (cpp != want && ++differ <= 10) {
      ADD_FAILURE() << "seed " << seed << " text " << LuaLiteral(text) << "\n lua: " << (want ? *want : "(refused)")
                    << "\n c++: " << (cpp ? *cpp : "(refused)");
    }
  }
  EXPECT_EQ(differ, 0);
  // Both kinds must be well represented, or agreement proves little.
  EXPECT_GT(decoded, 1000);
  EXPECT_GT(refused, 300);
}

}  // namespace
}  // namespace stormkv::testing_lua
