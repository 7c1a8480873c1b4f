#include "workload.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <random>
#include <string_view>

namespace stormkv::cli {
namespace {

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
uint64_t Hash(uint64_t seed, uint64_t a, uint64_t b = 0) { return Mix(Mix(seed ^ Mix(a)) + b); }

constexpr std::array<std::string_view, 16> kApps = {
    "payments-api", "checkout", "cart",           "catalog",      "search",  "auth",
    "api-gateway",  "orders",   "inventory",      "shipping",     "billing", "notifications",
    "frontend",     "ledger",   "recommendation", "session-store"};

struct AlertKind {
  std::string_view name;
  std::string_view severity;
  std::string_view summary;
  std::string_view description;
};

constexpr std::array<AlertKind, 10> kAlertKinds = {{
    {"KubePodCrashLooping", "warning", "Pod is crash looping.",
     "Pod is in waiting state (reason: \"CrashLoopBackOff\") and has restarted repeatedly in the "
     "last 10 minutes."},
    {"KubePodNotReady", "warning", "Pod has been in a non-ready state for more than 15 minutes.",
     "Pod has been in a non-ready state for longer than 15 minutes; readiness probes keep "
     "failing."},
    {"KubeContainerWaiting", "warning", "Pod container waiting longer than 1 hour",
     "Container has been in waiting state for longer than 1 hour (reason: ImagePullBackOff)."},
    {"CPUThrottlingHigh", "info", "Processes experience elevated CPU throttling.",
     "More than 25% throttling of CPU in the container over the last 5 minutes."},
    {"KubeMemoryOvercommit", "warning", "Cluster has overcommitted memory resource requests.",
     "Cluster has overcommitted memory resource requests for Pods and cannot tolerate node "
     "failure."},
    {"HighErrorRate", "critical", "HTTP 5xx error rate above 5%.",
     "More than 5% of HTTP requests to the service failed with a 5xx status over the last 5 "
     "minutes."},
    {"HighLatency", "warning", "p99 latency above 500ms.",
     "The 99th percentile request latency has been above 500ms for 10 minutes."},
    {"KubePersistentVolumeFillingUp", "critical", "PersistentVolume is filling up.",
     "The PersistentVolume claimed by the pod is only 3% free and will fill up within 4 hours."},
    {"OOMKilled", "critical", "Container was OOM killed.",
     "Container was killed by the kernel OOM killer after exceeding its memory limit."},
    {"TargetDown", "warning", "One or more targets are unreachable.",
     "10% of the targets of the job are down: Prometheus cannot scrape them."},
}};

std::string Alnum(uint64_t h, int n) {
  static constexpr std::string_view kChars = "bcdfghjklmnpqrstvwxz2456789";
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += kChars[h % kChars.size()];
    h /= kChars.size();
    if (h == 0) h = Mix(static_cast<uint64_t>(i) + 7);
  }
  return s;
}

std::string PodNameOf(std::string_view app, uint64_t h) {
  return std::string(app) + "-" + Alnum(Mix(h), 10) + "-" + Alnum(Mix(h + 1), 5);
}

std::string PodName(uint64_t h) { return PodNameOf(kApps[h % kApps.size()], h); }

std::string Uuid(uint64_t h) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  uint64_t a = Mix(h), b = Mix(h + 99);
  for (int i = 0; i < 32; ++i) {
    uint64_t& src = i < 16 ? a : b;
    s += kHex[src & 15];
    src >>= 4;
    if (i == 7 || i == 11 || i == 15 || i == 19) s += '-';
  }
  return s;
}

// A realistic kube-state-metrics style alert about a pod.
SimAlert PodAlert(const AlertKind& kind, const std::string& ns, const std::string& pod,
                  const std::string& client, uint64_t h) {
  SimAlert a;
  a.ns = ns;
  a.alertname = std::string(kind.name);
  a.severity = std::string(kind.severity);
  a.client = client;
  a.resource = {"Pod", pod};
  std::string container = pod.substr(0, pod.find('-', pod.find('-') + 1));
  a.labels = {{"alertname", a.alertname},
              {"namespace", ns},
              {"pod", pod},
              {"container", container},
              {"severity", a.severity},
              {"job", "kube-state-metrics"},
              {"instance",
               "10.42." + std::to_string(h % 250) + "." + std::to_string((h >> 8) % 250) + ":8080"},
              {"endpoint", "http"},
              {"service", "prometheus-kube-state-metrics"},
              {"prometheus", "monitoring/k8s"},
              {"uid", Uuid(h)}};
  a.annotations = {
      {"summary", std::string(kind.summary)},
      {"description",
       "Pod " + ns + "/" + pod + " (" + container + "): " + std::string(kind.description)},
      {"runbook_url", "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/" + [&] {
         std::string s(kind.name);
         for (char& c : s) c = static_cast<char>(std::tolower(c));
         return s;
       }()}};
  return a;
}

