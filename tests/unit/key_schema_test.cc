#include "stormkv/key_schema.h"

#include <fnmatch.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "stormkv/script.h"

namespace stormkv {
namespace {

const std::vector<std::string_view> kFamilies = {family::kDedup, family::kStormRate,
                                                 family::kStormPattern, family::kStormAgg,
                                                 family::kRateLimit};

// SCAN MATCH semantics for the patterns FamilyPattern produces (*, escapes, classes).
bool GlobMatches(const std::string& pattern, const std::string& key) {
  return fnmatch(pattern.c_str(), key.c_str(), 0) == 0;
}

bool OnlySafeBytes(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '/' ||
           c == '-' || c == '%' || c == '~';
  });
}

// Every '%' starts a complete %XX escape with upper-case hex digits.
bool EscapesComplete(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    for (size_t j = i + 1; j <= i + 2; ++j) {
      if (j >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[j])) ||
          std::islower(static_cast<unsigned char>(s[j]))) {
        return false;
      }
    }
  }
  return true;
}

TEST(KeySchemaTest, Layout) {
  KeySchema ks;
  EXPECT_EQ(ks.prefix(), "stormkv:");
  EXPECT_EQ(ks.options().max_part_bytes, 256u);
  EXPECT_EQ(ks.Key(family::kDedup, "abc"), "stormkv:dedup:{abc}");
  EXPECT_EQ(ks.Key(family::kStormAgg, "prod", {"KubePodCrashLooping", "pod-1"}),
            "stormkv:storm-agg:{prod}:KubePodCrashLooping:pod-1");
  KeySchema custom(KeySchemaOptions{"test-7:", 64});
  EXPECT_EQ(custom.Key(family::kRateLimit, "client"), "test-7:ratelimit:{client}");
  KeySchema empty_prefix(KeySchemaOptions{"", 256});
  EXPECT_EQ(empty_prefix.Key(family::kDedup, "t"), "dedup:{t}");
}

TEST(KeySchemaTest, PlainBytesAreKept) {
  KeySchema ks;
  const std::string plain = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-";
  EXPECT_EQ(ks.EscapePart(plain), plain);
}

TEST(KeySchemaTest, EmptyValueIsStillAHashTag) {
  // Redis Cluster ignores "{}"; an empty label must still give the script's keys one slot.
  KeySchema ks;
  EXPECT_EQ(ks.EscapePart(""), "~");
  EXPECT_EQ(ks.Key(family::kDedup, "", {""}), "stormkv:dedup:{~}:~");
  EXPECT_NE(ks.EscapePart(""), ks.EscapePart("~"));  // a literal '~' is escaped
}

TEST(KeySchemaTest, BracesInThePrefixCannotMoveTheHashTag) {
  KeySchema ks(KeySchemaOptions{"a{b}:", 256});
  EXPECT_EQ(ks.Key(family::kDedup, "t"), "a%7Bb%7D:dedup:{t}");
  EXPECT_EQ(ks.FamilyOf(ks.Key(family::kDedup, "t")), family::kDedup);
}

TEST(KeySchemaTest, EverythingElseIsPercentEscaped) {
  KeySchema ks;
  EXPECT_EQ(ks.EscapePart(":"), "%3A");
  EXPECT_EQ(ks.EscapePart("{"), "%7B");
  EXPECT_EQ(ks.EscapePart("}"), "%7D");
  EXPECT_EQ(ks.EscapePart("*"), "%2A");
  EXPECT_EQ(ks.EscapePart("?"), "%3F");
  EXPECT_EQ(ks.EscapePart("["), "%5B");
  EXPECT_EQ(ks.EscapePart("]"), "%5D");
  EXPECT_EQ(ks.EscapePart(" "), "%20");
  EXPECT_EQ(ks.EscapePart("%"), "%25");
  EXPECT_EQ(ks.EscapePart("~"), "%7E");
  EXPECT_EQ(ks.EscapePart("\\"), "%5C");
  EXPECT_EQ(ks.EscapePart(std::string("\0", 1)), "%00");
  EXPECT_EQ(ks.EscapePart("\x01\n\r\t\x7f"), "%01%0A%0D%09%7F");
  EXPECT_EQ(ks.EscapePart("\xff\xc3\xa9"), "%FF%C3%A9");
  EXPECT_EQ(ks.EscapePart("ns:pod {a}*"), "ns%3Apod%20%7Ba%7D%2A");
  // No double decoding: an escape-looking label is escaped again.
  EXPECT_EQ(ks.EscapePart("%3A"), "%253A");
}

