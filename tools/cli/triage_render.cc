// tools/cli/triage_render.cc — the text and JSON forms of a triage report (triage.h); the
// cluster report (triage_cluster.cc) is built from the same pieces.
#include <cctype>
#include <cstdio>
#include <sstream>

#include "table.h"
#include "triage.h"
#include "units.h"

namespace stormkv::cli {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Wrap(const std::string& text, std::size_t width, std::size_t indent) {
  std::istringstream words(text);
  std::string word, line, out;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
    }
    if (!line.empty()) line += ' ';
    line += word;
  }
  return out + line;
}

std::string TtlText(int64_t pttl) {
  if (pttl == -1) return "none";
  if (pttl < 0) return "?";
  int64_t s = pttl / 1000;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  return std::to_string(s / 3600) + "h";
}

std::string Approx(const TriageReport& r) { return r.sampled ? "~" : ""; }

int64_t Round(double v) { return static_cast<int64_t>(v + 0.5); }

}  // namespace

std::string RenderKeysSection(const TriageReport& r) {
  std::ostringstream os;
  os << "Keys: " << FormatCount(r.keys_scanned) << " scanned";
  if (r.sampled) {
    os << ", " << FormatCount(r.keys_inspected) << " sampled (figures marked ~ are extrapolated)";
  } else {
    os << ", all inspected";
  }
  os << "\n";
  if (!r.families.empty()) {
    Table t({"family", "keys", "bytes", "bytes/key", "share", "no TTL"});
    for (const FamilyUsage& f : r.families) {
      std::string a = r.sampled && f.inspected_keys < f.keys ? "~" : "";
      t.AddRow({f.label, FormatCount(f.keys),
                r.memory_usage_supported ? a + FormatBytes(Round(f.bytes)) : "?",
                r.memory_usage_supported && f.keys > 0 ? a + FormatCount(Round(f.bytes / f.keys))
                                                       : "?",
                r.total_key_bytes > 0 ? FormatPercent(f.bytes / r.total_key_bytes) : "",
                a + FormatCount(Round(f.no_ttl_keys))});
    }
    t.AddSeparator();
    t.AddRow({"total", FormatCount(r.keys_scanned),
              Approx(r) + FormatBytes(Round(r.total_key_bytes)), "", "",
              Approx(r) + FormatCount(Round(r.no_ttl_keys))});
    os << t.Render(2);
  }
  os << "\nKeys without TTL: " << Approx(r) << FormatCount(Round(r.no_ttl_keys)) << " ("
     << Approx(r) << FormatBytes(Round(r.no_ttl_bytes)) << "), of them " << Approx(r)
     << FormatCount(Round(r.stormkv_no_ttl_keys)) << " stormkv keys (" << Approx(r)
     << FormatBytes(Round(r.stormkv_no_ttl_bytes)) << ")\n";
  return os.str();
}

std::string RenderTopKeys(const TriageReport& r) {
  if (r.top_keys.empty()) return "";
  bool with_node = false;
  for (const KeyInfo& k : r.top_keys) with_node = with_node || k.node >= 0;
  std::ostringstream os;
  os << "\nBiggest keys" << (r.sampled ? " (among the sampled)" : "") << "\n";
  std::vector<std::string> headers = {"key", "type", "encoding", "bytes", "ttl"};
  if (with_node) headers.push_back("node");
  Table t(headers, 3);
  for (const KeyInfo& k : r.top_keys) {
    std::string key = k.key.size() > 60 ? k.key.substr(0, 57) + "..." : k.key;
    std::vector<std::string> row = {key, k.type, k.encoding,
                                    k.bytes >= 0 ? FormatBytes(k.bytes) : "?", TtlText(k.pttl)};
    if (with_node) row.push_back(k.node >= 0 ? std::to_string(k.node) : "");
    t.AddRow(row);
  }
  os << t.Render(2);
  return os.str();
}

std::string RenderNotes(const std::vector<std::string>& notes) {
  std::string out;
  for (const std::string& n : notes) out += "\nnote: " + n;
  if (!notes.empty()) out += "\n";
  return out;
}

std::string RenderFindings(const std::vector<Finding>& findings) {
  std::ostringstream os;
  os << "\nFindings\n";
  if (findings.empty()) os << "  none\n";
  for (const Finding& f : findings) {
    std::string head = Upper(SeverityName(f.severity));
    head.resize(8, ' ');
    os << "  " << head << Wrap(f.code + ": " + f.message, 90, 10) << "\n";
  }
  int errors = 0, warnings = 0;
  for (const Finding& f : findings) {
    errors += f.severity == Severity::kError;
    warnings += f.severity == Severity::kWarning;
  }
  os << "\n"
     << (errors ? "verdict: " + std::to_string(errors) + " error(s), " : "verdict: no errors, ")
     << warnings << " warning(s)\n";
  return os.str();
}

