#include "stormkv/reply.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace stormkv {
namespace {

TEST(ReplyTest, DefaultIsNil) {
  Reply r;
  EXPECT_TRUE(r.is_nil());
  EXPECT_EQ(r.type(), Reply::Type::kNil);
  EXPECT_EQ(r, Reply::Nil());
  EXPECT_FALSE(r.AsOptionalString().has_value());
  EXPECT_TRUE(r.str().empty());
  EXPECT_TRUE(r.elements().empty());
}

TEST(ReplyTest, FactoriesSetTypeAndPayload) {
  EXPECT_TRUE(Reply::Integer(-5).is_integer());
  EXPECT_EQ(Reply::Integer(-5).integer(), -5);
  EXPECT_TRUE(Reply::Bulk("b").is_bulk());
  EXPECT_EQ(Reply::Bulk("b").str(), "b");
  EXPECT_TRUE(Reply::StatusText("PONG").is_status());
  EXPECT_EQ(Reply::Ok(), Reply::StatusText("OK"));
  EXPECT_TRUE(Reply::Error("ERR x").is_error());
  EXPECT_EQ(Reply::Error("ERR x").str(), "ERR x");
  Reply a = Reply::Array({Reply::Integer(1), Reply::Nil()});
  EXPECT_TRUE(a.is_array());
  ASSERT_EQ(a.elements().size(), 2u);
  EXPECT_EQ(a.elements()[0], Reply::Integer(1));
  a.elements().push_back(Reply::Bulk("x"));
  EXPECT_EQ(a.elements().size(), 3u);
  const std::string binary("a\0b", 3);
  EXPECT_EQ(Reply::Bulk(binary).str().size(), 3u);
}

TEST(ReplyTest, AsOptionalString) {
  EXPECT_EQ(Reply::Bulk("v").AsOptionalString(), std::optional<std::string>("v"));
  EXPECT_EQ(Reply::StatusText("OK").AsOptionalString(), std::optional<std::string>("OK"));
  EXPECT_EQ(Reply::Bulk("").AsOptionalString(), std::optional<std::string>(""));
  EXPECT_FALSE(Reply::Nil().AsOptionalString().has_value());
  EXPECT_FALSE(Reply::Integer(1).AsOptionalString().has_value());
  EXPECT_FALSE(Reply::Error("ERR").AsOptionalString().has_value());
  EXPECT_FALSE(Reply::Array({}).AsOptionalString().has_value());
}

TEST(ReplyTest, EqualityNeedsTheSameTypeAndPayload) {
  EXPECT_EQ(Reply::Nil(), Reply::Nil());
  EXPECT_NE(Reply::Nil(), Reply::Bulk(""));
  EXPECT_NE(Reply::Bulk("OK"), Reply::StatusText("OK"));
  EXPECT_NE(Reply::Bulk("ERR"), Reply::Error("ERR"));
  EXPECT_NE(Reply::Integer(1), Reply::Bulk("1"));
  EXPECT_NE(Reply::Integer(1), Reply::Integer(2));
  EXPECT_EQ(Reply::Integer(7), Reply::Integer(7));
  EXPECT_NE(Reply::Bulk("a"), Reply::Bulk("b"));
  EXPECT_EQ(Reply::Array({}), Reply::Array({}));
  EXPECT_NE(Reply::Array({}), Reply::Nil());
  Reply nested = Reply::Array({Reply::Bulk("a"), Reply::Array({Reply::Integer(1)})});
  EXPECT_EQ(nested, Reply::Array({Reply::Bulk("a"), Reply::Array({Reply::Integer(1)})}));
  EXPECT_NE(nested, Reply::Array({Reply::Bulk("a"), Reply::Array({Reply::Integer(2)})}));
  EXPECT_NE(nested, Reply::Array({Reply::Bulk("a")}));
  // Payload fields of other types do not matter.
  EXPECT_EQ(Reply::Integer(0), Reply::Integer(0));
}

TEST(ReplyTest, ToStringLooksLikeRedisCli) {
  EXPECT_EQ(Reply::Nil().ToString(), "(nil)");
  EXPECT_EQ(Reply::Integer(-3).ToString(), "(integer) -3");
  EXPECT_EQ(Reply::Bulk("v").ToString(), "\"v\"");
  EXPECT_EQ(Reply::StatusText("OK").ToString(), "OK");
  EXPECT_EQ(Reply::Error("ERR syntax error").ToString(), "(error) ERR syntax error");
  EXPECT_EQ(Reply::Array({}).ToString(), "[]");
  EXPECT_EQ(Reply::Array({Reply::Bulk("a"), Reply::Integer(1), Reply::Nil(),
                          Reply::Array({Reply::StatusText("OK")})})
                .ToString(),
            "[\"a\", (integer) 1, (nil), [OK]]");
  std::ostringstream os;
  os << Reply::Integer(9);
  EXPECT_EQ(os.str(), "(integer) 9");
}

}  // namespace
}  // namespace stormkv