TEST(KeySchemaTest, LongPartsAreBoundedWithADigestSuffix) {
  KeySchema ks;
  const std::string exact(256, 'a');
  EXPECT_EQ(ks.EscapePart(exact), exact);  // exactly at the bound: unchanged
  const std::string over(257, 'a');
  std::string bounded = ks.EscapePart(over);
  EXPECT_LE(bounded.size(), 256u);
  ASSERT_GE(bounded.size(), 17u);
  EXPECT_EQ(bounded[bounded.size() - 17], '~');
  EXPECT_EQ(bounded.substr(bounded.size() - 16), Sha256Hex(over).substr(0, 16));
  EXPECT_EQ(bounded.substr(0, bounded.size() - 17), std::string(256 - 17, 'a'));
  const std::string huge(1 << 20, 'x');
  EXPECT_LE(ks.EscapePart(huge).size(), 256u);
  EXPECT_LE(ks.Key(family::kDedup, huge, {huge, huge}).size(),
            ks.prefix().size() + family::kDedup.size() + 4 + 3 * 256 + 2);
}

TEST(KeySchemaTest, CutNeverSplitsAnEscape) {
  for (size_t max : {32u, 33u, 34u, 35u, 64u, 100u, 256u}) {
    KeySchema ks(KeySchemaOptions{"p:", max});
    for (size_t plain_lead = 0; plain_lead < 4; ++plain_lead) {
      std::string raw(plain_lead, 'a');
      raw += std::string(200, ':');  // each becomes %3A
      std::string part = ks.EscapePart(raw);
      SCOPED_TRACE("max=" + std::to_string(max) + " lead=" + std::to_string(plain_lead));
      EXPECT_LE(part.size(), max);
      size_t tilde = part.rfind('~');
      ASSERT_NE(tilde, std::string::npos) << part;
      EXPECT_TRUE(EscapesComplete(part.substr(0, tilde))) << part;
      EXPECT_EQ(part.substr(tilde + 1), Sha256Hex(raw).substr(0, 16));
    }
  }
}

TEST(KeySchemaTest, DistinctLongValuesStayDistinct) {
  KeySchema ks;
  std::set<std::string> parts;
  const std::string base(1000, 'v');
  for (int i = 0; i < 200; ++i) {
    std::string raw = base + std::to_string(i);  // differ only past the cut
    EXPECT_TRUE(parts.insert(ks.EscapePart(raw)).second) << i;
  }
  // Long (digested) and short (escaped) forms never collide: a raw '~' is escaped, so only the
  // digest separator of a bounded part is a literal '~'.
  std::string long_form = ks.EscapePart(base);
  EXPECT_EQ(std::count(long_form.begin(), long_form.end(), '~'), 1);
  EXPECT_EQ(long_form.find('~'), long_form.size() - 17);
  EXPECT_EQ(ks.EscapePart("a~b"), "a%7Eb");
  const std::string forged = long_form.substr(0, long_form.size() - 17);
  EXPECT_EQ(ks.EscapePart(forged), forged);
  EXPECT_NE(ks.EscapePart(forged + "~"), long_form);
}

TEST(KeySchemaTest, MaxPartBytesIsAtLeast32) {
  KeySchema ks(KeySchemaOptions{"p:", 5});
  EXPECT_EQ(ks.options().max_part_bytes, 32u);
  EXPECT_LE(ks.EscapePart(std::string(100, 'z')).size(), 32u);
  EXPECT_EQ(ks.EscapePart(std::string(32, 'z')), std::string(32, 'z'));
}