const AlertKind& KindNamed(std::string_view name) {
  for (const AlertKind& k : kAlertKinds) {
    if (k.name == name) return k;
  }
  return kAlertKinds[0];
}

// ---------------------------------------------------------------------------------------------

class ListWorkload : public Workload {
 public:
  std::string Describe() const override { return description_; }
  int64_t ExpectedAlerts() const override { return static_cast<int64_t>(alerts_.size()); }
  std::vector<ScheduledAlert> Start() override {
    std::vector<ScheduledAlert> out;
    for (std::size_t i = 0; i < alerts_.size(); ++i) out.push_back({times_[i], i});
    return out;
  }
  SimAlert Materialize(uint64_t id) const override { return alerts_[id]; }

 protected:
  void Add(int64_t at_ms, SimAlert a) {
    times_.push_back(at_ms);
    alerts_.push_back(std::move(a));
  }
  std::string description_;

 private:
  std::vector<int64_t> times_;
  std::vector<SimAlert> alerts_;
};

class IntegrationWorkload final : public ListWorkload {
 public:
  explicit IntegrationWorkload(uint64_t seed) {
    enum Kind {
      kDedup,
      kDedupTtl,
      kStorm,
      kStormEdge,
      kRateStorm,
      kRateLimit,
      kSameFp,
      kStormBurst,
      kMultiNs,
      kMalformed
    };
    const std::vector<std::pair<Kind, int>> plan = {
        {kDedup, 20},    {kDedupTtl, 10}, {kStorm, 12},     {kStormEdge, 12}, {kRateStorm, 8},
        {kRateLimit, 6}, {kSameFp, 3},    {kStormBurst, 3}, {kMultiNs, 10},   {kMalformed, 8}};
    std::vector<Kind> tests;
    for (auto [kind, n] : plan) tests.insert(tests.end(), n, kind);
    std::mt19937_64 rng(seed);
    std::shuffle(tests.begin(), tests.end(), rng);
    auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

    constexpr int64_t kTestSpacingMs = 500;
    const std::string client = "it-gateway-client";
    int storm_tests = 0;
    for (std::size_t t = 0; t < tests.size(); ++t) {
      const int64_t t0 = static_cast<int64_t>(t) * kTestSpacingMs;
      const std::string ns = "it-" + std::to_string(t + 1);
      uint64_t h = Hash(seed, t);
      auto pod_alert = [&](std::string_view kind, int i, const std::string& nsp,
                           const std::string& cl) {
        uint64_t hi = Hash(seed, t, static_cast<uint64_t>(i) + 1);
        return PodAlert(KindNamed(kind), nsp, PodName(hi), cl, hi);
      };
      switch (tests[t]) {
        case kDedup: {
          SimAlert a = pod_alert("KubePodNotReady", 0, ns, client);
          int dups = uniform(0, 4);
          for (int i = 0; i <= dups; ++i) Add(t0 + 50 * i, a);
          break;
        }
        case kDedupTtl: {
          Add(t0, pod_alert("KubeContainerWaiting", 0, ns, client));
          SimAlert b = pod_alert("HighLatency", 1, ns, client);
          Add(t0 + 100, b);
          Add(t0 + 200, b);
          break;
        }
        case kStorm:
        case kStormEdge:
        case kRateStorm:
        case kStormBurst: {
          Kind k = tests[t];
          int pods = k == kStorm       ? uniform(12, 18)
                     : k == kStormEdge ? uniform(5, 8)
                     : k == kRateStorm ? uniform(11, 14)
                                       : 15;
          int64_t gap = k == kStormBurst ? 1 : k == kRateStorm ? 20 : 25;
          std::string_view kind = k == kRateStorm ? "HighErrorRate" : "KubePodCrashLooping";
          for (int i = 0; i < pods; ++i) Add(t0 + gap * i, pod_alert(kind, i, ns, client));
          ++storm_tests;
          break;
        }
        case kRateLimit: {
          std::string cl = "it-client-" + std::to_string(t + 1);
          for (int i = 0; i < 12; ++i) {
            Add(t0 + 10 * i, pod_alert(kAlertKinds[i % kAlertKinds.size()].name, i, ns, cl));
          }
          break;
        }
        case kSameFp: {
          SimAlert a = pod_alert("OOMKilled", 0, ns, client);
          for (int i = 0; i < 20; ++i) Add(t0 + i, a);
          break;
        }
        case kMultiNs: {
          for (int j = 0; j < 5; ++j) {
            std::string nsj = ns + "-" + std::to_string(j);
            Add(t0 + 20 * j, pod_alert("TargetDown", 2 * j, nsj, client));
            Add(t0 + 20 * j + 10, pod_alert("CPUThrottlingHigh", 2 * j + 1, nsj, client));
          }
          break;
        }
        case kMalformed:
          break;  // rejected payloads store nothing
      }
      (void)h;
    }
    description_ = std::to_string(tests.size()) + " tests, " + std::to_string(ExpectedAlerts()) +
                   " alerts, " + std::to_string(storm_tests) + " storm tests";
  }
};

