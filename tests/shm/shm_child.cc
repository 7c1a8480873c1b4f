// shm_child: one gateway replica for the multi-process tests and benches. It attaches to a
// segment by name, prints "ready", waits for one byte on stdin (the start barrier), does its
// work through the real gateway services and prints what it saw.
//
//   shm_child alerts <segment> <proc> <alerts> <storms> <resources> <fingerprints>
//     alert i goes to storm i % storms (namespace ns-<s % 3>, alert name Alert<s>), resource
//     Pod/pod-<(proc * 131 + i * 7) % resources>, fingerprint fp-<i % fingerprints>.
//     Prints "storm_new N", "dedup_new N", "errors N".
//   shm_child race <segment> <proc> <n>
//     for f in [0, n): Deduplicator::Record(race-<f>) and StormAggregator::Add(storm Race<f>,
//     resource Pod/p<proc>). Prints "<f> <dedup_is_new> <storm_is_new>" per f, then "errors N".
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "stormkv/gateway/dedup.h"
#include "stormkv/gateway/storm_aggregator.h"
#include "stormkv/script.h"
#include "stormkv/shm_backend.h"

namespace {

std::string Key(std::string_view prefix, int64_t i) {
  std::string k(prefix);
  k.append(std::to_string(i));
  return k;
}

int Usage() {
  std::fprintf(
      stderr,
      "usage: shm_child alerts <segment> <proc> <alerts> <storms> <resources> <fingerprints>\n"
      "       shm_child race <segment> <proc> <n>\n");
  return 2;
}

bool WaitForGo() {
  std::printf("ready\n");
  std::fflush(stdout);
  char c;
  return ::read(0, &c, 1) == 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace stormkv;
  if (argc < 4) return Usage();
  std::string mode = argv[1];
  ShmBackendOptions o;
  o.name = argv[2];
  Result<std::unique_ptr<ShmBackend>> kv = NewShmBackend(o);
  if (!kv.ok()) {
    std::fprintf(stderr, "shm_child: %s\n", kv.status().ToString().c_str());
    return 1;
  }
  std::shared_ptr<const Clock> clock = (*kv)->clock();
  KeySchema schema;
  Deduplicator dedup(**kv, clock, schema);
  StormAggregator agg(**kv, clock, schema);
  int proc = std::atoi(argv[3]);
  int64_t errors = 0;
  auto note = [&](const Status& s) {
    if (errors++ == 0) std::fprintf(stderr, "shm_child %d: %s\n", proc, s.ToString().c_str());
  };

  if (mode == "alerts" && argc == 8) {
    int alerts = std::atoi(argv[4]), storms = std::atoi(argv[5]);
    int resources = std::atoi(argv[6]), fingerprints = std::atoi(argv[7]);
    if (!WaitForGo()) return 3;
    int64_t storm_new = 0, dedup_new = 0;
    for (int i = 0; i < alerts; ++i) {
      int s = i % storms;
      StormAlert a;
      a.ns = Key("ns-", s % 3);
      a.alertname = Key("Alert", s);
      a.resource = Key("Pod/pod-", (proc * 131 + i * 7) % resources);
      Result<AggregateResult> r = agg.Add(a);
      if (!r.ok()) {
        note(r.status());
      } else if (r->is_new) {
        ++storm_new;
      }
      std::string fp = Sha256Hex(Key("fp-", i % fingerprints));
      Result<DedupResult> d = dedup.Record(fp, "rr-" + fp.substr(0, 16));
      if (!d.ok()) {
        note(d.status());
      } else if (!d->is_duplicate) {
        ++dedup_new;
      }
    }
    std::printf("storm_new %lld\ndedup_new %lld\nerrors %lld\n", static_cast<long long>(storm_new),
                static_cast<long long>(dedup_new), static_cast<long long>(errors));
    return 0;
  }
  if (mode == "race" && argc == 5) {
    int n = std::atoi(argv[4]);
    if (!WaitForGo()) return 3;
    std::string out;
    for (int f = 0; f < n; ++f) {
      std::string fp = Sha256Hex(Key("race-", f));
      Result<DedupResult> d = dedup.Record(fp, Key("rr-", proc));
      StormAlert a;
      a.ns = "race";
      a.alertname = Key("Race", f);
      a.resource = Key("Pod/p", proc);
      Result<AggregateResult> r = agg.Add(a);
      if (!d.ok()) note(d.status());
      if (!r.ok()) note(r.status());
      out += std::to_string(f) + " " + (d.ok() && !d->is_duplicate ? "1" : "0") + " " +
             (r.ok() && r->is_new ? "1" : "0") + "\n";
    }
    std::printf("%serrors %lld\n", out.c_str(), static_cast<long long>(errors));
    return 0;
  }
  return Usage();
}