TEST(KeySchemaTest, FamilyOfAndFamilyPatternRoundTrip) {
  for (const std::string& prefix : {std::string("stormkv:"), std::string("t1:"),
                                    std::string("we*ird[1]?\\:"), std::string("")}) {
    KeySchema ks(KeySchemaOptions{prefix, 256});
    SCOPED_TRACE("prefix '" + prefix + "'");
    for (std::string_view f : kFamilies) {
      std::string key = ks.Key(f, "tag:{x}", {"a b", "*"});
      EXPECT_EQ(ks.FamilyOf(key), f) << key;
      EXPECT_TRUE(GlobMatches(ks.FamilyPattern(f), key)) << ks.FamilyPattern(f) << " vs " << key;
      EXPECT_TRUE(GlobMatches(ks.FamilyPattern(), key)) << key;
      for (std::string_view other : kFamilies) {
        if (other == f) continue;
        EXPECT_FALSE(GlobMatches(ks.FamilyPattern(other), key)) << other << " matched " << key;
      }
    }
  }
  KeySchema ks;
  EXPECT_EQ(ks.FamilyPattern(family::kDedup), "stormkv:dedup:{*");
  EXPECT_EQ(ks.FamilyPattern(), "stormkv:*");
  EXPECT_EQ(KeySchema(KeySchemaOptions{"a*b?[c]\\:", 256}).FamilyPattern(family::kDedup),
            "a\\*b\\?\\[c\\]\\\\:dedup:{*");
  EXPECT_EQ(ks.FamilyOf("other:dedup:{x}"), "");
  EXPECT_EQ(ks.FamilyOf("stormkv:"), "");
  EXPECT_EQ(ks.FamilyOf("stormkv:no-tag"), "");
  EXPECT_EQ(ks.FamilyOf("stormkv"), "");
  EXPECT_EQ(ks.FamilyOf(""), "");
}

TEST(KeySchemaTest, HostileLabelsCannotForgeKeys) {
  KeySchema ks;
  const std::vector<std::string> hostile = {"}:storm-rate:{x",
                                            "x}",
                                            "{",
                                            "}{",
                                            "*",
                                            "stormkv:storm-agg:{y}",
                                            "a:b:c",
                                            "\\}",
                                            "%7D",
                                            "",
                                            "\r\n",
                                            std::string("\0}\0", 3),
                                            std::string(600, '}')};
  std::set<std::string> keys;
  for (const std::string& tag : hostile) {
    for (const std::string& part : hostile) {
      std::string key = ks.Key(family::kDedup, tag, {part});
      SCOPED_TRACE(key);
      EXPECT_TRUE(keys.insert(key).second) << "two labels gave the same key";
      EXPECT_EQ(ks.FamilyOf(key), family::kDedup);
      EXPECT_EQ(std::count(key.begin(), key.end(), '{'), 1);
      EXPECT_EQ(std::count(key.begin(), key.end(), '}'), 1);
      // prefix + family + ":{tag}:part": exactly three ':' separators.
      EXPECT_EQ(std::count(key.begin(), key.end(), ':'), 3);
      for (std::string_view other : kFamilies) {
        if (other != family::kDedup) {
          EXPECT_FALSE(GlobMatches(ks.FamilyPattern(other), key));
        }
      }
      std::string tag_part = key.substr(key.find('{') + 1, key.find('}') - key.find('{') - 1);
      EXPECT_EQ(tag_part, ks.EscapePart(tag));
    }
  }
}