class ProductionWorkload final : public Workload {
 public:
  ProductionWorkload(const ProductionParams& p, uint64_t seed) : p_(p), seed_(seed) {
    p_.fingerprints = std::max<int64_t>(p_.fingerprints, 0);
    p_.storms = std::max<int64_t>(p_.storms, 0);
    p_.storm_resources = std::max<int64_t>(p_.storm_resources, 1);
    p_.minutes = std::max<int64_t>(p_.minutes, 1);
    if (p_.namespaces <= 0) p_.namespaces = std::max<int64_t>(10, p_.fingerprints / 200);
    if (p_.storm_alerts_per_sec <= 0) p_.storm_alerts_per_sec = 1;
    end_ms_ = p_.minutes * 60000;
    repeat_ms_ = p_.repeat_minutes * 60000;
    expected_ = p_.storms * p_.storm_resources;
    for (int64_t i = 0; i < p_.fingerprints; ++i) {
      int64_t first = FirstFire(i);
      expected_ += 1 + (repeat_ms_ > 0 ? (end_ms_ - 1 - first) / repeat_ms_ : 0);
    }
    // Enough replicas that each sends 50 alerts/s on average: half the gateway's default rate
    // limit (100/s), so bursts fit and the run measures state, not a rate-limit pile-up.
    if (p_.clients <= 0) {
      const double per_sec = static_cast<double>(expected_) * 1000.0 / static_cast<double>(end_ms_);
      p_.clients = std::max<int64_t>(3, static_cast<int64_t>(per_sec / 50.0) + 1);
    }
  }

  std::string Describe() const override {
    return std::to_string(p_.fingerprints) + " alerts re-sent every " +
           std::to_string(p_.repeat_minutes) + " min + " + std::to_string(p_.storms) +
           " storms x " + std::to_string(p_.storm_resources) + " resources over " +
           std::to_string(p_.minutes) + " min, " + std::to_string(p_.namespaces) + " namespaces, " +
           std::to_string(p_.clients) + " clients, " + std::to_string(expected_) + " alerts";
  }
  int64_t ExpectedAlerts() const override { return expected_; }

  std::vector<ScheduledAlert> Start() override {
    std::vector<ScheduledAlert> out;
    out.reserve(static_cast<std::size_t>(p_.fingerprints + p_.storms * p_.storm_resources));
    for (int64_t i = 0; i < p_.fingerprints; ++i) {
      out.push_back({FirstFire(i), static_cast<uint64_t>(i)});
    }
    const int64_t storm_ms = static_cast<int64_t>(1000.0 * static_cast<double>(p_.storm_resources) /
                                                  p_.storm_alerts_per_sec);
    for (int64_t s = 0; s < p_.storms; ++s) {
      int64_t span = std::max<int64_t>(end_ms_ - storm_ms, 1);
      int64_t start = static_cast<int64_t>(Hash(seed_, 1000003, static_cast<uint64_t>(s)) %
                                           static_cast<uint64_t>(span));
      for (int64_t j = 0; j < p_.storm_resources; ++j) {
        int64_t at =
            start + static_cast<int64_t>(1000.0 * static_cast<double>(j) / p_.storm_alerts_per_sec);
        out.push_back({at, static_cast<uint64_t>(p_.fingerprints + s * p_.storm_resources + j)});
      }
    }
    return out;
  }

