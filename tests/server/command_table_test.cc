// The command lookups of every command (the server's CommandTable::Find, the store's table
// behind KvBackend::Run): any ASCII case finds the command, nothing else does.
#include "stormkv/server/command_table.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "stormkv/memory_backend.h"

namespace stormkv::server {
namespace {

TEST(CommandTable, FindsEveryNameInAnyCaseAndNothingElse) {
  const CommandTable& t = CommandTable::Get();
  ASSERT_GT(t.all().size(), 50u);
  for (const auto& [name, spec] : t.all()) {
    std::string upper = name, mixed = name;
    for (size_t i = 0; i < name.size(); ++i) {
      upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[i])));
      if (i % 2 == 0) mixed[i] = upper[i];
    }
    EXPECT_EQ(t.Find(name), &spec) << name;
    EXPECT_EQ(t.Find(upper), &spec) << upper;
    EXPECT_EQ(t.Find(mixed), &spec) << mixed;
    EXPECT_EQ(t.Find(name + "x"), nullptr) << name;
    EXPECT_EQ(t.Find(name.substr(0, name.size() - 1)), nullptr) << name;
    EXPECT_EQ(t.Find(name + std::string(1, '\0')), nullptr) << name;
    // A byte other than a letter with bit 5 flipped ('_' and DEL, '.' and 0x0e) hashes alike
    // but is another name.
    for (size_t i = 0; i < name.size(); ++i) {
      if (std::isalpha(static_cast<unsigned char>(name[i]))) continue;
      std::string near = name;
      near[i] = static_cast<char>(near[i] ^ 0x20);
      EXPECT_EQ(t.Find(near), nullptr) << name;
    }
  }
  EXPECT_EQ(t.Find(""), nullptr);
  EXPECT_EQ(t.Find(std::string(40, 'a')), nullptr);
  EXPECT_EQ(t.Find(std::string("get\0", 4)), nullptr);
}

TEST(CommandTable, TheStoreFindsItsCommandsInAnyCaseAndNothingElse) {
  auto kv = NewMemoryBackend().value();
  EXPECT_EQ(kv->Run({"sEt", "k", "1"}).value(), Reply::Ok());
  EXPECT_EQ(kv->Run({"INCR", "k"}).value(), Reply::Integer(2));
  EXPECT_EQ(kv->Run({"incr", "k"}).value(), Reply::Integer(3));
  EXPECT_EQ(kv->Run({"GeT", "k"}).value(), Reply::Bulk("3"));
  EXPECT_EQ(kv->Run({"ZREMRANGEBYSCORE", "z", "0", "1"}).value(), Reply::Integer(0));
  for (const std::string& bad : {std::string("GETX"), std::string("GE"), std::string("get\0", 4),
                                 std::string("gat"), std::string(30, 'g'), std::string()}) {
    Result<Reply> r = kv->Run({bad, "k"});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("unknown command"), std::string::npos) << r.status();
  }
}

}  // namespace
}  // namespace stormkv::server
