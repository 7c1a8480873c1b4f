// stormkv/byte_size.h: the one size parser (CLI options, shm:// URLs) and the one formatter.
#include "stormkv/byte_size.h"

#include <gtest/gtest.h>

namespace stormkv {
namespace {

TEST(ByteSize, RedisUnitsAndBinarySpellings) {
  EXPECT_EQ(*ParseByteSize("0"), 0);
  EXPECT_EQ(*ParseByteSize("123"), 123);
  EXPECT_EQ(*ParseByteSize("123b"), 123);
  EXPECT_EQ(*ParseByteSize("1k"), 1000);
  EXPECT_EQ(*ParseByteSize("1kb"), 1024);
  EXPECT_EQ(*ParseByteSize("100KB"), 102400);
  EXPECT_EQ(*ParseByteSize("1m"), 1000000);
  EXPECT_EQ(*ParseByteSize("256mb"), 268435456);
  EXPECT_EQ(*ParseByteSize("256MiB"), 268435456);
  EXPECT_EQ(*ParseByteSize(" 256 mib "), 268435456);
  EXPECT_EQ(*ParseByteSize("2GB"), 2147483648LL);
  EXPECT_EQ(*ParseByteSize("1g"), 1000000000);
  EXPECT_EQ(*ParseByteSize("64mib"), 64LL << 20);
  EXPECT_EQ(*ParseByteSize("3gib"), 3LL << 30);
}

TEST(ByteSize, RejectsGarbageQuotingIt) {
  for (const char* bad : {"", "mb", "-1mb", "1.5mb", "12tb", "1 m b x", "99999999999999999999",
                          "9223372036854775807kb"}) {
    Result<int64_t> r = ParseByteSize(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().IsInvalidArgument());
    EXPECT_EQ(r.status().message(), "invalid memory size '" + std::string(bad) +
                                        "': use a number of bytes or a unit like 100kb, 256mb, "
                                        "2gb");
  }
}

TEST(ByteSize, HumanFormat) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1024), "1 KB");
  EXPECT_EQ(FormatBytes(1536), "1.5 KB");
  EXPECT_EQ(FormatBytes(256LL << 20), "256 MB");
  EXPECT_EQ(FormatBytes(1258291), "1.2 MB");
  EXPECT_EQ(FormatBytes(-2048), "-2 KB");
  EXPECT_EQ(FormatBytes(int64_t{3} << 40), "3 TB");
}

}  // namespace
}  // namespace stormkv
