#include "stormkv/reply.h"

namespace stormkv {

std::optional<std::string> Reply::AsOptionalString() const {
  if (type_ == Type::kBulk || type_ == Type::kStatus) return str_;
  return std::nullopt;
}

std::string Reply::ToString() const {
  switch (type_) {
    case Type::kNil: return "(nil)";
    case Type::kInteger: return "(integer) " + std::to_string(integer_);
    case Type::kBulk: return "\"" + str_ + "\"";
    case Type::kStatus: return str_;
    case Type::kError: return "(error) " + str_;
    case Type::kArray: {
      std::string out = "[";
      for (size_t i = 0; i < elements_.size(); ++i) {
        if (i) out += ", ";
        out += elements_[i].ToString();
      }
      return out + "]";
    }
  }
  return "?";
}

bool operator==(const Reply& a, const Reply& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Reply::Type::kNil: return true;
    case Reply::Type::kInteger: return a.integer_ == b.integer_;
    case Reply::Type::kArray: return a.elements_ == b.elements_;
    default: return a.str_ == b.str_;
  }
}

}  // namespace stormkv
