#include "integration/fixture.h"

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "stormkv/byte_size.h"

namespace stormkv::integration {
namespace {

std::string Num(int64_t v) {
  const std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out = v < 0 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

class LedgerPrinter : public ::testing::Environment {
 public:
  void TearDown() override { BudgetLedger::Get().Print(std::cout); }
};

[[maybe_unused]] ::testing::Environment* const kPrinter =
    ::testing::AddGlobalTestEnvironment(new LedgerPrinter);

}  // namespace

Result<std::map<std::string, FamilyUsage>> MemoryByFamily(KvBackend& kv, const KeySchema& schema) {
  std::vector<std::string> keys;
  STORMKV_RETURN_IF_ERROR(kv.ScanAll(schema.FamilyPattern(), [&](const std::string& k) {
    keys.push_back(k);
    return Status::Ok();
  }));
  std::map<std::string, FamilyUsage> out;
  constexpr std::size_t kBatch = 1000;
  for (std::size_t i = 0; i < keys.size(); i += kBatch) {
    std::vector<Command> cmds;
    for (std::size_t j = i; j < std::min(keys.size(), i + kBatch); ++j) {
      cmds.push_back({"MEMORY", "USAGE", keys[j], "SAMPLES", "0"});
    }
    std::vector<Result<Reply>> replies = kv.RunBatch(cmds);
    for (std::size_t j = 0; j < replies.size(); ++j) {
      if (!replies[j].ok()) return replies[j].status().WithContext("MEMORY USAGE " + keys[i + j]);
      if (replies[j]->is_nil()) continue;  // expired meanwhile
      std::string family(schema.FamilyOf(keys[i + j]));
      FamilyUsage& f = out[family.empty() ? "other" : family];
      f.keys += 1;
      f.bytes += replies[j]->is_integer() ? replies[j]->integer() : 0;
    }
  }
  return out;
}

void PrintFamilyReport(const std::string& title, const std::map<std::string, FamilyUsage>& fams,
                       std::ostream& os) {
  int64_t keys = 0, bytes = 0;
  for (const auto& [name, f] : fams) {
    keys += f.keys;
    bytes += f.bytes;
  }
  os << title << "\n";
  os << "  " << std::left << std::setw(15) << "family" << std::right << std::setw(12) << "keys"
     << std::setw(16) << "bytes" << std::setw(12) << "bytes/key" << std::setw(8) << "share"
     << "\n";
  for (const auto& [name, f] : fams) {
    char share[16];
    std::snprintf(share, sizeof share, "%.1f%%",
                  bytes ? 100.0 * static_cast<double>(f.bytes) / static_cast<double>(bytes) : 0.0);
    os << "  " << std::left << std::setw(15) << name << std::right << std::setw(12) << Num(f.keys)
       << std::setw(16) << Num(f.bytes) << std::setw(12) << (f.keys ? Num(f.bytes / f.keys) : "-")
       << std::setw(8) << share << "\n";
  }
  os << "  " << std::left << std::setw(15) << "total" << std::right << std::setw(12) << Num(keys)
     << std::setw(16) << Num(bytes) << "  (" << FormatBytes(bytes) << ")\n";
}

Status CheckBudgetConfig(KvBackend& kv) {
  Result<std::optional<std::string>> mm = kv.ConfigGet("maxmemory");
  if (!mm.ok()) return mm.status().WithContext("CONFIG GET maxmemory");
  Result<std::optional<std::string>> policy = kv.ConfigGet("maxmemory-policy");
  if (!policy.ok()) return policy.status().WithContext("CONFIG GET maxmemory-policy");
  const std::string want = std::to_string(kBudgetBytes);
  if (!mm->has_value() || **mm != want) {
    return Status::Internal("maxmemory is " + mm->value_or("(unset)") + ", the budget is " + want +
                            " (256 MB)");
  }
  if (!policy->has_value() || **policy != "noeviction") {
    return Status::Internal("maxmemory-policy is " + policy->value_or("(unset)") +
                            ", the budget needs noeviction");
  }
  return Status::Ok();
}

Status ApplyBudget(KvBackend& kv) {
  STORMKV_RETURN_IF_ERROR(kv.ConfigSet("maxmemory", std::to_string(kBudgetBytes)));
  return kv.ConfigSet("maxmemory-policy", "noeviction");
}

Result<int64_t> OomErrorCount(KvBackend& kv) {
  Result<std::map<std::string, std::string>> info = kv.Info("errorstats");
  if (!info.ok()) return info.status();
  auto it = info->find("errorstat_OOM");
  if (it == info->end()) return int64_t{0};
  const std::string& v = it->second;  // "count=N"
  auto pos = v.find("count=");
  if (pos == std::string::npos) return Status::Internal("errorstat_OOM: " + v);
  return std::stoll(v.substr(pos + 6));
}

Result<int64_t> InfoMemoryField(KvBackend& kv, const std::string& field) {
  Result<std::map<std::string, std::string>> info = kv.Info("memory");
  if (!info.ok()) return info.status();
  auto it = info->find(field);
  if (it == info->end()) return Status::Internal("INFO memory has no " + field);
  return std::stoll(it->second);
}

BudgetLedger& BudgetLedger::Get() {
  static BudgetLedger* ledger = new BudgetLedger();
  return *ledger;
}

void BudgetLedger::Add(CaseRecord record) {
  std::lock_guard<std::mutex> lock(mu_);
  cases_.push_back(std::move(record));
}

void BudgetLedger::AddScenario(const std::string& scenario, const std::string& backend,
                               int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  scenarios_[scenario][backend] = bytes;
}

void BudgetLedger::Print(std::ostream& os) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (cases_.empty()) return;
  std::map<std::string, std::map<std::string, FamilyUsage>> by_backend;
  std::map<std::string, int64_t> peak, cases;
  std::map<std::string, std::string> peak_case;
  for (const CaseRecord& c : cases_) {
    cases[c.backend] += 1;
    if (c.peak > peak[c.backend]) {
      peak[c.backend] = c.peak;
      peak_case[c.backend] = c.test;
    }
    for (const auto& [name, f] : c.families) {
      by_backend[c.backend][name].keys += f.keys;
      by_backend[c.backend][name].bytes += f.bytes;
    }
  }
  os << "\n=== stormkv integration budget report (budget " << Num(kBudgetBytes) << " bytes) ===\n";
  for (const auto& [backend, n] : cases) {
    os << backend << ": " << n << " case(s), highest used_memory_peak " << Num(peak[backend])
       << " (" << FormatBytes(peak[backend]) << ", " << peak_case[backend] << "), "
       << (peak[backend] < kBudgetBytes ? "under" : "OVER") << " budget\n";
    PrintFamilyReport("  memory by key family at the end of each case (summed over cases):",
                      by_backend[backend], os);
  }
  for (const auto& [scenario, per] : scenarios_) {
    os << "scenario " << scenario << ":";
    for (const auto& [backend, bytes] : per) os << " " << backend << "=" << Num(bytes);
    os << "\n";
  }
}

PipelineOptions GatewayIT::DefaultOptions() {
  PipelineOptions o;
  o.rate_limit_enabled = false;
  return o;
}

void GatewayIT::SetUp() {
  STORMKV_SETUP_BACKEND(GetParam(), tb_);
  schema_ = KeySchema(options_.keys);
  if (tb_->name != "redis" && tb_->name != "redis-cluster") {
    // A fresh in-process store starts unlimited; it gets the budget like the servers have it
    // (on a cluster every master must already have it: CONFIG GET disagreeing masters fails).
    ASSERT_OK(ApplyBudget(kv()));
  }
  Status before = CheckBudgetConfig(kv());
  if (!before.ok()) {
    ASSERT_OK(ApplyBudget(kv()));
    FAIL() << "before the test: " << before
           << " — an earlier test or suite changed the budget and did not restore it (restored "
              "now)";
  }
  ASSERT_OK_AND_ASSIGN(oom_before_, OomErrorCount(kv()));
}

void GatewayIT::TearDown() {
  if (!tb_) return;
  pipeline_.reset();
  const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  Status after = CheckBudgetConfig(kv());
  EXPECT_TRUE(after.ok()) << "after the test: " << after
                          << " — a test that changes the budget must restore it (restored now)";
  if (!after.ok()) EXPECT_OK(ApplyBudget(kv()));
  CaseRecord rec;
  rec.backend = tb_->name;
  rec.test = test;
  Result<int64_t> peak = InfoMemoryField(kv(), "used_memory_peak");
  Result<int64_t> used = InfoMemoryField(kv(), "used_memory");
  Result<int64_t> ooms = OomErrorCount(kv());
  EXPECT_OK(peak);
  EXPECT_OK(used);
  EXPECT_OK(ooms);
  if (peak.ok()) {
    rec.peak = *peak;
    EXPECT_LT(*peak, kBudgetBytes) << "used_memory_peak over the 256 MB budget";
  }
  if (used.ok()) rec.used_memory = *used;
  if (ooms.ok()) {
    EXPECT_EQ(*ooms - oom_before_, 0) << "OOM errors during the test";
  }
  if (families_at_end_) {
    rec.families = std::move(*families_at_end_);
  } else {
    Result<std::map<std::string, FamilyUsage>> fams = MemoryByFamily(kv(), schema_);
    EXPECT_OK(fams);
    if (fams.ok()) rec.families = std::move(fams).value();
  }
  BudgetLedger::Get().Add(std::move(rec));
  if (tb_->cleanup) tb_->cleanup();
  tb_.reset();
}

const std::map<std::string, FamilyUsage>& GatewayIT::FamiliesAtEnd() {
  if (!families_at_end_) {
    Result<std::map<std::string, FamilyUsage>> fams = MemoryByFamily(kv(), schema_);
    EXPECT_OK(fams);
    families_at_end_ = fams.ok() ? std::move(fams).value() : std::map<std::string, FamilyUsage>{};
  }
  return *families_at_end_;
}

Pipeline& GatewayIT::pipeline() {
  if (!pipeline_) pipeline_ = std::make_unique<Pipeline>(kv(), tb_->clock, options_);
  return *pipeline_;
}

Pipeline& GatewayIT::Reconfigure(PipelineOptions options) {
  options_ = std::move(options);
  schema_ = KeySchema(options_.keys);
  pipeline_ = std::make_unique<Pipeline>(kv(), tb_->clock, options_);
  return *pipeline_;
}

IngestResult GatewayIT::Ingest(const std::string& payload, SignalSource source,
                               const std::string& client) {
  return pipeline().Ingest(payload, source, client);
}

void GatewayIT::Advance(std::chrono::milliseconds d) { ASSERT_OK(tb_->advance(d)); }

std::vector<std::string> GatewayIT::AllKeys() {
  std::vector<std::string> keys;
  Status s = kv().ScanAll(schema_.FamilyPattern(), [&](const std::string& k) {
    keys.push_back(k);
    return Status::Ok();
  });
  EXPECT_OK(s);
  std::sort(keys.begin(), keys.end());
  return keys;
}

int64_t GatewayIT::CountKeys(std::string_view family) {
  int64_t n = 0;
  Status s = kv().ScanAll(schema_.FamilyPattern(family), [&](const std::string&) {
    ++n;
    return Status::Ok();
  });
  EXPECT_OK(s);
  return n;
}

std::string GatewayIT::Snapshot() {
  std::ostringstream out;
  for (const std::string& key : AllKeys()) {
    Result<std::string> type = kv().Type(key);
    // Gone between SCAN and TYPE: it expired meanwhile (a rate-limit bucket lives milliseconds
    // on a real server), so it is not part of the state.
    if (type.ok() && *type == "none") continue;
    out << key << "|" << (type.ok() ? *type : type.status().ToString()) << "|";
    Result<Reply> value = Status::Internal("unknown type");
    if (type.ok() && *type == "string") value = kv().Run({"GET", key});
    if (type.ok() && *type == "hash") value = kv().Run({"HGETALL", key});
    if (type.ok() && *type == "zset") {
      value = kv().Run({"ZRANGEBYSCORE", key, "-inf", "+inf", "WITHSCORES"});
    }
    if (type.ok() && *type == "set") value = kv().Run({"SMEMBERS", key});
    if (value.ok() && value->is_array() && type.ok() && (*type == "hash" || *type == "set")) {
      // Field order is the backend's: sort pairs (hash) or members (set) for comparison.
      std::vector<std::string> parts;
      const auto& e = value->elements();
      const std::size_t step = *type == "hash" ? 2 : 1;
      for (std::size_t i = 0; i + step - 1 < e.size(); i += step) {
        parts.push_back(step == 2 ? e[i].str() + "=" + e[i + 1].str() : e[i].str());
      }
      std::sort(parts.begin(), parts.end());
      for (const std::string& p : parts) out << p << ",";
    } else {
      out << (value.ok() ? value->ToString() : value.status().ToString());
    }
    Result<int64_t> pttl = kv().Pttl(key);
    out << "|ttl:" << (pttl.ok() ? (*pttl >= 0 ? "yes" : std::to_string(*pttl)) : "?") << "\n";
  }
  return out.str();
}

}  // namespace stormkv::integration
