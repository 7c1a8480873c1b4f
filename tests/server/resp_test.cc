// The RESP parser and writer of `stormkv serve`, without sockets.
#include "stormkv/server/resp.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stormkv::server {
namespace {

using Outcome = RespParser::Outcome;

std::vector<std::vector<std::string>> ParseAll(RespParser& p, Outcome* last) {
  std::vector<std::vector<std::string>> cmds;
  std::vector<std::string> argv;
  while ((*last = p.Next(&argv)) == Outcome::kCommand) cmds.push_back(argv);
  return cmds;
}

TEST(RespParser, MultibulkFedByteByByte) {
  const std::string wire = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nal\r\n*1\r\n$4\r\nPING\r\n";
  RespParser p;
  std::vector<std::vector<std::string>> cmds;
  std::vector<std::string> argv;
  for (char c : wire) {
    p.Feed(&c, 1);
    Outcome o;
    while ((o = p.Next(&argv)) == Outcome::kCommand) cmds.push_back(argv);
    ASSERT_EQ(o, Outcome::kNeedMore);
  }
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0], (std::vector<std::string>{"SET", "k", "v\r\nal"}));  // binary-safe
  EXPECT_EQ(cmds[1], (std::vector<std::string>{"PING"}));
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(RespParser, InlineCommandsWithRedisQuoting) {
  RespParser p;
  std::string wire = "set k \"a b\\x41\\n\"\r\nget 'it''s'\n\r\n  PING  \n";
  p.Feed(wire.data(), wire.size());
  Outcome last;
  auto cmds = ParseAll(p, &last);
  EXPECT_EQ(last, Outcome::kProtocolError);  // 'it''s': a closing quote must end the argument
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0], (std::vector<std::string>{"set", "k", "a bA\n"}));
  EXPECT_EQ(p.error(), "Protocol error: unbalanced quotes in request");

  RespParser q;
  std::string ok = "get 'it\\'s'\n\r\n  PING  \n";
  q.Feed(ok.data(), ok.size());
  cmds = ParseAll(q, &last);
  EXPECT_EQ(last, Outcome::kNeedMore);
  ASSERT_EQ(cmds.size(), 2u);  // the empty line is skipped
  EXPECT_EQ(cmds[0], (std::vector<std::string>{"get", "it's"}));
  EXPECT_EQ(cmds[1], (std::vector<std::string>{"PING"}));
}

TEST(RespParser, ProtocolErrorsUseRedisTexts) {
  struct Case {
    std::string wire;
    std::string error;
  };
  RespLimits small;
  small.max_bulk_len = 10;
  for (const Case& c : std::vector<Case>{
           {"*x\r\n", "Protocol error: invalid multibulk length"},
           {"*1\r\n+PING\r\n", "Protocol error: expected '$', got '+'"},
           {"*1\r\n$-3\r\n", "Protocol error: invalid bulk length"},
           {"*1\r\n$11\r\n", "Protocol error: invalid bulk length"},  // > proto-max-bulk-len
           {"*1\r\n$abc\r\n", "Protocol error: invalid bulk length"},
           // Lengths the digit-scanning fast path leaves to the general one, answered alike.
           {"*01\r\n", "Protocol error: invalid multibulk length"},
           {"*+1\r\n", "Protocol error: invalid multibulk length"},
           {"*1x\r\n", "Protocol error: invalid multibulk length"},
           {"*2000000000\r\n", "Protocol error: invalid multibulk length"},  // > 1024^3
           {"*1\r\n$01\r\n", "Protocol error: invalid bulk length"},
           {"*1\r\n$1x\r\n", "Protocol error: invalid bulk length"},
           {"*1\r\n$\r\n", "Protocol error: invalid bulk length"},
           {"*1\r\n$100000000000000000000\r\n", "Protocol error: invalid bulk length"},
           {"*1\r\n$999999999999999999\r\n", "Protocol error: invalid bulk length"},  // 18 digits
           {"GET \"k\n", "Protocol error: unbalanced quotes in request"},
           {std::string(70 * 1024, 'a'), "Protocol error: too big inline request"},
       }) {
    RespParser p(small);
    p.Feed(c.wire.data(), c.wire.size());
    std::vector<std::string> argv;
    EXPECT_EQ(p.Next(&argv), Outcome::kProtocolError) << c.wire.substr(0, 20);
    EXPECT_EQ(p.error(), c.error) << c.wire.substr(0, 20);
  }
}