TEST(KeySchemaTest, RandomLabelsGiveWellFormedKeys) {
  std::mt19937 rng(static_cast<uint32_t>(::testing::UnitTest::GetInstance()->random_seed()));
  SCOPED_TRACE("seed " + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  KeySchema ks(KeySchemaOptions{"stormkv:", 48});
  std::set<std::string> raws, parts;
  for (int i = 0; i < 2000; ++i) {
    std::string raw(std::uniform_int_distribution<int>(0, 80)(rng), '\0');
    for (char& c : raw) c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    std::string part = ks.EscapePart(raw);
    EXPECT_LE(part.size(), 48u);
    EXPECT_TRUE(OnlySafeBytes(part)) << part;
    EXPECT_EQ(part, ks.EscapePart(raw));  // deterministic
    if (raws.insert(raw).second) {
      EXPECT_TRUE(parts.insert(part).second) << "collision: " << part;
    }
    std::string key = ks.Key(family::kStormPattern, raw, {raw});
    EXPECT_EQ(ks.FamilyOf(key), family::kStormPattern);
    EXPECT_TRUE(GlobMatches(ks.FamilyPattern(family::kStormPattern), key)) << key;
  }
}

TEST(KeySchemaTest, StormKeysAreTaggedByTheStorm) {
  KeySchema ks;
  EXPECT_EQ(ks.StormKey(family::kStormAgg, "prod", "KubePodCrashLooping"),
            "stormkv:storm-agg:{prod:KubePodCrashLooping}");
  EXPECT_EQ(ks.StormKey(family::kStormRate, "", ""), "stormkv:storm-rate:{~:~}");
  // One storm's three keys share a slot.
  const int slot = HashSlot(ks.StormKey(family::kStormRate, "prod", "HighLatency"));
  EXPECT_EQ(HashSlot(ks.StormKey(family::kStormPattern, "prod", "HighLatency")), slot);
  EXPECT_EQ(HashSlot(ks.StormKey(family::kStormAgg, "prod", "HighLatency")), slot);
  // ':' in either value is escaped: the pair cannot be forged from another split.
  EXPECT_NE(ks.StormKey(family::kStormAgg, "a:b", "c"), ks.StormKey(family::kStormAgg, "a", "b:c"));
  EXPECT_EQ(ks.StormKey(family::kStormAgg, "a:b", "c"), "stormkv:storm-agg:{a%3Ab:c}");
  EXPECT_EQ(ks.FamilyOf(ks.StormKey(family::kStormPattern, "x", "y")), family::kStormPattern);
  EXPECT_TRUE(GlobMatches(ks.FamilyPattern(family::kStormAgg),
                          ks.StormKey(family::kStormAgg, "*", "[x]")));
}

TEST(KeySchemaTest, HostileLabelsCannotForgeStormKeys) {
  KeySchema ks(KeySchemaOptions{"stormkv:", 64});
  const std::vector<std::string> hostile = {"}:storm-rate:{x", "x}", "{", "}{", ":", "a:b", "",
                                            "%3A", std::string("\0}", 3), std::string(600, ':')};
  std::set<std::string> keys;
  for (const std::string& ns : hostile) {
    for (const std::string& name : hostile) {
      std::string key = ks.StormKey(family::kStormAgg, ns, name);
      SCOPED_TRACE(key);
      EXPECT_TRUE(keys.insert(key).second) << "two label pairs gave the same key";
      EXPECT_EQ(std::count(key.begin(), key.end(), '{'), 1);
      EXPECT_EQ(std::count(key.begin(), key.end(), '}'), 1);
      EXPECT_EQ(key.back(), '}');
      // prefix + family + ":{ns:name}": exactly three ':'.
      EXPECT_EQ(std::count(key.begin(), key.end(), ':'), 3);
      EXPECT_EQ(key.substr(key.find('{') + 1, key.size() - key.find('{') - 2),
                ks.EscapePart(ns) + ":" + ks.EscapePart(name));
      // Bounded: two parts of at most 64 bytes.
      EXPECT_LE(key.size(), ks.prefix().size() + family::kStormAgg.size() + 4 + 2 * 64);
    }
  }
}

// Redis's CLUSTER KEYSLOT answers for these keys (asked of a Redis 7.0.15 cluster node).
TEST(KeySchemaTest, HashSlotIsRedisClusterKeyslot) {
  EXPECT_EQ(HashSlot("123456789"), 0x31C3 & 16383);  // CRC16-XMODEM check value 0x31C3
  EXPECT_EQ(HashSlot(""), 0);
  EXPECT_EQ(HashSlot("foo"), 12182);
  EXPECT_EQ(HashSlot("bar"), 5061);
  EXPECT_EQ(HashSlot("{user1000}.following"), HashSlot("user1000"));
  EXPECT_EQ(HashSlot("{user1000}.followers"), HashSlot("user1000"));
  EXPECT_EQ(HashSlot("foo{}{bar}"), HashSlot("foo{}{bar}"));
  EXPECT_NE(HashSlot("foo{}{bar}"), HashSlot("bar"));  // an empty {} hashes the whole key
  EXPECT_EQ(HashSlot("foo{{bar}}zap"), HashSlot("{bar"));
  EXPECT_EQ(HashSlot("foo{bar}{zap}"), HashSlot("bar"));
  EXPECT_EQ(HashSlot("x{"), HashSlot("x{"));
  for (const std::string& k : {std::string("a"), std::string("stormkv:dedup:{abc}"), std::string("}{y}"), std::string(1000, 'z')}) {
    EXPECT_GE(HashSlot(k), 0);
    EXPECT_LT(HashSlot(k), kHashSlots);
  }
}

// The slot ranges `redis-cli --cluster create` gives 3 masters.
int MasterOf3(int slot) { return slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2; }

TEST(KeySchemaTest, StormsOfOneNamespaceSpreadOverThreeMasters) {
  KeySchema ks;
  // The ten alert names of `stormkv simulate`'s workloads.
  const std::vector<std::string> names = {
      "KubePodCrashLooping", "KubePodNotReady", "KubeContainerWaiting", "CPUThrottlingHigh",
      "KubeMemoryOvercommit", "HighErrorRate", "HighLatency", "KubePersistentVolumeFillingUp",
      "OOMKilled", "TargetDown"};
  // Under the old tag {namespace} the ten storms of a namespace shared one slot, so one master.
  for (int n = 0; n < 10; ++n) {
    const std::string ns = "prod-" + std::to_string(n);
    std::set<int> old_slots, new_slots;
    for (const std::string& name : names) {
      old_slots.insert(HashSlot(ks.Key(family::kStormAgg, ns, {name})));
      const std::string agg = ks.StormKey(family::kStormAgg, ns, name);
      new_slots.insert(HashSlot(agg));
      EXPECT_EQ(HashSlot(ks.StormKey(family::kStormRate, ns, name)), HashSlot(agg));
    }
    EXPECT_EQ(old_slots.size(), 1u) << ns;
    EXPECT_EQ(new_slots.size(), names.size()) << ns;
  }
  // A namespace with 30 storms (three per name kind) covers all three masters: each of 100 such.
  for (int n = 0; n < 100; ++n) {
    std::set<int> masters;
    for (const std::string& name : names) {
      for (const char* suffix : {"", "-canary", "Critical"}) {
        masters.insert(MasterOf3(HashSlot(
            ks.StormKey(family::kStormAgg, "prod-" + std::to_string(n), name + suffix))));
      }
    }
    EXPECT_EQ(masters.size(), 3u) << "prod-" << n;
  }
  // Ten storms of a namespace: with uniform slots they miss a master with probability
  // 3*(2/3)^10 ~ 5.2% (about 6% for these names); the masters get a third of the storms
  // each (30,000 storms: 10,000 +- 82 at one sigma).
  int per_master[3] = {0, 0, 0};
  int covering = 0;
  for (int n = 0; n < 3000; ++n) {
    std::set<int> masters;
    for (const std::string& name : names) {
      const int m = MasterOf3(HashSlot(ks.StormKey(family::kStormRate, "ns-" + std::to_string(n), name)));
      masters.insert(m);
      ++per_master[m];
    }
    covering += masters.size() == 3 ? 1 : 0;
  }
  EXPECT_GT(covering, 2700);  // at least 90%
  for (int m = 0; m < 3; ++m) {
    EXPECT_GT(per_master[m], 9500) << "master " << m;
    EXPECT_LT(per_master[m], 10500) << "master " << m;
  }
}

}  // namespace
}  // namespace stormkv
