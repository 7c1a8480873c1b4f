#include "stormkv/gateway/signal.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>

#include "common/test_util.h"

namespace stormkv {
namespace {

int64_t Ms(std::string_view text) {
  Result<std::optional<int64_t>> r = ParseRfc3339Ms(text);
  EXPECT_TRUE(r.ok()) << text << " -> " << r.status();
  if (!r.ok() || !r->has_value()) return -1;
  return **r;
}

TEST(Rfc3339Test, ParsesUtcAndFractions) {
  EXPECT_EQ(Ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Ms("2024-05-01T12:00:00Z"), 1714564800000);
  EXPECT_EQ(Ms("2024-05-01T12:00:00.5Z"), 1714564800500);
  EXPECT_EQ(Ms("2024-05-01T12:00:00.123456789Z"), 1714564800123);
  EXPECT_EQ(Ms("2024-05-01t12:00:00z"), 1714564800000);
  EXPECT_EQ(Ms("2024-02-29T00:00:00Z"), 1709164800000);
}

TEST(Rfc3339Test, AppliesOffsets) {
  EXPECT_EQ(Ms("2024-05-01T14:00:00+02:00"), 1714564800000);
  EXPECT_EQ(Ms("2024-05-01T07:30:00-04:30"), 1714564800000);
}

TEST(Rfc3339Test, GoZeroTimeIsUnset) {
  ASSERT_OK_AND_ASSIGN(auto t, ParseRfc3339Ms("0001-01-01T00:00:00Z"));
  EXPECT_FALSE(t.has_value());
}

TEST(Rfc3339Test, RejectsMalformed) {
  for (const char* bad : {"", "2024-05-01", "2024-05-01T12:00:00", "2024-13-01T00:00:00Z",
                          "2023-02-29T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:00Z",
                          "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00+0200", "yesterday",
                          "2024-05-01T12:00:00Zjunk", "2024-05-01T12:00:00.1234567891Z"}) {
    Result<std::optional<int64_t>> r = ParseRfc3339Ms(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().IsInvalidArgument());
    EXPECT_NE(r.status().message().find("RFC 3339"), std::string::npos);
  }
}

TEST(Rfc3339Test, FormatsRoundTrip) {
  EXPECT_EQ(FormatRfc3339Ms(1714564800000), "2024-05-01T12:00:00Z");
  EXPECT_EQ(FormatRfc3339Ms(1714564800042), "2024-05-01T12:00:00.042Z");
  EXPECT_EQ(FormatRfc3339Ms(0), "1970-01-01T00:00:00Z");
  for (int64_t ms : {int64_t{1}, int64_t{951782400000}, int64_t{4102444799999}}) {
    EXPECT_EQ(Ms(FormatRfc3339Ms(ms)), ms);
  }
}

// The hand-written formatter equals the printf formats it replaced, on random instants from
// before 1970 to beyond year 9999 (where the printf path still writes them).
TEST(Rfc3339Test, FormatEqualsThePrintfFormat) {
  auto reference = [](int64_t ms) {
    int64_t secs = ms / 1000, frac = ms % 1000;
    if (frac < 0) frac += 1000, secs -= 1;
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) rem += 86400, days -= 1;
    // Civil date (Howard Hinnant's algorithm, as signal.cc).
    int64_t z = days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
    char buf[64];
    if (frac == 0) {
      std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                    static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                    static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
    } else {
      std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                    static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                    static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60),
                    static_cast<long long>(frac));
    }
    return std::string(buf);
  };
  std::mt19937_64 rng(18);
  std::uniform_int_distribution<int64_t> any(-62167219200000 - 86400000, 400000000000000);
  for (int i = 0; i < 100000; ++i) {
    int64_t ms = any(rng);
    if (i % 3 == 0) ms -= ms % 1000;  // whole seconds: no fraction written
    ASSERT_EQ(FormatRfc3339Ms(ms), reference(ms)) << ms;
  }
  for (int64_t ms : {int64_t{0}, int64_t{-1}, int64_t{253402300799999}, int64_t{253402300800000},
                     int64_t{-62167219200000}, int64_t{-62167219200001}}) {
    EXPECT_EQ(FormatRfc3339Ms(ms), reference(ms)) << ms;
  }
}