TEST(RespParser, EmptyAndNullMultibulkAreSkipped) {
  RespParser p;
  std::string wire = "*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n";
  p.Feed(wire.data(), wire.size());
  std::vector<std::string> argv;
  ASSERT_EQ(p.Next(&argv), Outcome::kCommand);
  EXPECT_EQ(argv, (std::vector<std::string>{"PING"}));
}

TEST(RespParser, ReusedArgvHoldsExactlyEachCommand) {
  // The caller does not clear argv between commands: the parser assigns over the previous
  // command's strings, longer and shorter ones, and leaves none of them behind.
  RespParser p;
  const std::string wire =
      "*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$20\r\nelement:__rand_int__\r\n$3\r\nxxx\r\n"
      "*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n"
      "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$26\r\na value longer than before\r\n"
      "get k\r\n"
      "*1\r\n$4\r\nPING\r\n";
  p.Feed(wire.data(), wire.size());
  std::vector<std::string> argv;
  std::vector<std::vector<std::string>> seen;
  while (p.Next(&argv) == Outcome::kCommand) seen.push_back(argv);  // argv never cleared
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0], (std::vector<std::string>{"HSET", "h", "element:__rand_int__", "xxx"}));
  EXPECT_EQ(seen[1], (std::vector<std::string>{"INCR", "c"}));
  EXPECT_EQ(seen[2], (std::vector<std::string>{"SET", "", "a value longer than before"}));
  EXPECT_EQ(seen[3], (std::vector<std::string>{"get", "k"}));
  EXPECT_EQ(seen[4], (std::vector<std::string>{"PING"}));
  // A command split across reads, with the spare strings released in between.
  const std::string half = "*2\r\n$3\r\nGET\r\n$5\r\nab";
  p.Feed(half.data(), half.size());
  EXPECT_EQ(p.Next(&argv), Outcome::kNeedMore);
  argv.clear();
  p.ReleaseSpare();
  p.Feed("cde\r\n", 5);
  ASSERT_EQ(p.Next(&argv), Outcome::kCommand);
  EXPECT_EQ(argv, (std::vector<std::string>{"GET", "abcde"}));
}

TEST(RespParser, CountLineEndsAtItsCarriageReturn) {
  // As Redis: the byte after a count line's '\r' is skipped unchecked.
  RespParser p;
  const std::string wire = "*1\rx$4\rxPING\r\n*1\r\n$4\r\nPING\r\n";
  p.Feed(wire.data(), wire.size());
  std::vector<std::string> argv;
  ASSERT_EQ(p.Next(&argv), Outcome::kCommand);
  EXPECT_EQ(argv, (std::vector<std::string>{"PING"}));
  ASSERT_EQ(p.Next(&argv), Outcome::kCommand);
  EXPECT_EQ(argv, (std::vector<std::string>{"PING"}));
  EXPECT_EQ(p.Next(&argv), Outcome::kNeedMore);
}

TEST(RespParser, QueryBufferLimit) {
  RespLimits l;
  l.max_query_buffer = 100;
  RespParser p(l);
  std::string wire = "*1\r\n$1000\r\n" + std::string(150, 'x');
  p.Feed(wire.data(), wire.size());
  std::vector<std::string> argv;
  EXPECT_EQ(p.Next(&argv), Outcome::kNeedMore);
  EXPECT_TRUE(p.OverQueryLimit());
}

TEST(RespWriter, Resp2AndResp3Shapes) {
  std::string out2, out3;
  RespWriter w2(&out2, 2), w3(&out3, 3);
  for (RespWriter* w : {&w2, &w3}) {
    w->MapHeader(1);
    w->Bulk("a");
    w->Double(1.5);
    w->Nil();
    w->NilArray();
    w->Bool(true);
    w->Error("ERR two\r\nlines");
  }
  EXPECT_EQ(out2, "*2\r\n$1\r\na\r\n$3\r\n1.5\r\n$-1\r\n*-1\r\n:1\r\n-ERR two  lines\r\n");
  EXPECT_EQ(out3, "%1\r\n$1\r\na\r\n,1.5\r\n_\r\n_\r\n#t\r\n-ERR two  lines\r\n");
  std::string nested;
  RespWriter w(&nested, 2);
  w.Write(Reply::Array({Reply::Integer(-7), Reply::Bulk(""), Reply::StatusText("OK"), Reply::Nil()}));
  EXPECT_EQ(nested, "*4\r\n:-7\r\n$0\r\n\r\n+OK\r\n$-1\r\n");
}

}  // namespace
}  // namespace stormkv::server
