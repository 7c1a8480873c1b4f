#include "stormkv/key_schema.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include "stormkv/script.h"

namespace stormkv {
namespace {

bool IsPlain(unsigned char c) {
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

std::string KeySchema::EscapePart(std::string_view raw) const {
  static const char kHex[] = "0123456789ABCDEF";
  if (raw.empty()) return "~";  // never produced by a non-empty value; keeps "{~}" a real hash tag
  std::string out;
  out.reserve(std::min(raw.size(), options_.max_part_bytes));
  for (unsigned char c : raw) {
    if (IsPlain(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (out.size() <= options_.max_part_bytes) return out;
  // Cut at a boundary that does not split a %XX escape, then add a digest of the raw value.
  const std::size_t suffix = 1 + 16;
  std::size_t cut = options_.max_part_bytes - suffix;
  if (cut >= 1 && out[cut - 1] == '%') cut -= 1;
  else if (cut >= 2 && out[cut - 2] == '%') cut -= 2;
  out.resize(cut);
  out += '~';
  out += Sha256Hex(raw).substr(0, 16);
  return out;
}

std::string KeySchema::Key(std::string_view family, std::string_view tag,
                           std::initializer_list<std::string_view> parts) const {
  std::string key = options_.prefix;
  key.append(family);
  key += ":{";
  key += EscapePart(tag);
  key += '}';
  for (std::string_view p : parts) {
    key += ':';
    key += EscapePart(p);
  }
  return key;
}

std::string KeySchema::StormKey(std::string_view family, std::string_view ns,
                                std::string_view alertname) const {
  std::string key = options_.prefix;
  key.append(family);
  key += ":{";
  key += EscapePart(ns);
  key += ':';
  key += EscapePart(alertname);
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
