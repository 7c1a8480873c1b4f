#include "stormkv/gateway/json_dom.h"

#include <algorithm>
#include <exception>
#include <new>
#include <nlohmann/json.hpp>
#include <string>

namespace stormkv::jsondom {
namespace {

// One parser per thread: its buffers grow to the largest payload and are reused. A parse
// invalidates the previous document, so it must not be re-entered while a body runs.
simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

// The bytes of the document the thread's parser holds, when WithDocument parsed them: a
// DecodePayload of the same bytes right after (format detection, then the adapter: what
// `stormkv ingest` and the front ends do) reuses that document instead of parsing again.
// Comparing the bytes costs a memcmp, a few percent of a parse. Any other parse clears it.
struct LastDocument {
  std::string bytes;
  bool valid = false;
  // DocumentDeeperThan's answer on this document, for the limit `depth_limit` (0: none yet), so
  // that detection and the adapter walk its containers once.
  std::size_t depth_limit = 0;
  bool deeper = false;
};
LastDocument& ThreadLastDocument() {
  thread_local LastDocument last;
  return last;
}


// Upper bound of the <why> part of the "invalid JSON" errors.
constexpr std::size_t kMaxErrorBytes = 256;

// nlohmann's explanation of a decoding error, bounded: its "[json.exception...] " tag dropped,
// the input token it quotes (every control byte as "<U+0009>") cut to its ends, bytes escaped.
std::string JsonErrorText(const std::string& exception_what, bool number_overflow) {
  constexpr std::size_t kTokenEnd = 16;
  std::string what = exception_what;
  const std::size_t tag = what.find("] ");
  if (what.rfind("[json.exception.", 0) == 0 && tag != std::string::npos) what.erase(0, tag + 2);
  if (number_overflow) {  // "number overflow parsing '<token>'"
    const std::size_t q = what.find('\'');
    what = "number out of range" + (q == std::string::npos ? "" : ": " + what.substr(q));
  }
  const std::size_t open = what.find('\'');
  if (open != std::string::npos) {
    std::size_t close = what.find("'; expected", open + 1);
    if (close == std::string::npos) close = what.rfind('\'');
    if (close != std::string::npos && close > open + 1 + 2 * kTokenEnd + 3) {
      const std::size_t len = close - open - 1;
      what.replace(open + 1, len,
                   what.substr(open + 1, kTokenEnd) + "..." +
                       what.substr(close - kTokenEnd, kTokenEnd));
    }
  }
  std::string out = EscapeForError(what, what.size());
  if (out.size() > kMaxErrorBytes) {
    out.resize(kMaxErrorBytes - 3);
    out += "...";
  }
  return out;
}


// simdjson says what kind of error; nlohmann's SAX reader (no DOM is built) says where and
// quotes the token, as the adapters' errors always did. Run only on input simdjson refused.
class Diagnosis final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& e) override {
    what_ = e.what();
    overflow_ = e.id == 406;
    return false;
  }
  // The bounded explanation, or "" when nlohmann accepts the text.
  std::string Explain(std::string_view text) {
    try {
      nlohmann::json::sax_parse(text.begin(), text.end(), this);
    } catch (const std::exception& e) {
      if (what_.empty()) what_ = e.what();
    }
    return what_.empty() ? "" : JsonErrorText(what_, overflow_);
  }

 private:
  std::string what_;
  bool overflow_ = false;
};

std::string_view ErrorText(simdjson::error_code e) {
  using simdjson::error_code;
  switch (e) {
    case error_code::EMPTY:
      return "empty input: no JSON value found";
    case error_code::TAPE_ERROR:
    case error_code::INCOMPLETE_ARRAY_OR_OBJECT:
      return "improper structure: missing or superfluous commas, braces, brackets or keys, or "
             "the document ends early";
    case error_code::TRAILING_CONTENT:
      return "unexpected content after the JSON value";
    case error_code::STRING_ERROR:
      return "a string has an invalid escape (or a lone \\u surrogate)";
    case error_code::UNESCAPED_CHARS:
      return "a string holds an unescaped control character";
    case error_code::UNCLOSED_STRING:
      return "a string is not closed";
    case error_code::T_ATOM_ERROR:
    case error_code::F_ATOM_ERROR:
    case error_code::N_ATOM_ERROR:
      return "invalid literal (true, false or null expected)";
    case error_code::NUMBER_ERROR:
    case error_code::NUMBER_OUT_OF_RANGE:
      return "a number is malformed or out of range (integers beyond 64 bits, doubles beyond "
             "1.8e308)";
    case error_code::UTF8_ERROR:
      return "the input is not valid UTF-8";
    case error_code::DEPTH_ERROR:
      return "nested too deeply";
    case error_code::CAPACITY:
      return "the document is too large for the parser";
    case error_code::MEMALLOC:
      return "out of memory while parsing";
    default:
      return simdjson::error_message(e);
  }
}

}  // namespace

