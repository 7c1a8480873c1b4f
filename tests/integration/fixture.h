// tests/integration/fixture.h — the gateway integration suite's fixture and budget checks.
//
// Every case runs on every backend of AllBackendNames() (value-parameterised, PER_BACKEND) under
// a 256 MB budget:
//  * before the case: the backend's maxmemory must equal the budget and the policy be noeviction
//    (a fresh embedded store gets them set first; the shared Redis server is started with them);
//  * after the case: the same, so a case that changes maxmemory and does not restore it fails
//    (and the budget is restored for the next case) — the reference team's real OOM;
//    used_memory_peak < budget; no new errorstat_OOM; memory by key family (SCAN, FamilyOf,
//    MEMORY USAGE) goes into a process-wide ledger printed at the end of the run.
// Time moves only through Advance() (TestBackend::advance); nothing sleeps.
#ifndef STORMKV_TESTS_INTEGRATION_FIXTURE_H_
#define STORMKV_TESTS_INTEGRATION_FIXTURE_H_

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/backend_factories.h"
#include "common/test_util.h"
#include "gateway/payloads.h"
#include "stormkv/gateway/pipeline.h"
#include "stormkv/key_schema.h"
#include "stormkv/kv_backend.h"

namespace stormkv::integration {

inline constexpr int64_t kBudgetBytes = int64_t{256} * 1024 * 1024;  // "256mb" in Redis terms

struct FamilyUsage {
  int64_t keys = 0;
  int64_t bytes = 0;  // sum of MEMORY USAGE
};

// Memory of every key under `schema`'s prefix, grouped by KeySchema::FamilyOf ("other" for keys
// outside any family). MEMORY USAGE is pipelined in batches.
Result<std::map<std::string, FamilyUsage>> MemoryByFamily(KvBackend& kv, const KeySchema& schema);

// Prints a family table: family, keys, bytes, bytes/key, share.
void PrintFamilyReport(const std::string& title, const std::map<std::string, FamilyUsage>& fams,
                       std::ostream& os);

// ok when maxmemory == kBudgetBytes and maxmemory-policy == noeviction; otherwise an error
// naming what it found.
Status CheckBudgetConfig(KvBackend& kv);
// Sets maxmemory = kBudgetBytes and maxmemory-policy = noeviction.
Status ApplyBudget(KvBackend& kv);
// errorstat_OOM count from INFO errorstats (0 when absent).
Result<int64_t> OomErrorCount(KvBackend& kv);
// An integer field of INFO memory (used_memory, used_memory_peak...).
Result<int64_t> InfoMemoryField(KvBackend& kv, const std::string& field);

// Numbers of one case, for the end-of-run report.
struct CaseRecord {
  std::string backend;
  std::string test;
  int64_t used_memory = 0;
  int64_t peak = 0;
  std::map<std::string, FamilyUsage> families;
};

// Process-wide ledger of every case; printed by a global environment at the end.
class BudgetLedger {
 public:
  static BudgetLedger& Get();
  void Add(CaseRecord record);
  // A scenario's used_memory growth on one backend (for the cross-backend comparison).
  void AddScenario(const std::string& scenario, const std::string& backend, int64_t bytes);
  void Print(std::ostream& os) const;

 private:
  mutable std::mutex mu_;
  std::vector<CaseRecord> cases_;
  std::map<std::string, std::map<std::string, int64_t>> scenarios_;
};

class GatewayIT : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;

  KvBackend& kv() { return *tb_->kv; }
  TestBackend& backend() { return *tb_; }
  std::shared_ptr<ManualClock> clock() { return tb_->clock; }
  int64_t NowMs() const { return tb_->clock->NowMs(); }
  const std::string& backend_name() const { return tb_->name; }

  // The pipeline under test (created on first use, or again with new options).
  Pipeline& pipeline();
  Pipeline& Reconfigure(PipelineOptions options);
  // Rate limiting is off unless a case turns it on, so cases count only what they test.
  static PipelineOptions DefaultOptions();

  IngestResult Ingest(const std::string& payload, SignalSource source = SignalSource::kAlertmanager,
                      const std::string& client = "");
  IngestResult IngestEvent(const std::string& payload) {
    return Ingest(payload, SignalSource::kKubernetesEvent);
  }
  // One alert `name` in `ns` about pod `pod`, ingested alone.
  IngestResult Alert(const std::string& name, const std::string& ns, const std::string& pod) {
    return Ingest(testing::PodAlert(name, ns, pod));
  }
  // Moves time forward on the clock and (Redis) every key's TTL.
  void Advance(std::chrono::milliseconds d);

  // Memory by key family now (MemoryByFamily), remembered so TearDown does not scan again;
  // call it last, once the case's writes are done.
  const std::map<std::string, FamilyUsage>& FamiliesAtEnd();

  // Keys of one family ("" = every stormkv key).
  int64_t CountKeys(std::string_view family = "");
  // Every stormkv key, sorted.
  std::vector<std::string> AllKeys();
  // Every stormkv key with its type and value dump: "key|type|value..." lines, sorted. Used to
  // prove that a failed or rejected operation changed nothing.
  std::string Snapshot();

  std::optional<TestBackend> tb_;
  std::unique_ptr<Pipeline> pipeline_;
  PipelineOptions options_ = DefaultOptions();
  KeySchema schema_;
  int64_t oom_before_ = 0;
  std::optional<std::map<std::string, FamilyUsage>> families_at_end_;
};

// Alerts `name` in `ns` for pods "<prefix><first>" ... "<prefix><first+count-1>".
inline std::vector<testing::TestAlert> PodAlerts(const std::string& name, const std::string& ns,
                                                 int first, int count,
                                                 const std::string& prefix = "pod-") {
  std::vector<testing::TestAlert> out;
  for (int i = first; i < first + count; ++i) {
    testing::TestAlert a;
    a.name = name;
    a.ns = ns;
    a.resource = prefix + std::to_string(i);
    out.push_back(a);
  }
  return out;
}

// The suite's instantiation: every backend.
#define STORMKV_INSTANTIATE_GATEWAY_IT(Suite)                                             \
  INSTANTIATE_TEST_SUITE_P(All, Suite, ::testing::ValuesIn(::stormkv::AllBackendNames()), \
                           ::stormkv::BackendParamName)

}  // namespace stormkv::integration

#endif  // STORMKV_TESTS_INTEGRATION_FIXTURE_H_