TEST(SignalSourceTest, NamesRoundTrip) {
  for (SignalSource s : {SignalSource::kAlertmanager, SignalSource::kKubernetesEvent}) {
    EXPECT_EQ(ParseSignalSource(SignalSourceName(s)), s);
  }
  EXPECT_EQ(SignalSourceName(SignalSource::kKubernetesEvent), "kubernetes-event");
  EXPECT_FALSE(ParseSignalSource("prometheus").has_value());
}

TEST(EnvelopeTest, SizeCap) {
  AdapterLimits limits;
  limits.max_payload_bytes = 10;
  EXPECT_OK(CheckPayloadEnvelope("0123456789", limits));
  Status s = CheckPayloadEnvelope("0123456789A", limits);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(), "payload too large: 11 bytes > limit 10") << s;
  EXPECT_FALSE(PayloadTooLarge(10, limits));
  EXPECT_TRUE(PayloadTooLarge(11, limits));
}

TEST(EnvelopeTest, DepthCapIgnoresBracketsInStrings) {
  AdapterLimits limits;
  limits.max_json_depth = 3;
  EXPECT_OK(CheckPayloadEnvelope(R"({"a":[{"b":"[[[[{{{{\"[["}]})", limits));
  Status s = CheckPayloadEnvelope(R"({"a":[{"b":[1]}]})", limits);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("nesting deeper than 3"), std::string::npos) << s;
}

TEST(StringMapTest, Caps) {
  AdapterLimits limits;
  limits.max_labels = 2;
  limits.max_label_name_bytes = 4;
  EXPECT_OK(CheckStringMap({{"a", "1"}, {"b", "2"}}, "x", limits, 3));
  EXPECT_TRUE(
      CheckStringMap({{"a", "1"}, {"b", "2"}, {"c", "3"}}, "x", limits, 3).IsInvalidArgument());
  Status name = CheckStringMap({{"abcde", "1"}}, "alerts[0].labels", limits, 3);
  EXPECT_NE(name.message().find("alerts[0].labels: name \"abcde\" is 5 bytes"), std::string::npos)
      << name;
  Status value = CheckStringMap({{"pod", "1234"}}, "alerts[0].labels", limits, 3);
  EXPECT_NE(value.message().find("alerts[0].labels.pod: value is 4 bytes, limit 3"),
            std::string::npos)
      << value;
  EXPECT_TRUE(CheckStringMap({{"", "1"}}, "x", limits, 3).IsInvalidArgument());
}

bool HasControlByte(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

TEST(EscapeForErrorTest, EscapesEverythingButPrintableAsciiAndBounds) {
  EXPECT_EQ(EscapeForError("plain name-1.x"), "plain name-1.x");
  EXPECT_EQ(EscapeForError("a\nb\r\t\x7f\"q\"\\"),
            "a\\x0ab\\x0d\\x09\\x7f\\x22q\\x22\\x5c");
  EXPECT_EQ(EscapeForError(std::string("\0\xc3\xa9", 3)), "\\x00\\xc3\\xa9");
  EXPECT_EQ(EscapeForError("abcdef", 4), "abcd...");
  const std::string hostile(10000, '\n');
  const std::string e = EscapeForError(hostile);
  EXPECT_EQ(e.size(), 64u * 4 + 3);
  EXPECT_FALSE(HasControlByte(e));
}

// A hostile label name cannot forge a log line through the error that names it.
TEST(StringMapTest, NamesInErrorsAreEscaped) {
  AdapterLimits limits;
  limits.max_label_name_bytes = 8;
  const std::string evil = "ev\nlevel=info msg=\"forged\"";
  Status value = CheckStringMap({{"e\nx", "1234"}}, "alerts[0].labels", limits, 3);
  EXPECT_EQ(value.message(), "alerts[0].labels.e\\x0ax: value is 4 bytes, limit 3");
  Status name = CheckStringMap({{evil, "1"}}, "alerts[0].labels", limits, 3);
  EXPECT_TRUE(name.IsInvalidArgument());
  EXPECT_FALSE(HasControlByte(name.message())) << name;
  EXPECT_NE(name.message().find("ev\\x0alevel=info msg=\\x22forged\\x22"), std::string::npos)
      << name;
  Result<std::optional<int64_t>> t = ParseRfc3339Ms("2024-05-01\nT12:00:00Z");
  EXPECT_FALSE(HasControlByte(t.status().message())) << t.status();
}

}  // namespace
}  // namespace stormkv
