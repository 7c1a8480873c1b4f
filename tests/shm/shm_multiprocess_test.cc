// Gateway replicas as separate processes (the shm_child binary, started with posix_spawn) sharing
// one segment: exact storm counts and resource sets, exact dedup counts, and exactly one is_new
// when they race the first alert of a fingerprint or storm. A pipe barrier starts them together;
// nothing sleeps.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <set>
#include <sstream>

#include "common/test_util.h"
#include "shm/shm_test_util.h"
#include "stormkv/gateway/dedup.h"
#include "stormkv/gateway/storm_aggregator.h"
#include "stormkv/script.h"
#include "stormkv/shm_backend.h"

extern char** environ;

namespace stormkv {
namespace {

using shmtest::Key;
using shmtest::SegmentGuard;
using shmtest::UniqueName;

// One shm_child process with its stdin and stdout piped to us.
struct Replica {
  pid_t pid = -1;
  int to_child = -1;
  int from_child = -1;
};

Replica Spawn(const std::vector<std::string>& args) {
  Replica r;
  int in[2], out[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0) return r;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, in[1]);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  std::vector<char*> argv;
  std::string exe = STORMKV_SHM_CHILD;
  argv.push_back(exe.data());
  std::vector<std::string> copy = args;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (posix_spawn(&r.pid, exe.c_str(), &fa, nullptr, argv.data(), environ) != 0) r.pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  r.to_child = in[1];
  r.from_child = out[0];
  return r;
}

std::string ReadLine(int fd) {
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

std::string ReadAll(int fd) {
  std::string s;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    s.append(buf, static_cast<size_t>(n));
  }
  return s;
}

// Starts every replica, waits until all are attached and ready, releases them together, and
// returns their outputs (after they exit with status 0).
std::vector<std::string> RunReplicas(const std::vector<std::vector<std::string>>& args) {
  ::signal(SIGPIPE, SIG_IGN);  // a replica that died early must fail the test, not kill it
  std::vector<Replica> rs;
  for (const auto& a : args) {
    rs.push_back(Spawn(a));
    EXPECT_GT(rs.back().pid, 0) << "cannot start " << STORMKV_SHM_CHILD;
  }
  for (Replica& r : rs) EXPECT_EQ(ReadLine(r.from_child), "ready");
  for (Replica& r : rs) EXPECT_EQ(::write(r.to_child, "g", 1), 1);
  std::vector<std::string> outs;
  for (Replica& r : rs) {
    outs.push_back(ReadAll(r.from_child));
    int status = 0;
    ::waitpid(r.pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "replica " << r.pid << " status " << status;
    ::close(r.to_child);
    ::close(r.from_child);
  }
  return outs;
}

std::map<std::string, int64_t> ParseCounts(const std::string& out) {
  std::map<std::string, int64_t> m;
  std::istringstream in(out);
  std::string k;
  int64_t v;
  while (in >> k >> v) m[k] = v;
  return m;
}

std::unique_ptr<ShmBackend> CreateSegment(const std::string& name) {
  ShmBackendOptions o;
  o.name = name;
  o.open = ShmBackendOptions::OpenMode::kCreate;
  o.size = int64_t{256} << 20;
  Result<std::unique_ptr<ShmBackend>> kv = NewShmBackend(o);
  EXPECT_TRUE(kv.ok()) << kv.status();
  return kv.ok() ? std::move(*kv) : nullptr;
}

TEST(ShmReplicas, FourProcessesTimesFiveThousandAlertsGiveExactStormsAndDedupCounts) {
  constexpr int kProcs = 4, kAlerts = 5000, kStorms = 10, kResources = 150, kFingerprints = 2500;
  std::string name = UniqueName("replicas");
  SegmentGuard guard{name};
  auto kv = CreateSegment(name);
  ASSERT_TRUE(kv);
  std::vector<std::vector<std::string>> args;
  for (int p = 0; p < kProcs; ++p) {
    args.push_back({"alerts", name, std::to_string(p), std::to_string(kAlerts),
                    std::to_string(kStorms), std::to_string(kResources),
                    std::to_string(kFingerprints)});
  }
  std::vector<std::string> outs = RunReplicas(args);
  int64_t storm_new = 0, dedup_new = 0;
  for (const std::string& o : outs) {
    std::map<std::string, int64_t> c = ParseCounts(o);
    EXPECT_EQ(c["errors"], 0) << o;
    storm_new += c["storm_new"];
    dedup_new += c["dedup_new"];
  }
  EXPECT_EQ(storm_new, kStorms);
  EXPECT_EQ(dedup_new, kFingerprints);

  // What the storms must hold, from the same formulas the replicas used.
  KeySchema schema;
  std::map<int, std::map<std::string, int64_t>> want;  // storm -> escaped resource -> alerts
  for (int p = 0; p < kProcs; ++p) {
    for (int i = 0; i < kAlerts; ++i) {
      ++want[i % kStorms][schema.EscapePart(Key("Pod/pod-", (p * 131 + i * 7) % kResources))];
    }
  }
  StormAggregator agg(*kv, kv->clock(), schema);
  for (int s = 0; s < kStorms; ++s) {
    ASSERT_OK_AND_ASSIGN(std::optional<StormRecord> rec,
                         agg.Get(Key("ns-", s % 3), Key("Alert", s)));
    ASSERT_TRUE(rec.has_value()) << s;
    EXPECT_EQ(rec->alert_count, kProcs * kAlerts / kStorms) << s;
    EXPECT_EQ(rec->overflow, 0);
    std::map<std::string, int64_t> got;
    for (const StormResource& r : rec->resources) got[r.name] = r.alert_count;
    EXPECT_EQ(got, want[s]) << "storm " << s;
  }
  Deduplicator dedup(*kv, kv->clock(), schema);
  for (int f = 0; f < kFingerprints; ++f) {
    ASSERT_OK_AND_ASSIGN(std::optional<DedupResult> d, dedup.Lookup(Sha256Hex(Key("fp-", f))));
    ASSERT_TRUE(d.has_value()) << f;
    ASSERT_EQ(d->count, kProcs * kAlerts / kFingerprints) << f;
  }
  ASSERT_OK(kv->CheckIntegrity());
  ASSERT_OK_AND_ASSIGN(ShmSegmentInfo info, kv->SegmentInfo());
  EXPECT_EQ(info.health, ShmHealth::kConsistent);
  EXPECT_TRUE(info.dead_attached_pids.empty());
}

TEST(ShmReplicas, FourProcessesRacingTheFirstAlertGetExactlyOneIsNew) {
  constexpr int kProcs = 4, kFingerprints = 500;
  std::string name = UniqueName("race");
  SegmentGuard guard{name};
  auto kv = CreateSegment(name);
  ASSERT_TRUE(kv);
  std::vector<std::vector<std::string>> args;
  for (int p = 0; p < kProcs; ++p) {
    args.push_back({"race", name, std::to_string(p), std::to_string(kFingerprints)});
  }
  std::vector<std::string> outs = RunReplicas(args);
  std::vector<int> dedup_new(kFingerprints), storm_new(kFingerprints);
  std::vector<std::set<int>> winners(kFingerprints);
  for (int p = 0; p < kProcs; ++p) {
    std::istringstream in(outs[static_cast<size_t>(p)]);
    std::string first;
    int lines = 0;
    while (in >> first) {
      if (first == "errors") {
        int64_t e;
        in >> e;
        EXPECT_EQ(e, 0);
        break;
      }
      int f = std::stoi(first), d, s;
      in >> d >> s;
      dedup_new[static_cast<size_t>(f)] += d;
      storm_new[static_cast<size_t>(f)] += s;
      if (d) winners[static_cast<size_t>(f)].insert(p);
      ++lines;
    }
    EXPECT_EQ(lines, kFingerprints);
  }
  std::set<int> winning_procs;
  for (int f = 0; f < kFingerprints; ++f) {
    EXPECT_EQ(dedup_new[static_cast<size_t>(f)], 1) << "fingerprint " << f;
    EXPECT_EQ(storm_new[static_cast<size_t>(f)], 1) << "storm " << f;
    for (int w : winners[static_cast<size_t>(f)]) winning_procs.insert(w);
  }
  KeySchema schema;
  StormAggregator agg(*kv, kv->clock(), schema);
  Deduplicator dedup(*kv, kv->clock(), schema);
  for (int f = 0; f < kFingerprints; f += 50) {
    ASSERT_OK_AND_ASSIGN(std::optional<StormRecord> rec, agg.Get("race", Key("Race", f)));
    ASSERT_TRUE(rec.has_value());
    EXPECT_EQ(rec->alert_count, kProcs);
    EXPECT_EQ(rec->resources.size(), static_cast<size_t>(kProcs));
    ASSERT_OK_AND_ASSIGN(std::optional<DedupResult> d, dedup.Lookup(Sha256Hex(Key("race-", f))));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->count, kProcs);
  }
  // Informational: how often each replica won (a race only in name if one process won all).
  std::cout << "[ race ] replicas that won at least one first alert: " << winning_procs.size()
            << " of " << kProcs << "\n";
}

}  // namespace
}  // namespace stormkv
