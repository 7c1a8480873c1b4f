#include "stormkv/key_schema.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include "stormkv/script.h"

namespace stormkv {
namespace {

constexpr bool IsPlain(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '/' || c == '-';
}

std::string GlobEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// CRC16-XMODEM, one table entry per byte value, computed at compile time.
constexpr std::array<uint16_t, 256> MakeCrc16Table() {
  std::array<uint16_t, 256> t{};
  for (int b = 0; b < 256; ++b) {
    uint16_t crc = static_cast<uint16_t>(b << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<uint16_t>(crc << 1);
    }
    t[static_cast<std::size_t>(b)] = crc;
  }
  return t;
}
constexpr std::array<uint16_t, 256> kCrc16Table = MakeCrc16Table();

}  // namespace

uint16_t Crc16Xmodem(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char c : data) {
    crc = static_cast<uint16_t>((crc << 8) ^ kCrc16Table[((crc >> 8) ^ c) & 0xff]);
  }
  return crc;
}

std::string_view HashTag(std::string_view key) {
  const std::size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  const std::size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

int HashSlot(std::string_view key) { return Crc16Xmodem(HashTag(key)) & (kHashSlots - 1); }

KeySchema::KeySchema(KeySchemaOptions options) : options_(std::move(options)) {
  options_.max_part_bytes = std::max<std::size_t>(options_.max_part_bytes, 32);
  std::string safe;
  for (char c : options_.prefix) {
    if (c == '{') safe += "%7B";
    else if (c == '}') safe += "%7D";
    else safe += c;
  }
  options_.prefix = std::move(safe);
}

namespace {

constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[static_cast<std::size_t>(c)] = IsPlain(static_cast<unsigned char>(c));
  return t;
}();

// Appends EscapePart(raw) to `out` (runs of plain bytes in one append, no temporary string).
void AppendEscapedPart(std::string* out, std::string_view raw, std::size_t max_part_bytes) {
  static const char kHex[] = "0123456789ABCDEF";
  if (raw.empty()) {  // never produced by a non-empty value; keeps "{~}" a real hash tag
    out->push_back('~');
    return;
  }
  const std::size_t start = out->size();
  for (std::size_t i = 0; i < raw.size();) {
    std::size_t j = i;
    while (j < raw.size() && kPlain[static_cast<unsigned char>(raw[j])]) ++j;
    out->append(raw.data() + i, j - i);
    if (j == raw.size()) break;
    const auto c = static_cast<unsigned char>(raw[j]);
    const char esc[3] = {'%', kHex[c >> 4], kHex[c & 15]};
    out->append(esc, 3);
    i = j + 1;
  }
  if (out->size() - start <= max_part_bytes) return;
  // Cut at a boundary that does not split a %XX escape, then add a digest of the raw value.
  const std::size_t suffix = 1 + 16;
  std::size_t cut = max_part_bytes - suffix;
  const char* part = out->data() + start;
  if (cut >= 1 && part[cut - 1] == '%') cut -= 1;
  else if (cut >= 2 && part[cut - 2] == '%') cut -= 2;
  out->resize(start + cut);
  out->push_back('~');
  out->append(Sha256Hex(raw), 0, 16);
}

}  // namespace

std::string KeySchema::EscapePart(std::string_view raw) const {
  std::string out;
  out.reserve(std::min(raw.size(), options_.max_part_bytes));
  AppendEscapedPart(&out, raw, options_.max_part_bytes);
  return out;
}

std::string KeySchema::Key(std::string_view family, std::string_view tag,
                           std::initializer_list<std::string_view> parts) const {
  std::size_t size = options_.prefix.size() + family.size() + 3 + tag.size();
  for (std::string_view p : parts) size += 1 + p.size();
  std::string key;
  key.reserve(size + 8);
  key += options_.prefix;
  key.append(family);
  key += ":{";
  AppendEscapedPart(&key, tag, options_.max_part_bytes);
  key += '}';
  for (std::string_view p : parts) {
    key += ':';
    AppendEscapedPart(&key, p, options_.max_part_bytes);
  }
  return key;
}

std::string KeySchema::StormKey(std::string_view family, std::string_view ns,
                                std::string_view alertname) const {
  std::string key;
  key.reserve(options_.prefix.size() + family.size() + 4 + ns.size() + alertname.size() + 8);
  key += options_.prefix;
  key.append(family);
  key += ":{";
  AppendEscapedPart(&key, ns, options_.max_part_bytes);
  key += ':';
  AppendEscapedPart(&key, alertname, options_.max_part_bytes);
  key += '}';
  return key;
}

std::string KeySchema::FamilyPattern(std::string_view family) const {
  std::string p = GlobEscape(options_.prefix);
  if (!family.empty()) {
    p.append(family);
    p += ":{";
  }
  p += '*';
  return p;
}

std::string_view KeySchema::FamilyOf(std::string_view key) const {
  if (key.substr(0, options_.prefix.size()) != options_.prefix) return {};
  key.remove_prefix(options_.prefix.size());
  auto pos = key.find(":{");
  if (pos == std::string_view::npos) return {};
  return key.substr(0, pos);
}

}  // namespace stormkv
