#include "fault/fault_util.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "stormkv/script.h"

namespace stormkv::fault {

Result<std::map<std::string, KeyState>> Snapshot(KvBackend& kv, const std::string& prefix) {
  KeySchemaOptions o;
  o.prefix = prefix;
  const KeySchema schema(o);
  std::vector<std::string> keys;
  Status scanned = kv.ScanAll(schema.FamilyPattern(), [&](const std::string& k) {
    keys.push_back(k);
    return Status::Ok();
  });
  if (!scanned.ok()) return scanned;
  std::map<std::string, KeyState> out;
  for (const std::string& key : keys) {
    KeyState st;
    Result<std::string> type = kv.Type(key);
    if (!type.ok()) return type.status();
    st.type = *type;
    if (st.type == "none") continue;
    if (st.type == "string") {
      Result<std::optional<std::string>> v = kv.Get(key);
      if (!v.ok()) return v.status();
      st.value = v->value_or("");
    } else if (st.type == "hash") {
      Result<std::vector<std::pair<std::string, std::string>>> h = kv.HGetAll(key);
      if (!h.ok()) return h.status();
      std::sort(h->begin(), h->end());
      for (const auto& [f, v] : *h) st.value += f + "=" + v + "\n";
    } else if (st.type == "zset") {
      Result<Reply> z = kv.Run({"ZRANGEBYSCORE", key, "-inf", "+inf", "WITHSCORES"});
      if (!z.ok()) return z.status();
      std::vector<std::string> lines;
      const auto& e = z->elements();
      for (std::size_t i = 0; i + 1 < e.size(); i += 2) {
        lines.push_back(e[i].str() + "=" + e[i + 1].str() + "\n");
      }
      std::sort(lines.begin(), lines.end());
      for (const std::string& l : lines) st.value += l;
    } else if (st.type == "set") {
      Result<std::vector<std::string>> m = kv.SMembers(key);
      if (!m.ok()) return m.status();
      std::sort(m->begin(), m->end());
      for (const std::string& s : *m) st.value += s + "\n";
    }
    Result<int64_t> pttl = kv.Pttl(key);
    if (!pttl.ok()) return pttl.status();
    st.pttl = *pttl;
    out[key.substr(std::min(prefix.size(), key.size()))] = std::move(st);
  }
  return out;
}

std::string Diff(const std::map<std::string, KeyState>& want,
                 const std::map<std::string, KeyState>& got, int64_t ttl_slack_ms,
                 const std::vector<std::string>& value_free) {
  std::ostringstream os;
  auto free = [&](const std::string& k) {
    for (const std::string& p : value_free) {
      if (k.rfind(p, 0) == 0) return true;
    }
    return false;
  };
  for (const auto& [k, w] : want) {
    auto it = got.find(k);
    if (it == got.end()) {
      os << "missing key " << k << " (" << w.type << ")\n";
      continue;
    }
    const KeyState& g = it->second;
    if (g.type != w.type) {
      os << k << ": type " << g.type << ", want " << w.type << "\n";
    } else if (!free(k) && g.value != w.value) {
      os << k << ": value\n  got  " << g.value << "\n  want " << w.value << "\n";
    }
    if ((g.pttl < 0 || w.pttl < 0) ? g.pttl != w.pttl : std::llabs(g.pttl - w.pttl) > ttl_slack_ms) {
      os << k << ": pttl " << g.pttl << ", want " << w.pttl << "\n";
    }
  }
  for (const auto& [k, g] : got) {
    if (!want.count(k)) os << "unexpected key " << k << " (" << g.type << ") = " << g.value << "\n";
  }
  return os.str();
}

void TriggerBackend::ArmAt(int64_t at, Status status, bool persistent) {
  std::lock_guard<std::mutex> lock(mu_);
  at_ = at;
  status_ = std::move(status);
  persistent_ = persistent;
}

void TriggerBackend::Disarm() {
  std::lock_guard<std::mutex> lock(mu_);
  at_ = 0;
}

std::vector<std::string> TriggerBackend::op_names() const {
  std::lock_guard<std::mutex> lock(mu_);
  return names_;
}

void TriggerBackend::Count(const std::string& name) {
  const int64_t n = ++ops_;
  std::lock_guard<std::mutex> lock(mu_);
  names_.push_back(name);
  if (at_ > 0 && n == at_) {
    if (persistent_) {
      faults_->FailAll(status_);
    } else {
      faults_->FailNext(1, status_);
    }
  }
}

Result<Reply> TriggerBackend::Run(const Command& argv) {
  Count(argv.empty() ? "" : argv[0]);
  return ForwardingBackend::Run(argv);
}

std::vector<Result<Reply>> TriggerBackend::RunBatch(const std::vector<Command>& cmds) {
  // Each command is one operation of the fault backend: arm before the batch reaches it.
  for (const Command& c : cmds) Count(c.empty() ? "" : c[0]);
  return ForwardingBackend::RunBatch(cmds);
}

Result<Reply> TriggerBackend::Eval(const Script& script, const std::vector<std::string>& keys,
                                   const std::vector<std::string>& args) {
  Count(script.name());
  return ForwardingBackend::Eval(script, keys, args);
}

void ReplyLostBackend::ArmAt(int64_t at, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  at_ = at;
  status_ = std::move(status);
}

bool ReplyLostBackend::Hit() {
  const int64_t n = ++ops_;
  std::lock_guard<std::mutex> lock(mu_);
  return at_ > 0 && n == at_;
}

Result<Reply> ReplyLostBackend::Run(const Command& argv) {
  const bool hit = Hit();
  Result<Reply> r = ForwardingBackend::Run(argv);
  if (!hit) return r;
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

Result<Reply> ReplyLostBackend::Eval(const Script& script, const std::vector<std::string>& keys,
                                     const std::vector<std::string>& args) {
  const bool hit = Hit();
  Result<Reply> r = ForwardingBackend::Eval(script, keys, args);
  if (!hit) return r;
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

std::vector<Result<Reply>> ReplyLostBackend::RunBatch(const std::vector<Command>& cmds) {
  // Counted per command, like TriggerBackend: the whole batch runs; from the hit command on,
  // the replies are lost (the connection broke while reading them).
  std::size_t lost_from = cmds.size();
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    if (Hit() && lost_from == cmds.size()) lost_from = i;
  }
  std::vector<Result<Reply>> r = ForwardingBackend::RunBatch(cmds);
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t i = lost_from; i < r.size(); ++i) r[i] = status_;
  return r;
}

}  // namespace stormkv::fault
