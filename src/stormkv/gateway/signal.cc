#include "stormkv/gateway/signal.h"

#include <cstdio>
#include <exception>
#include <new>
#include <nlohmann/json.hpp>

#include "stormkv/gateway/json_text.h"

namespace stormkv {
namespace {

using nlohmann::json;

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool Digits(int n, int64_t* out) {
    if (pos_ + n > s_.size()) return false;
    int64_t v = 0;
    for (int i = 0; i < n; ++i) {
      char c = s_[pos_ + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    pos_ += n;
    *out = v;
    return true;
  }
  bool Char(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool OneOf(std::string_view set, char* out) {
    if (pos_ < s_.size() && set.find(s_[pos_]) != std::string_view::npos) {
      *out = s_[pos_++];
      return true;
    }
    return false;
  }
  bool IsDigit() const { return pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9'; }
  bool AtEnd() const { return pos_ == s_.size(); }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

std::string Quote(std::string_view s) { return "\"" + EscapeForError(s) + "\""; }

}  // namespace

std::string_view SignalSourceName(SignalSource source) {
  switch (source) {
    case SignalSource::kAlertmanager:
      return "alertmanager";
    case SignalSource::kKubernetesEvent:
      return "kubernetes-event";
  }
  return "unknown";
}

std::optional<SignalSource> ParseSignalSource(std::string_view name) {
  if (name == "alertmanager") return SignalSource::kAlertmanager;
  if (name == "kubernetes-event") return SignalSource::kKubernetesEvent;
  return std::nullopt;
}

std::string EscapeForError(std::string_view text, std::size_t max_bytes) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < max_bytes; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

bool PayloadTooLarge(std::size_t payload_bytes, const AdapterLimits& limits) {
  return payload_bytes > limits.max_payload_bytes;
}

Status CheckPayloadEnvelope(std::string_view payload, const AdapterLimits& limits) {
  if (PayloadTooLarge(payload.size(), limits)) {
    return Status::InvalidArgument("payload too large: " + std::to_string(payload.size()) +
                                   " bytes > limit " +
                                   std::to_string(limits.max_payload_bytes));
  }
  const std::size_t at = JsonNestingExceededAt(payload, limits.max_json_depth);
  if (at != std::string_view::npos) {
    return Status::InvalidArgument("payload: JSON nesting deeper than " +
                                   std::to_string(limits.max_json_depth) + " at byte " +
                                   std::to_string(at));
  }
  return Status::Ok();
}

Status CheckStringMap(const std::map<std::string, std::string>& map, std::string_view field,
                      const AdapterLimits& limits, std::size_t max_value_bytes) {
  const std::string f(field);
  if (map.size() > limits.max_labels) {
    return Status::InvalidArgument(f + ": " + std::to_string(map.size()) +
                                   " entries exceed the limit of " +
                                   std::to_string(limits.max_labels));
  }
  for (const auto& [name, value] : map) {
    if (name.empty()) return Status::InvalidArgument(f + ": empty name");
    if (name.size() > limits.max_label_name_bytes) {
      return Status::InvalidArgument(f + ": name " + Quote(name) + " is " +
                                     std::to_string(name.size()) + " bytes, limit " +
                                     std::to_string(limits.max_label_name_bytes));
    }
    if (value.size() > max_value_bytes) {
      return Status::InvalidArgument(f + "." + EscapeForError(name) + ": value is " +
                                     std::to_string(value.size()) + " bytes, limit " +
                                     std::to_string(max_value_bytes));
    }
  }
  return Status::Ok();
}

Result<std::optional<int64_t>> ParseRfc3339Ms(std::string_view text) {
  auto bad = [&] { return Status::InvalidArgument("not an RFC 3339 timestamp: " + Quote(text)); };
  Cursor c(text);
  int64_t year, month, day, hour, minute, second;
  char sep;
  if (!c.Digits(4, &year) || !c.Char('-') || !c.Digits(2, &month) || !c.Char('-') ||
      !c.Digits(2, &day) || !c.OneOf("Tt ", &sep) || !c.Digits(2, &hour) || !c.Char(':') ||
      !c.Digits(2, &minute) || !c.Char(':') || !c.Digits(2, &second)) {
    return bad();
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, static_cast<unsigned>(month)) ||
      hour > 23 || minute > 59 || second > 60) {
    return bad();
  }
  if (second == 60) second = 59;
  int64_t millis = 0;
  if (c.Char('.')) {
    if (!c.IsDigit()) return bad();
    int n = 0;
    while (c.IsDigit()) {
      int64_t digit = 0;
      (void)c.Digits(1, &digit);
      if (n < 3) millis = millis * 10 + digit;
      if (++n > 9) return bad();
    }
    for (; n < 3; ++n) millis *= 10;
  }
  int64_t offset_min = 0;
  char zone;
  if (!c.OneOf("Zz+-", &zone)) return bad();
  if (zone == '+' || zone == '-') {
    int64_t oh, om;
    if (!c.Digits(2, &oh) || !c.Char(':') || !c.Digits(2, &om) || oh > 23 || om > 59) {
      return bad();
    }
    offset_min = (oh * 60 + om) * (zone == '-' ? -1 : 1);
  }
  if (!c.AtEnd()) return bad();
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
  if (secs < 0) return std::optional<int64_t>();
  return std::optional<int64_t>(secs * 1000 + millis);
}

std::string FormatRfc3339Ms(int64_t ms) {
  int64_t secs = ms / 1000;
  int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  if (y >= 0 && y <= 9999) {  // every real timestamp: written by hand (snprintf costs ~10x)
    char out[24];
    auto put = [&out](std::size_t at, unsigned v, std::size_t digits) {
      for (std::size_t k = digits; k-- > 0; v /= 10) out[at + k] = static_cast<char>('0' + v % 10);
    };
    put(0, static_cast<unsigned>(y), 4);
    out[4] = '-';
    put(5, m, 2);
    out[7] = '-';
    put(8, d, 2);
    out[10] = 'T';
    put(11, static_cast<unsigned>(rem / 3600), 2);
    out[13] = ':';
    put(14, static_cast<unsigned>(rem / 60 % 60), 2);
    out[16] = ':';
    put(17, static_cast<unsigned>(rem % 60), 2);
    std::size_t n = 19;
    if (frac != 0) {
      out[n++] = '.';
      put(n, static_cast<unsigned>(frac), 3);
      n += 3;
    }
    out[n++] = 'Z';
    return std::string(out, n);
  }
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
  return buf;
}

}  // namespace stormkv
