#include "stormkv/script.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "stormkv/lua_sources.h"

namespace stormkv {
namespace {

// Checked with real Redis 7.0:
//   printf 'local n = redis.call("INCR", KEYS[1])\nreturn n\n' | redis-cli -x SCRIPT LOAD
constexpr char kIncrLua[] = "local n = redis.call(\"INCR\", KEYS[1])\nreturn n\n";
constexpr char kIncrSha[] = "28d3f3e9fc45898b0109537ed9d3f0c6f1b542ed";
//   redis-cli SCRIPT LOAD 'return ARGV[1]'
constexpr char kEchoSha[] = "098e0f0d1448c0a81dafe820f66d460eb09263da";

Result<Reply> EchoTwin(ScriptContext&, const std::vector<std::string>&,
                       const std::vector<std::string>& args) {
  return Reply::Bulk(args.at(0));
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(DigestTest, KnownVectors) {
  EXPECT_EQ(Sha1Hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha1Hex(std::string("a\0b", 3)), Sha1Hex(std::string("a\0b", 3)));
  EXPECT_NE(Sha1Hex(std::string("a\0b", 3)), Sha1Hex("a"));
}

TEST(ScriptTest, Sha1MatchesRedisScriptLoad) {
  Script incr("unit-incr", kIncrLua, EchoTwin);
  EXPECT_EQ(incr.sha1(), kIncrSha);
  Script echo("unit-echo", "return ARGV[1]", EchoTwin, /*read_only=*/true);
  EXPECT_EQ(echo.sha1(), kEchoSha);
  EXPECT_EQ(echo.name(), "unit-echo");
  EXPECT_EQ(echo.lua(), "return ARGV[1]");
  EXPECT_TRUE(echo.read_only());
  EXPECT_FALSE(incr.read_only());
}

class NoCalls final : public ScriptContext {
 public:
  Result<Reply> Call(const Command&) override { return Status::Internal("unexpected call"); }
};

TEST(ScriptTest, TwinReceivesKeysAndArgs) {
  Script echo("unit-echo", "return ARGV[1]", EchoTwin);
  NoCalls ctx;
  ASSERT_OK_AND_ASSIGN(Reply r, echo.native_twin()(ctx, {}, {"hello"}));
  EXPECT_EQ(r, Reply::Bulk("hello"));
}

TEST(ScriptRegistryTest, RegisterAndFind) {
  ScriptRegistry reg;
  EXPECT_EQ(reg.Find("b"), nullptr);
  EXPECT_TRUE(reg.All().empty());
  const Script& b = reg.Register(Script("b", "return 2", EchoTwin));
  const Script& a = reg.Register(Script("a", "return 1", EchoTwin));
  EXPECT_EQ(reg.Find("a"), &a);
  EXPECT_EQ(reg.Find("b"), &b);
  EXPECT_EQ(reg.Find("c"), nullptr);
  EXPECT_EQ(reg.Find(""), nullptr);
  EXPECT_EQ(b.lua(), "return 2");
  EXPECT_EQ(b.sha1(), Sha1Hex("return 2"));
  std::vector<const Script*> all = reg.All();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], &a);  // ordered by name
  EXPECT_EQ(all[1], &b);
  // Addresses stay stable while more scripts register.
  for (int i = 0; i < 100; ++i) {
    std::string name = "s", lua = "return ";
    name += std::to_string(i);
    lua += std::to_string(i);
    reg.Register(Script(name, lua, EchoTwin));
  }
  EXPECT_EQ(reg.Find("a"), &a);
  EXPECT_EQ(reg.All().size(), 102u);
}

TEST(ScriptRegistryTest, SameNameSameTextReturnsTheFirstInstance) {
  ScriptRegistry reg;
  const Script& first = reg.Register(Script("x", "return 1", EchoTwin, /*read_only=*/true));
  const Script& again = reg.Register(Script("x", "return 1", EchoTwin, /*read_only=*/false));
  EXPECT_EQ(&first, &again);
  EXPECT_TRUE(again.read_only());
  EXPECT_EQ(reg.All().size(), 1u);
}

TEST(ScriptRegistryDeathTest, SameNameDifferentTextAborts) {
  EXPECT_DEATH(
      {
        ScriptRegistry reg;
        reg.Register(Script("x", "return 1", EchoTwin));
        reg.Register(Script("x", "return 2", EchoTwin));
      },
      "two different scripts registered as 'x'");
}

TEST(ScriptRegistryTest, GlobalIsOneInstance) {
  EXPECT_EQ(&ScriptRegistry::Global(), &ScriptRegistry::Global());
}

TEST(LuaSourceTest, PingIsTheTextOfLuaPingLua) {
  const std::filesystem::path lua_dir = std::filesystem::path(STORMKV_SOURCE_DIR) / "lua";
  const std::string file = ReadFile(lua_dir / "ping.lua");
  ASSERT_FALSE(file.empty()) << "cannot read " << (lua_dir / "ping.lua");
  EXPECT_EQ(LuaSource("ping"), file);
  EXPECT_NE(LuaSource("ping").find("return ARGV[1]"), std::string_view::npos);
  EXPECT_EQ(LuaSource("no-such-script"), "");
  EXPECT_EQ(LuaSource(""), "");
  EXPECT_EQ(LuaSource("ping.lua"), "");
}

TEST(LuaSourceTest, EveryLuaFileIsEmbeddedByteForByte) {
  const std::filesystem::path lua_dir = std::filesystem::path(STORMKV_SOURCE_DIR) / "lua";
  std::vector<std::string> on_disk;
  for (const auto& entry : std::filesystem::directory_iterator(lua_dir)) {
    if (entry.path().extension() != ".lua") continue;
    const std::string name = entry.path().stem().string();
    on_disk.push_back(name);
    // "-- stormkv:include <name>" lines are replaced by lua/prelude/<name>.lua.
    std::string text = ReadFile(entry.path());
    for (const auto& p : std::filesystem::directory_iterator(lua_dir / "prelude")) {
      const std::string marker = "-- stormkv:include " + p.path().stem().string() + "\n";
      for (std::size_t at; (at = text.find(marker)) != std::string::npos;) {
        text.replace(at, marker.size(), ReadFile(p.path()));
      }
    }
    EXPECT_EQ(text.find("-- stormkv:include"), std::string::npos) << name;
    EXPECT_EQ(LuaSource(name), text) << name;
  }
  std::sort(on_disk.begin(), on_disk.end());
  std::vector<std::string> embedded;
  for (const auto& [name, text] : EmbeddedLuaSources()) {
    embedded.emplace_back(name);
    EXPECT_EQ(LuaSource(name), text);
  }
  EXPECT_TRUE(std::is_sorted(embedded.begin(), embedded.end()));
  EXPECT_EQ(embedded, on_disk);
}

}  // namespace
}  // namespace stormkv