std::string RenderTriageText(const TriageReport& r, const TriageOptions&) {
  std::ostringstream os;
  const MemoryInfo& m = r.memory;
  os << "stormkv triage " << r.backend;
  if (!m.redis_version.empty()) os << " (Redis " << m.redis_version << ")";
  os << "\n\n";

  auto bytes = [](int64_t b) { return b < 0 ? std::string("?") : FormatBytes(b); };
  os << "Memory (INFO memory)\n";
  auto row = [&](const char* name, const std::string& value, const std::string& note) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "  %-14s %10s", name, value.c_str());
    os << buf << (note.empty() ? "" : "   " + note) << "\n";
  };
  row("used_memory", bytes(m.used_memory),
      m.used_memory_peak >= 0 ? "peak " + bytes(m.used_memory_peak) : "");
  std::string policy = "policy " + (m.policy.empty() ? std::string("?") : m.policy);
  if (m.maxmemory > 0 && m.used_memory > m.maxmemory) policy += "   <-- BELOW used_memory";
  row("maxmemory", m.maxmemory == 0 ? "unlimited" : bytes(m.maxmemory), policy);
  row("dataset", bytes(m.dataset), "keys and values");
  row("overhead", bytes(m.overhead),
      m.startup >= 0 ? "of which " + bytes(m.startup) + " at startup" : "");
  std::string scripts_note =
      m.cached_scripts >= 0 ? FormatCount(m.cached_scripts) + " cached scripts" : "";
  if (m.lua_vm >= 0) {
    scripts_note +=
        (scripts_note.empty() ? "" : "; ") + ("Lua VM " + bytes(m.lua_vm) + " outside used_memory");
  }
  row("scripts", bytes(m.scripts), scripts_note);
  row("clients", bytes(m.clients_normal),
      m.clients_replicas > 0 ? "replicas " + bytes(m.clients_replicas) : "");
  char frag[32] = "?";
  if (m.fragmentation_ratio >= 0) std::snprintf(frag, sizeof frag, "%.2f", m.fragmentation_ratio);
  row("fragmentation", frag, m.used_memory_rss >= 0 ? "rss " + bytes(m.used_memory_rss) : "");
  os << "\n";

  os << RenderKeysSection(r) << RenderTopKeys(r) << RenderNotes(r.notes)
     << RenderFindings(r.findings);
  return os.str();
}

nlohmann::ordered_json MemoryJson(const MemoryInfo& m) {
  return {{"used_memory", m.used_memory},
          {"used_memory_peak", m.used_memory_peak},
          {"used_memory_rss", m.used_memory_rss},
          {"dataset", m.dataset},
          {"overhead", m.overhead},
          {"startup", m.startup},
          {"scripts", m.scripts},
          {"lua_vm", m.lua_vm},
          {"cached_scripts", m.cached_scripts},
          {"clients_normal", m.clients_normal},
          {"clients_replicas", m.clients_replicas},
          {"fragmentation_ratio", m.fragmentation_ratio},
          {"maxmemory", m.maxmemory},
          {"maxmemory_policy", m.policy},
          {"evicted_keys", m.evicted_keys},
          {"oom_rejections", m.oom_rejections}};
}

nlohmann::ordered_json FamiliesJson(const TriageReport& r) {
  nlohmann::ordered_json fams = nlohmann::ordered_json::array();
  for (const FamilyUsage& f : r.families) {
    fams.push_back({{"family", f.label},
                    {"stormkv", f.is_stormkv},
                    {"keys", f.keys},
                    {"inspected_keys", f.inspected_keys},
                    {"bytes", Round(f.bytes)},
                    {"estimated", f.inspected_keys < f.keys},
                    {"no_ttl_keys", Round(f.no_ttl_keys)},
                    {"no_ttl_bytes", Round(f.no_ttl_bytes)}});
  }
  return fams;
}

nlohmann::ordered_json KeysJson(const std::vector<KeyInfo>& v) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const KeyInfo& k : v) {
    nlohmann::ordered_json e = {{"key", k.key},
                                {"type", k.type},
                                {"encoding", k.encoding},
                                {"bytes", k.bytes},
                                {"pttl", k.pttl}};
    if (k.node >= 0) e["node"] = k.node;
    a.push_back(std::move(e));
  }
  return a;
}

nlohmann::ordered_json TagsJson(const std::vector<TagUsage>& tags) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const TagUsage& t : tags) {
    a.push_back({{"tag", t.tag},
                 {"keys", t.keys},
                 {"bytes", Round(t.bytes)},
                 {"estimated", t.inspected_keys < t.keys}});
  }
  return a;
}

nlohmann::ordered_json FindingsJson(const std::vector<Finding>& findings) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const Finding& f : findings) {
    nlohmann::ordered_json e = {
        {"severity", SeverityName(f.severity)}, {"code", f.code}, {"message", f.message}};
    if (f.node >= 0) e["node"] = f.node;
    a.push_back(std::move(e));
  }
  return a;
}

nlohmann::ordered_json TriageJson(const TriageReport& r) {
  using json = nlohmann::ordered_json;
  const MemoryInfo& m = r.memory;
  json j;
  j["backend"] = r.backend;
  j["redis_version"] = m.redis_version;
  j["dbsize"] = r.dbsize;
  j["keys_scanned"] = r.keys_scanned;
  j["keys_inspected"] = r.keys_inspected;
  j["sampled"] = r.sampled;
  j["memory"] = MemoryJson(m);
  j["families"] = FamiliesJson(r);
  j["total_key_bytes"] = Round(r.total_key_bytes);
  j["keys_without_ttl"] = {{"keys", Round(r.no_ttl_keys)},
                           {"bytes", Round(r.no_ttl_bytes)},
                           {"stormkv_keys", Round(r.stormkv_no_ttl_keys)},
                           {"stormkv_bytes", Round(r.stormkv_no_ttl_bytes)}};
  j["top_keys"] = KeysJson(r.top_keys);
  j["big_keys"] = KeysJson(r.big_keys);
  j["top_tags"] = TagsJson(r.top_tags_by_keys);
  j["findings"] = FindingsJson(r.findings);
  j["notes"] = r.notes;
  j["errors"] = HasErrors(r);
  return j;
}

}  // namespace stormkv::cli