  SimAlert Materialize(uint64_t id) const override {
    const int64_t i = static_cast<int64_t>(id);
    if (i < p_.fingerprints) {
      uint64_t h = Hash(seed_, 7, id);
      const AlertKind& kind = kAlertKinds[h % kAlertKinds.size()];
      std::string ns = "prod-" + std::to_string(Hash(seed_, 8, id) % p_.namespaces);
      return PodAlert(kind, ns, PodName(Hash(seed_, 9, id)),
                      "alertmanager-" + std::to_string(id % p_.clients), h);
    }
    int64_t s = (i - p_.fingerprints) / p_.storm_resources;
    int64_t j = (i - p_.fingerprints) % p_.storm_resources;
    const AlertKind& kind = kAlertKinds[s % 3];  // crash loops, not-ready, waiting
    std::string ns = "prod-" + std::to_string(s % p_.namespaces);
    uint64_t h = Hash(seed_, 10, static_cast<uint64_t>(s) * 1000003 + j);
    return PodAlert(kind, ns, PodNameOf(kApps[s % kApps.size()], h),
                    "alertmanager-" + std::to_string(s % p_.clients), h);
  }

  std::vector<ScheduledAlert> FollowUps(uint64_t id, int64_t at_ms) override {
    if (static_cast<int64_t>(id) >= p_.fingerprints || repeat_ms_ <= 0) return {};
    int64_t next = at_ms + repeat_ms_;
    if (next >= end_ms_) return {};
    return {{next, id}};
  }

 private:
  int64_t FirstFire(int64_t i) const {
    return static_cast<int64_t>(Hash(seed_, 11, static_cast<uint64_t>(i)) %
                                static_cast<uint64_t>(end_ms_));
  }

  ProductionParams p_;
  uint64_t seed_;
  int64_t end_ms_ = 0;
  int64_t repeat_ms_ = 0;
  int64_t expected_ = 0;
};

class StormWorkload final : public Workload {
 public:
  StormWorkload(const StormParams& p, uint64_t seed) : p_(p), seed_(seed) {
    p_.resources = std::max<int64_t>(p_.resources, 1);
    if (p_.alerts_per_sec <= 0) p_.alerts_per_sec = 1;
  }
  std::string Describe() const override {
    return "one storm of " + std::to_string(p_.resources) + " resources at " +
           std::to_string(static_cast<int64_t>(p_.alerts_per_sec)) + " alerts/s";
  }
  int64_t ExpectedAlerts() const override { return p_.resources; }
  std::vector<ScheduledAlert> Start() override {
    std::vector<ScheduledAlert> out;
    for (int64_t j = 0; j < p_.resources; ++j) {
      out.push_back({static_cast<int64_t>(1000.0 * static_cast<double>(j) / p_.alerts_per_sec),
                     static_cast<uint64_t>(j)});
    }
    return out;
  }
  SimAlert Materialize(uint64_t id) const override {
    uint64_t h = Hash(seed_, 12, id);
    return PodAlert(kAlertKinds[0], "storm", PodNameOf("payments-api", h), "alertmanager-0", h);
  }

 private:
  StormParams p_;
  uint64_t seed_;
};

}  // namespace

std::unique_ptr<Workload> MakeIntegrationWorkload(uint64_t seed) {
  return std::make_unique<IntegrationWorkload>(seed);
}
std::unique_ptr<Workload> MakeProductionWorkload(const ProductionParams& params, uint64_t seed) {
  return std::make_unique<ProductionWorkload>(params, seed);
}
std::unique_ptr<Workload> MakeStormWorkload(const StormParams& params, uint64_t seed) {
  return std::make_unique<StormWorkload>(params, seed);
}

}  // namespace stormkv::cli