std::string_view TypeName(Value v) {
  using simdjson::dom::element_type;
  switch (v.type()) {
    case element_type::OBJECT:
      return "object";
    case element_type::ARRAY:
      return "array";
    case element_type::STRING:
      return "string";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "number";
    case element_type::BOOL:
      return "boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

std::optional<Value> Member(Value obj, std::string_view key) {
  std::optional<Value> found;
  const simdjson::dom::object members = obj.get_object().value_unsafe();
  for (simdjson::dom::key_value_pair kv : members) {
    if (kv.key == key) found = kv.value;
  }
  if (found && IsNull(*found)) return std::nullopt;
  return found;
}

void SortedMembers(Value obj, std::vector<std::pair<std::string_view, Value>>* out) {
  out->clear();
  const simdjson::dom::object members = obj.get_object().value_unsafe();
  bool ascending = true;  // strictly: then sorting and dropping repeats change nothing
  for (simdjson::dom::key_value_pair kv : members) {
    ascending = ascending && (out->empty() || out->back().first < kv.key);
    out->emplace_back(kv.key, kv.value);
  }
  // What senders usually send (Alertmanager and Prometheus sort label sets): no sort needed,
  // so no merge buffer is allocated.
  if (ascending) return;
  // Stable: of equal keys the last one stays last, and is the one kept.
  std::stable_sort(out->begin(), out->end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  auto w = out->begin();
  for (auto r = out->begin(); r != out->end(); ++r) {
    if (r + 1 != out->end() && (r + 1)->first == r->first) continue;
    *w++ = *r;
  }
  out->erase(w, out->end());
}

// On a parsed document this is what JsonNestingExceededAt's byte scan decides on the text
// (exact for valid JSON), at the cost of a walk over the elements instead of every byte.
bool DeeperThan(Value v, std::size_t depth, std::size_t max_depth) {
  using simdjson::dom::element_type;
  const element_type t = v.type();
  if (t != element_type::ARRAY && t != element_type::OBJECT) return false;
  if (depth + 1 > max_depth) return true;
  if (t == element_type::ARRAY) {
    const simdjson::dom::array items = v.get_array().value_unsafe();
    for (Value child : items) {
      if (DeeperThan(child, depth + 1, max_depth)) return true;
    }
  } else {
    const simdjson::dom::object members = v.get_object().value_unsafe();
    for (simdjson::dom::key_value_pair kv : members) {
      if (DeeperThan(kv.value, depth + 1, max_depth)) return true;
    }
  }
  return false;
}

Status DecodePayload(std::string_view payload, const AdapterLimits& limits,
                     std::string_view adapter, const std::function<Status(Value)>& body) {
  try {
    // CheckPayloadEnvelope's answer, in its order (size, then depth, then the JSON errors),
    // with its byte scan run only when the text does not parse or the document is too deep
    // (for the offset it names): on a parsed document the element walk decides.
    if (PayloadTooLarge(payload.size(), limits)) {
      return CheckPayloadEnvelope(payload, limits);
    }
    Value doc;
    LastDocument& last = ThreadLastDocument();
    simdjson::error_code err = simdjson::error_code::SUCCESS;
    if (last.valid && payload == last.bytes) {
      doc = ThreadParser().doc.root();
    } else {
      last.valid = false;
      err = ThreadParser().parse(payload.data(), payload.size()).get(doc);
    }
    // On the reused document the depth walk detection made is reused too (DocumentDeeperThan
    // walks a freshly parsed one itself).
    if (err || DocumentDeeperThan(doc, limits.max_json_depth)) {
      STORMKV_RETURN_IF_ERROR(CheckPayloadEnvelope(payload, limits));
    }
    if (err == simdjson::error_code::MEMALLOC) {
      return Status::InvalidArgument("payload: out of memory while parsing");
    }
    if (err) {
      std::string why = Diagnosis().Explain(payload);
      if (why.empty()) why = ErrorText(err);  // e.g. an integer beyond 64 bits
      return Status::InvalidArgument("payload: invalid JSON: " + why);
    }
    return body(doc);
  } catch (const std::bad_alloc&) {
    return Status::InvalidArgument("payload: out of memory while parsing");
  } catch (const std::exception& e) {
    return Status::Internal(std::string(adapter) + ": " + EscapeForError(e.what(), 200));
  }
}

bool DocumentDeeperThan(Value root, std::size_t max_depth) {
  LastDocument& last = ThreadLastDocument();
  if (!last.valid || max_depth == 0) return DeeperThan(root, 0, max_depth);
  if (last.depth_limit != max_depth) {
    last.deeper = DeeperThan(root, 0, max_depth);
    last.depth_limit = max_depth;
  }
  return last.deeper;
}

bool WithDocument(std::string_view payload, const std::function<void(Value)>& fn) {
  try {
    Value doc;
    LastDocument& last = ThreadLastDocument();
    last.valid = false;
    last.depth_limit = 0;
    if (ThreadParser().parse(payload.data(), payload.size()).get(doc)) return false;
    try {
      last.bytes.assign(payload.data(), payload.size());
      last.valid = true;
    } catch (const std::bad_alloc&) {  // no memo then; the document is still good
    }
    fn(doc);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace stormkv::jsondom

namespace stormkv {

bool IsJsonText(std::string_view text) {
  return jsondom::WithDocument(text, [](jsondom::Value) {});
}

}  // namespace stormkv
