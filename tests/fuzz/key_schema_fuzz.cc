// Fuzz target of KeySchema: a prefix, max_part_bytes, a tag and a part taken from the input.
// Properties: an escaped part holds only [A-Za-z0-9._/-], %XX escapes and the '~' marker, is at
// most max_part_bytes long, and reads back to the raw value (short parts) or carries the raw
// value's digest (long parts), so distinct values give distinct parts; a key is exactly
// prefix family ":{" tag "}" ":" part, its Redis Cluster hash tag is the escaped tag whatever the
// prefix, FamilyOf finds the family, and FamilyPattern matches it in a real SCAN.
#include <memory>
#include <string>

#include "fuzz_targets.h"
#include "stormkv/clock.h"
#include "stormkv/key_schema.h"
#include "stormkv/memory_backend.h"
#include "stormkv/script.h"

namespace stormkv::fuzz {
namespace {

bool IsPlain(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '/' || c == '-';
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string FullEscape(std::string_view raw) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : raw) {
    if (IsPlain(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void CheckPart(const KeySchema& schema, std::string_view raw) {
  const std::string esc = schema.EscapePart(raw);
  const std::string what = Printable(raw) + " -> " + Printable(esc);
  const std::size_t max = schema.options().max_part_bytes;
  FUZZ_CHECK(!esc.empty() && esc.size() <= max, what);
  if (raw.empty()) {
    FUZZ_CHECK(esc == "~", what);
    return;
  }
  const std::size_t tilde = esc.find('~');
  std::string head = esc;
  if (tilde != std::string::npos) {
    // A long value: <cut escape> "~" <16 hex of SHA-256(raw)>.
    FUZZ_CHECK(tilde + 17 == esc.size(), what);
    FUZZ_CHECK(esc.substr(tilde + 1) == Sha256Hex(raw).substr(0, 16), what);
    FUZZ_CHECK(FullEscape(raw).size() > max, "a short value was cut: " + what);
    head = esc.substr(0, tilde);
    FUZZ_CHECK(FullEscape(raw).compare(0, head.size(), head) == 0, what);
  }
  std::string back;
  for (std::size_t i = 0; i < head.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(head[i]);
    if (c == '%') {
      FUZZ_CHECK(i + 2 < head.size() && Hex(head[i + 1]) >= 0 && Hex(head[i + 2]) >= 0,
                 "split or bad escape: " + what);
      back += static_cast<char>(Hex(head[i + 1]) * 16 + Hex(head[i + 2]));
      i += 2;
    } else {
      FUZZ_CHECK(IsPlain(c), "unescaped byte: " + what);
      back += static_cast<char>(c);
    }
  }
  if (tilde == std::string::npos) {
    FUZZ_CHECK(back == raw, "does not read back: " + what);
  } else {
    FUZZ_CHECK(raw.substr(0, back.size()) == back, what);
  }
}

// Redis Cluster's hash tag: the bytes between the first '{' and the first '}' after it, when
// not empty; otherwise the whole key.
std::string HashTag(const std::string& key) {
  const std::size_t open = key.find('{');
  if (open == std::string::npos) return key;
  const std::size_t close = key.find('}', open + 1);
  if (close == std::string::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

KvBackend& Store() {
  static std::unique_ptr<KvBackend> kv = [] {
    MemoryBackendOptions o;
    o.clock = std::make_shared<ManualClock>();
    o.active_expiry = false;
    return NewMemoryBackend(o).value();
  }();
  return *kv;
}

}  // namespace

int KeySchemaOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 3, size - 3);
  KeySchemaOptions o;
  const std::size_t prefix_len = std::min<std::size_t>(data[0] % 24, in.size());
  o.prefix = std::string(in.substr(0, prefix_len));
  in.remove_prefix(prefix_len);
  o.max_part_bytes = 32 + data[1];
  const KeySchema schema(o);
  const std::size_t tag_len = std::min<std::size_t>(data[2], in.size());
  const std::string_view tag = in.substr(0, tag_len);
  const std::string_view part = in.substr(tag_len);

  CheckPart(schema, tag);
  CheckPart(schema, part);
  FUZZ_CHECK((schema.EscapePart(tag) == schema.EscapePart(part)) == (tag == part),
             Printable(tag) + " vs " + Printable(part));

  const std::string& prefix = schema.prefix();
  FUZZ_CHECK(prefix.find('{') == std::string::npos && prefix.find('}') == std::string::npos,
             Printable(prefix));
  const std::string key = schema.Key(family::kStormAgg, tag, {part});
  const std::string want = prefix + std::string(family::kStormAgg) + ":{" + schema.EscapePart(tag) +
                           "}:" + schema.EscapePart(part);
  FUZZ_CHECK(key == want, Printable(key));
  FUZZ_CHECK(HashTag(key) == schema.EscapePart(tag), "hash tag of " + Printable(key));
  FUZZ_CHECK(schema.FamilyOf(key) == family::kStormAgg, Printable(key));
  FUZZ_CHECK(key.size() <= prefix.size() + family::kStormAgg.size() + 4 + 2 * o.max_part_bytes,
             Printable(key));
  // Swapping tag and part gives another key unless they are equal: separators cannot be forged.
  const std::string swapped = schema.Key(family::kStormAgg, part, {tag});
  FUZZ_CHECK((swapped == key) == (tag == part), Printable(key) + " vs " + Printable(swapped));

  // A storm key: the tag is the escaped pair; one storm's families share it (one slot); the
  // pair cannot be forged by moving bytes between namespace and alert name.
  const std::string storm = schema.StormKey(family::kStormAgg, tag, part);
  FUZZ_CHECK(storm == prefix + std::string(family::kStormAgg) + ":{" + schema.EscapePart(tag) +
                          ":" + schema.EscapePart(part) + "}",
             Printable(storm));
  FUZZ_CHECK(HashTag(storm) == schema.EscapePart(tag) + ":" + schema.EscapePart(part),
             "hash tag of " + Printable(storm));
  FUZZ_CHECK(HashSlot(storm) == HashSlot(schema.StormKey(family::kStormRate, tag, part)),
             Printable(storm));
  FUZZ_CHECK(schema.FamilyOf(storm) == family::kStormAgg, Printable(storm));
  if (!tag.empty()) {
    const std::string moved =
        schema.StormKey(family::kStormAgg, tag.substr(1), std::string(tag.substr(0, 1)) + std::string(part));
    FUZZ_CHECK(moved != storm, Printable(storm) + " vs " + Printable(moved));
  }

  KvBackend& kv = Store();
  FUZZ_CHECK(kv.FlushDb().ok(), "FLUSHDB");
  FUZZ_CHECK(kv.Set(key, "v").ok(), Printable(key));
  const std::string other = schema.Key(family::kStormRate, tag, {part});
  FUZZ_CHECK(kv.Set(other, "v").ok(), Printable(other));
  for (std::string_view fam : {family::kStormAgg, std::string_view()}) {
    int found = 0, found_other = 0;
    Status s = kv.ScanAll(schema.FamilyPattern(fam), [&](const std::string& k) {
      found += k == key;
      found_other += k == other;
      return Status::Ok();
    });
    FUZZ_CHECK(s.ok(), s.ToString());
    FUZZ_CHECK(found == 1, "pattern " + Printable(schema.FamilyPattern(fam)) + " misses " + Printable(key));
    FUZZ_CHECK(found_other == (fam.empty() ? 1 : 0),
               "pattern " + Printable(schema.FamilyPattern(fam)) + " vs " + Printable(other));
  }
  return 0;
}

}  // namespace stormkv::fuzz
