#include "simulate.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <queue>
#include <random>
#include <sstream>

#include "progress.h"
#include "simulate_nodes.h"
#include "stormkv/clock.h"
#include "stormkv/gateway/json_out.h"
#include "stormkv/gateway/pipeline.h"
#include "stormkv/gateway/signal.h"
#include "stormkv/key_schema.h"
#include "stormkv/memory_model.h"
#include "stormkv/ttl_shift.h"
#include "table.h"
#include "units.h"

namespace stormkv::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t MsSince(SteadyClock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0).count();
}

// "sim" + 4 random base-36 characters + ":": unique enough for concurrent runs on one server, and
// exactly as long as the default prefix "stormkv:", so per-key bytes match a real deployment.
std::string UniquePrefix() {
  static constexpr std::string_view kChars = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ static_cast<uint64_t>(::getpid()) ^
                      static_cast<uint64_t>(SteadyClock::now().time_since_epoch().count()));
  std::string p = "sim";
  for (int i = 0; i < 4; ++i) p += kChars[rng() % kChars.size()];
  return p + ":";
}

std::unique_ptr<Workload> MakeWorkload(const SimulateOptions& o) {
  switch (o.scenario) {
    case Scenario::kIntegration:
      return MakeIntegrationWorkload(o.seed);
    case Scenario::kProduction:
      return MakeProductionWorkload(o.production, o.seed);
    case Scenario::kStorm:
      return MakeStormWorkload(o.storm, o.seed);
  }
  return MakeIntegrationWorkload(o.seed);
}

struct MemoryFigures {
  int64_t used = -1;
  int64_t peak = -1;
  int64_t maxmemory = -1;
};

Result<MemoryFigures> ReadMemory(KvBackend& kv) {
  auto info = kv.Info("memory");
  if (!info.ok()) return info.status();
  MemoryFigures m;
  auto num = [&](const char* name) -> int64_t {
    auto it = info->find(name);
    return it == info->end() ? -1 : std::strtoll(it->second.c_str(), nullptr, 10);
  };
  m.used = num("used_memory");
  m.peak = num("used_memory_peak");
  m.maxmemory = num("maxmemory");
  if (m.used < 0) return Status::Internal("INFO memory has no used_memory");
  return m;
}

// Calls fn(page of keys) for every key matching `pattern`.
template <typename Fn>
Status ForEachPage(KvBackend& kv, const std::string& pattern, Fn fn) {
  std::string cursor = "0";
  do {
    Result<ScanPage> page = kv.Scan(cursor, pattern, 1000);
    if (!page.ok()) return page.status().WithContext("SCAN");
    if (!page->keys.empty()) STORMKV_RETURN_IF_ERROR(fn(page->keys));
    cursor = page->cursor;
  } while (cursor != "0");
  return Status::Ok();
}

// Deletes a SCAN page slot by slot: one DEL per hash slot, all of them in one batch. A Redis
// Cluster refuses a multi-key DEL across slots (CROSSSLOT); one server does the same work.
Status DeleteKeys(KvBackend& kv, const std::string& pattern) {
  return ForEachPage(kv, pattern, [&](const std::vector<std::string>& keys) -> Status {
    std::map<int, Command> by_slot;
    for (const std::string& k : keys) {
      Command& del = by_slot[HashSlot(k)];
      if (del.empty()) del.push_back("DEL");
      del.push_back(k);
    }
    std::vector<Command> dels;
    for (auto& [slot, del] : by_slot) dels.push_back(std::move(del));
    for (const Result<Reply>& r : kv.RunBatch(dels)) {
      if (!r.ok()) return r.status();
    }
    return Status::Ok();
  });
}

// The alert as Alertmanager would POST it: a version-4 webhook body holding this one alert
// (keys in the order nlohmann's object wrote them). Written straight into one string: building
// it must cost little next to the gateway it feeds (simulate measures the gateway).
std::string WebhookBody(const SimAlert& a, int64_t now_ms) {
  std::string o;
  o.reserve(512);
  auto str = [&o](std::string_view s) { jsonout::AppendString(&o, s, jsonout::Dialect::kNlohmann); };
  auto map = [&o, &str](const std::map<std::string, std::string>& m) {
    o.push_back('{');
    bool first = true;
    for (const auto& [k, v] : m) {
      if (!first) o.push_back(',');
      first = false;
      str(k);
      o.push_back(':');
      str(v);
    }
    o.push_back('}');
  };
  o += "{\"alerts\":[{\"annotations\":";
  map(a.annotations);
  o += ",\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"http://prometheus:9090/graph\",\"labels\":";
  map(a.labels);
  o += ",\"startsAt\":";
  str(FormatRfc3339Ms(now_ms));
  o += ",\"status\":\"firing\"}],\"commonLabels\":";
  map(a.labels);
  o += ",\"groupLabels\":{\"alertname\":";
  str(a.alertname);
  o += "},\"receiver\":\"stormkv-gateway\",\"status\":\"firing\",\"version\":\"4\"}";
  return o;
}

// Alertmanager re-sends a rate-limited notification after Retry-After, a few times at most.
constexpr int kMaxRetries = 3;

struct Pending {
  int64_t at_ms;
  uint64_t seq;
  uint64_t id;
  int attempt = 0;
  bool operator>(const Pending& o) const {
    return at_ms != o.at_ms ? at_ms > o.at_ms : seq > o.seq;
  }
};

Result<SimulationResult> RunOne(const SimulateOptions& o, Layout layout) {
  const bool on_redis = o.backend.kind == BackendKind::kRedis;
  auto clock = std::make_shared<ManualClock>();
  const int64_t start_ms = clock->NowMs();
  OpenBackendOptions bo;
  bo.clock = clock;
  bo.seed = o.seed;
  // The embedded store predicts what a freshly started Redis would report after this run: its
  // start-up figure plus what the run makes it allocate (latency histograms, script cache).
  bo.fresh_server = true;
  BackendUrl url = o.backend;
  if (o.cluster_nodes > 0) url.cluster_nodes = o.cluster_nodes;
  Result<std::unique_ptr<KvBackend>> opened = OpenBackend(url, bo);
  if (!opened.ok()) return opened.status();
  KvBackend& kv = **opened;

  SimulationResult r;
  r.scenario = ScenarioName(o.scenario);
  r.backend = kv.Describe();
  if (o.backend.kind == BackendKind::kMemory) {
    r.allocator = std::string(AllocatorProfileName(o.backend.allocator));
  }
  r.layout = std::string(LayoutName(layout));
  r.seed = o.seed;
  r.budget_bytes = o.budget_bytes;
  KeySchemaOptions kso;
  kso.prefix = !o.key_prefix.empty() ? o.key_prefix : on_redis ? UniquePrefix() : "stormkv:";
  r.key_prefix = kso.prefix;
  KeySchema schema(kso);
  const std::string pattern = schema.FamilyPattern();
  r.shared_server = on_redis;

  if (!on_redis) {
    // The commands a run on Redis sends besides the pipeline's (the PING of the connection
    // check; PTTL and PEXPIRE once TTLs are synced), so the store allocates their histograms.
    STORMKV_RETURN_IF_ERROR(kv.Run({"PING"}).status());
    r.notes.push_back(
        "used_memory assumes a freshly started Redis 7.0 (" +
        FormatBytes(model::FreshServerUsedMemory(o.backend.allocator)) +
        " with one client" +
        (url.cluster_nodes > 0
             ? ", per node, plus a cluster node's slot tables (" +
                   FormatBytes(model::ClusterNodeEmptyBytes(o.backend.allocator)) + ")"
             : std::string()) +
        ") plus what this run makes it allocate: a latency histogram per command "
        "name on its first call, the script cache");
  }
  bool ttl_sync_noted = false;
  bool del_noted = false;
  Result<MemoryFigures> before = ReadMemory(kv);
  if (!before.ok()) return before.status().WithContext("INFO memory");
  r.baseline_bytes = before->used;
  if (on_redis && before->maxmemory > 0 && before->maxmemory < o.budget_bytes) {
    r.notes.push_back("the server's maxmemory (" + FormatBytes(before->maxmemory) +
                      ") is below the budget: writes may fail with OOM before the budget is "
                      "reached");
  }

  PipelineOptions po;
  po.keys = kso;
  po.aggregation.layout = layout;
  po.aggregation.max_resources = o.max_resources;
  Pipeline pipeline(kv, clock, po);

  std::unique_ptr<Workload> workload = MakeWorkload(o);
  r.workload = workload->Describe();
  NodeTracker nodes(kv, on_redis, workload->ExpectedAlerts());
  STORMKV_RETURN_IF_ERROR(nodes.Sample(0));
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> queue;
  uint64_t seq = 0;
  for (const ScheduledAlert& s : workload->Start()) queue.push({s.at_ms, seq++, s.id});

  const auto wall0 = SteadyClock::now();
  int64_t peak = before->used;
  int64_t last_sync_virtual = 0;
  auto last_sync_real = SteadyClock::now();
  ProgressBar bar("simulating " + r.layout, workload->ExpectedAlerts(), o.progress);
  AlertCounts& c = r.alerts;
  auto note_error = [&](const Status& s) -> Status {
    if (s.IsUnavailable() || s.IsTimeout()) return s;
    if (s.IsOutOfMemory()) {
      ++c.oom_errors;
    } else {
      ++c.other_errors;
    }
    if (!r.first_error) r.first_error = s.ToString();
    return Status::Ok();
  };
  auto checkpoint = [&]() -> Status {
    Result<MemoryFigures> m = ReadMemory(kv);
    if (!m.ok()) return m.status();
    peak = std::max({peak, m->used, on_redis ? int64_t{0} : m->peak});
    return Status::Ok();
  };
  // Redis keys age in real time; move their TTLs in step with the virtual clock.
  auto sync_ttls = [&](int64_t virtual_now) -> Status {
    int64_t shift = (virtual_now - last_sync_virtual) - MsSince(last_sync_real);
    last_sync_virtual = virtual_now;
    last_sync_real = SteadyClock::now();
    if (shift <= 0) return Status::Ok();
    return ShiftTtls(kv, pattern, std::chrono::milliseconds(shift));
  };

  int64_t processed = 0;
  int64_t last_close_ms = 0;
  // The gateway's periodic storm close (pipeline.h), once per simulated second.
  auto close_storms = [&]() -> Status {
    StormCloseResult closed = pipeline.CloseDueStorms();
    c.storms_closed += static_cast<int64_t>(closed.closed);
    return closed.status.ok() ? Status::Ok() : note_error(closed.status);
  };
  while (!queue.empty()) {
    Pending p = queue.top();
    queue.pop();
    if (p.at_ms - last_close_ms >= 1000) {
      clock->SetMs(start_ms + p.at_ms);
      last_close_ms = p.at_ms;
      STORMKV_RETURN_IF_ERROR(close_storms());
    }
    if (on_redis && p.at_ms - last_sync_virtual >= o.ttl_sync_ms) {
      STORMKV_RETURN_IF_ERROR(sync_ttls(p.at_ms));
      STORMKV_RETURN_IF_ERROR(checkpoint());
    } else if (!on_redis && !del_noted && p.at_ms - last_sync_virtual >= o.ttl_sync_ms) {
      // Where a run on Redis syncs TTLs: PTTL + PEXPIRE, and TIME once a key's time ran out
      // (ttl_shift.h; here: once the store expired one), each allocating its histogram. On a
      // cluster the sync's PTTL + PEXPIRE reach every master (one probe key per node), TIME
      // (keyless) the master of slot 0, as it does here.
      last_sync_virtual = p.at_ms;
      const std::vector<std::string> probes = NodeProbeKeys(kv, kso.prefix + "ttl-sync-probe");
      if (!ttl_sync_noted) {
        ttl_sync_noted = true;
        for (const std::string& none : probes) {
          STORMKV_RETURN_IF_ERROR(kv.Run({"PTTL", none}).status());
          STORMKV_RETURN_IF_ERROR(kv.Run({"PEXPIRE", none, "1"}).status());
        }
      }
      Result<std::map<std::string, std::string>> stats = kv.Info("stats");
      if (stats.ok() && (*stats)["expired_keys"] != "0" && !(*stats)["expired_keys"].empty()) {
        del_noted = true;
        STORMKV_RETURN_IF_ERROR(kv.Run({"TIME"}).status());
      }
    }
    clock->SetMs(start_ms + p.at_ms);
    r.simulated_ms = p.at_ms;
    SimAlert a = workload->Materialize(p.id);
    ++c.delivered;

    IngestResult res =
        pipeline.Ingest(WebhookBody(a, clock->NowMs()), SignalSource::kAlertmanager, a.client);
    int64_t retry_ms = -1;
    for (const AlertDecision& d : res.decisions) {
      switch (d.outcome) {
        case Outcome::kCreated:
          ++c.created;
          break;
        case Outcome::kDuplicate:
          ++c.duplicates;
          break;
        case Outcome::kStormAggregated:
          ++c.storm_aggregated;
          c.storms_opened += d.storm_opened ? 1 : 0;
          break;
        case Outcome::kRateLimited:
          ++c.rate_limited;
          retry_ms = std::max<int64_t>(d.retry_after_ms, 1);
          break;
        case Outcome::kIgnored:
          break;
        case Outcome::kRejected:
          STORMKV_RETURN_IF_ERROR(
              note_error(Status::Internal("the gateway rejected a simulated alert: " + d.reason)));
          break;
        case Outcome::kFailed:
          STORMKV_RETURN_IF_ERROR(
              note_error(d.status.ok() ? Status::Internal("failed: " + d.reason) : d.status));
          break;
      }
    }
    if (retry_ms >= 0) {
      if (p.attempt < kMaxRetries) {
        queue.push({p.at_ms + retry_ms, seq++, p.id, p.attempt + 1});
        continue;
      }
      ++c.dropped;
    }
    for (const ScheduledAlert& f : workload->FollowUps(p.id, p.at_ms)) {
      queue.push({f.at_ms, seq++, f.id});
    }
    ++processed;
    if (processed % 512 == 0) STORMKV_RETURN_IF_ERROR(checkpoint());
    STORMKV_RETURN_IF_ERROR(nodes.MaybeSample(processed, p.at_ms));
    bar.Update(processed);
  }
  bar.Finish();
  if (on_redis) STORMKV_RETURN_IF_ERROR(sync_ttls(r.simulated_ms));
  STORMKV_RETURN_IF_ERROR(checkpoint());

  const bool want_spread = o.cluster_masters > 0;
  SlotTally tally;
  Result<std::vector<FamilyBytes>> fams = MeasureFamilies(kv, schema, want_spread ? &tally : nullptr);
  if (!fams.ok()) return fams.status();
  r.families = std::move(fams).value();
  if (want_spread) {
    const int masters = static_cast<int>(o.cluster_masters);
    r.spread = SpreadOver(tally, EvenSlotRanges(masters),
                          std::to_string(masters) + (masters == 1 ? " master" : " masters") +
                              ", even slot split (redis-cli --cluster create)");
  }
  for (const FamilyBytes& f : r.families) r.key_bytes += f.bytes;
  Result<MemoryFigures> after = ReadMemory(kv);
  if (!after.ok()) return after.status();
  r.used_memory_bytes = after->used;
  r.peak_bytes = std::max(peak, after->used);
  r.wall_ms = MsSince(wall0);
  r.fits = r.peak_bytes <= r.budget_bytes && c.oom_errors == 0;
  // A cluster fits when every node does (the budget is per node, as maxmemory is).
  STORMKV_RETURN_IF_ERROR(nodes.Finish(schema, &r));
  if (on_redis) {
    Status s = DeleteKeys(kv, pattern);
    if (!s.ok()) {
      r.notes.push_back("could not delete the keys under " + r.key_prefix + ": " + s.ToString() +
                        " (they all carry a TTL and expire by themselves)");
    }
  }
  return r;
}

std::string Seconds(int64_t ms) {
  char buf[32];
  if (ms < 10000) {
    std::snprintf(buf, sizeof buf, "%.2fs", static_cast<double>(ms) / 1000);
  } else if (ms < 60000) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000);
  } else {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(ms / 60000),
                  static_cast<long long>(ms % 60000 / 1000));
  }
  return buf;
}

std::string BackendText(const SimulationResult& r) {
  if (r.allocator.empty()) return r.backend;
  return r.backend + " (embedded store modelling Redis 7.0, " + r.allocator + " allocator)";
}

std::string AlertLine(const AlertCounts& c) {
  std::string s = FormatCount(c.delivered) + " alerts delivered -> " + FormatCount(c.created) +
                  " created, " + FormatCount(c.duplicates) + " duplicates, " +
                  FormatCount(c.storm_aggregated) + " storm-aggregated into " +
                  FormatCount(c.storms_opened) + (c.storms_opened == 1 ? " storm, " : " storms, ") +
                  FormatCount(c.rate_limited) + " rate-limited (re-sent)";
  if (c.dropped) s += ", " + FormatCount(c.dropped) + " dropped after 3 re-sends";
  if (c.oom_errors) s += ", " + FormatCount(c.oom_errors) + " refused with OOM";
  if (c.other_errors) s += ", " + FormatCount(c.other_errors) + " failed";
  return s;
}

std::string Verdict(const SimulationResult& r) {
  std::string s = r.fits ? "fits: " : "does NOT fit: ";
  s += FormatBytes(r.peak_bytes) + " (peak) of " + FormatBytes(r.budget_bytes) + " (" +
       FormatPercent(static_cast<double>(r.peak_bytes) / static_cast<double>(r.budget_bytes)) + ")";
  if (r.alerts.oom_errors) {
    s += "; " + FormatCount(r.alerts.oom_errors) + " writes were refused with OOM";
  }
  return s;
}

const FamilyBytes* FindFamily(const SimulationResult& r, const std::string& name) {
  for (const FamilyBytes& f : r.families) {
    if (f.family == name) return &f;
  }
  return nullptr;
}

std::string Ratio(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", x);
  return buf;
}

// Keys and bytes per cluster master, and how far the busiest is above the mean.
std::string RenderSpread(const SlotSpread& sp) {
  std::ostringstream os;
  os << "keys per cluster master (" << sp.source << "):\n";
  Table t({"master", "slots", "keys", "bytes", "share"});
  int64_t bytes = 0;
  for (const MasterShare& m : sp.masters) bytes += m.bytes;
  for (const MasterShare& m : sp.masters) {
    t.AddRow({m.master, FormatCount(m.slots), FormatCount(m.keys), FormatBytes(m.bytes),
              FormatPercent(bytes > 0 ? static_cast<double>(m.bytes) / static_cast<double>(bytes)
                                      : 0.0)});
  }
  os << t.Render(2);
  os << "  busiest master: " << Ratio(sp.busiest_keys_ratio) << " the mean keys, "
     << Ratio(sp.busiest_bytes_ratio) << " the mean bytes\n";
  return os.str();
}

std::string RenderOne(const SimulationResult& r) {
  std::ostringstream os;
  os << "stormkv simulate: scenario " << r.scenario << " (" << r.workload << "), seed " << r.seed
     << "\n";
  os << "backend: " << BackendText(r) << "\n";
  os << "layout: " << r.layout << "; budget " << FormatBytes(r.budget_bytes) << "\n";
  os << AlertLine(r.alerts) << "\n";
  os << "gateway time simulated: " << Seconds(r.simulated_ms) << " (wall " << Seconds(r.wall_ms)
     << ")\n\n";
  const double used = static_cast<double>(std::max<int64_t>(r.used_memory_bytes, 1));
  Table t({"key family", "keys", "bytes", "bytes/key", "share"});
  int64_t keys = 0;
  for (const FamilyBytes& f : r.families) {
    keys += f.keys;
    t.AddRow({f.family, FormatCount(f.keys), FormatBytes(f.bytes),
              FormatCount(f.keys ? (f.bytes + f.keys / 2) / f.keys : 0),
              FormatPercent(static_cast<double>(f.bytes) / used)});
  }
  t.AddSeparator();
  t.AddRow({"all keys", FormatCount(keys), FormatBytes(r.key_bytes), "",
            FormatPercent(static_cast<double>(r.key_bytes) / used)});
  const int64_t overhead = r.used_memory_bytes - r.key_bytes;
  t.AddRow({"server overhead", "", FormatBytes(overhead), "",
            FormatPercent(static_cast<double>(overhead) / used)});
  t.AddRow({"used_memory", "", FormatBytes(r.used_memory_bytes), "", "100%"});
  t.AddRow({"peak", "", FormatBytes(r.peak_bytes), "", ""});
  os << t.Render(2);
  os << "  (server overhead: what an empty server uses, plus expiry entries, hash tables and the "
        "script cache)\n";
  if (const FamilyBytes* agg = FindFamily(r, "storm-agg"); agg && agg->keys > 0) {
    os << "  storm aggregation (" << r.layout << "): " << FormatBytes(agg->bytes / agg->keys)
       << " per storm on average\n";
  }
  if (r.spread) os << "\n" << RenderSpread(*r.spread);
  if (!r.nodes.empty()) os << "\n" << RenderNodes(r);
  if (r.shared_server) {
    os << "note: measured on a live server: used_memory includes everything else it holds ("
       << FormatBytes(r.baseline_bytes) << " before the run)\n";
  }
  for (const std::string& n : r.notes) os << "note: " << n << "\n";
  if (r.first_error) os << "first error: " << *r.first_error << "\n";
  os << "\n" << (r.nodes.empty() ? Verdict(r) : ClusterVerdict(r)) << "\n";
  return os.str();
}

std::string RenderComparison(const std::vector<SimulationResult>& rs) {
  std::ostringstream os;
  const SimulationResult& first = rs.front();
  os << "stormkv simulate: scenario " << first.scenario << " (" << first.workload << "), seed "
     << first.seed << "\n";
  os << "backend: " << BackendText(first) << "\n";
  os << "layouts compared, each on a fresh " << (first.shared_server ? "key prefix" : "store")
     << "; budget " << FormatBytes(first.budget_bytes) << "\n";
  os << AlertLine(first.alerts) << "\n";
  os << "gateway time simulated: " << Seconds(first.simulated_ms) << "\n\n";

  std::vector<std::string> headers = {"", "keys"};
  for (const SimulationResult& r : rs) headers.push_back(r.layout);
  Table t(headers);
  std::vector<std::string> names;
  for (const SimulationResult& r : rs) {
    for (const FamilyBytes& f : r.families) {
      if (std::find(names.begin(), names.end(), f.family) == names.end()) {
        names.push_back(f.family);
      }
    }
  }
  for (const std::string& n : names) {
    std::vector<std::string> row = {n};
    const FamilyBytes* f0 = FindFamily(first, n);
    row.push_back(f0 ? FormatCount(f0->keys) : "0");
    for (const SimulationResult& r : rs) {
      const FamilyBytes* f = FindFamily(r, n);
      row.push_back(f ? FormatBytes(f->bytes) : "0 B");
    }
    t.AddRow(row);
  }
  t.AddSeparator();
  auto add = [&](const std::string& label, auto fn) {
    std::vector<std::string> row = {label, ""};
    for (const SimulationResult& r : rs) row.push_back(fn(r));
    t.AddRow(row);
  };
  add("all keys", [](const SimulationResult& r) { return FormatBytes(r.key_bytes); });
  add("used_memory", [](const SimulationResult& r) { return FormatBytes(r.used_memory_bytes); });
  add("peak", [](const SimulationResult& r) { return FormatBytes(r.peak_bytes); });
  add("of budget", [](const SimulationResult& r) {
    return FormatPercent(static_cast<double>(r.peak_bytes) / static_cast<double>(r.budget_bytes));
  });
  add("per storm", [](const SimulationResult& r) {
    const FamilyBytes* agg = FindFamily(r, "storm-agg");
    return agg && agg->keys ? FormatBytes(agg->bytes / agg->keys) : std::string("-");
  });
  add("wall time", [](const SimulationResult& r) { return Seconds(r.wall_ms); });
  add("verdict",
      [](const SimulationResult& r) { return std::string(r.fits ? "fits" : "does NOT fit"); });
  os << t.Render(2);

  const FamilyBytes* big = nullptr;
  const FamilyBytes* small = nullptr;
  std::string big_name, small_name;
  for (const SimulationResult& r : rs) {
    const FamilyBytes* agg = FindFamily(r, "storm-agg");
    if (!agg || agg->keys == 0) continue;
    if (!big || agg->bytes > big->bytes) big = agg, big_name = r.layout;
    if (!small || agg->bytes < small->bytes) small = agg, small_name = r.layout;
  }
  if (big && small && small->bytes > 0 && big != small) {
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.1fx",
                  static_cast<double>(big->bytes) / static_cast<double>(small->bytes));
    os << "  storm aggregations: " << small_name << " takes " << ratio << " less memory than "
       << big_name << "\n";
  }
  std::vector<std::string> notes;
  if (first.shared_server) {
    notes.push_back("measured on a live server: used_memory includes everything else it holds (" +
                    FormatBytes(first.baseline_bytes) +
                    " before the first run; later runs also "
                    "find the scripts and hash tables the earlier ones left)");
  }
  for (const SimulationResult& r : rs) {
    for (const std::string& n : r.notes) {
      if (std::find(notes.begin(), notes.end(), n) == notes.end()) notes.push_back(n);
    }
    if (r.first_error) notes.push_back(r.layout + ": first error: " + *r.first_error);
  }
  for (const SimulationResult& r : rs) {
    if (!r.spread) continue;
    os << "  " << r.layout << ": busiest of " << r.spread->masters.size() << " masters ("
       << r.spread->source << "): " << Ratio(r.spread->busiest_keys_ratio) << " the mean keys, "
       << Ratio(r.spread->busiest_bytes_ratio) << " the mean bytes\n";
  }
  for (const std::string& n : notes) os << "note: " << n << "\n";

  os << "\n";
  for (const SimulationResult& r : rs) {
    std::string name = r.layout + ":";
    name.resize(11, ' ');
    os << name << (r.nodes.empty() ? Verdict(r) : ClusterVerdict(r)) << "\n";
  }
  return os.str();
}

}  // namespace

const char* ScenarioName(Scenario s) {
  switch (s) {
    case Scenario::kIntegration:
      return "integration";
    case Scenario::kProduction:
      return "production";
    case Scenario::kStorm:
      return "storm";
  }
  return "integration";
}

Result<Scenario> ParseScenario(std::string_view name) {
  if (name == "integration") return Scenario::kIntegration;
  if (name == "production") return Scenario::kProduction;
  if (name == "storm") return Scenario::kStorm;
  return Status::InvalidArgument("unknown scenario '" + std::string(name) +
                                 "': choose integration, production or storm");
}

Result<std::vector<SimulationResult>> RunSimulations(const SimulateOptions& options) {
  if (options.layouts.empty()) return Status::InvalidArgument("no layout to simulate");
  if (options.budget_bytes <= 0) return Status::InvalidArgument("the budget must be > 0");
  if (options.max_resources < 1) return Status::InvalidArgument("--max-resources must be >= 1");
  if (options.key_prefix.find_first_of("{}") != std::string::npos) {
    return Status::InvalidArgument("the key prefix must not contain '{' or '}'");
  }
  if (options.cluster_nodes != 0) {
    if (options.cluster_nodes < 1 || options.cluster_nodes > kHashSlots) {
      return Status::InvalidArgument("--cluster: a cluster has 1 to 16384 nodes");
    }
    if (options.backend.kind != BackendKind::kMemory) {
      return Status::InvalidArgument(
          "--cluster N runs on the embedded store (memory); a real cluster is measured per "
          "node through its own URL");
    }
    if (options.backend.cluster_nodes != 0 && options.backend.cluster_nodes != options.cluster_nodes) {
      return Status::InvalidArgument("--cluster " + std::to_string(options.cluster_nodes) +
                                     " contradicts the backend URL's cluster=" +
                                     std::to_string(options.backend.cluster_nodes));
    }
  }
  if (options.cluster_masters > 0 &&
      (options.cluster_nodes > 0 || options.backend.cluster_nodes > 0)) {
    return Status::InvalidArgument(
        "--cluster-masters forecasts a split on a single store; on a cluster (--cluster N) the "
        "report is per node already");
  }
  std::vector<SimulationResult> out;
  for (Layout layout : options.layouts) {
    Result<SimulationResult> r = RunOne(options, layout);
    if (!r.ok()) return r.status();
    out.push_back(std::move(r).value());
  }
  return out;
}

std::string RenderSimulationText(const std::vector<SimulationResult>& results) {
  if (results.empty()) return "";
  return results.size() == 1 ? RenderOne(results.front()) : RenderComparison(results);
}

nlohmann::ordered_json SimulationJson(const SimulationResult& r) {
  nlohmann::ordered_json fams = nlohmann::ordered_json::array();
  for (const FamilyBytes& f : r.families) {
    fams.push_back({{"family", f.family}, {"keys", f.keys}, {"bytes", f.bytes}});
  }
  const AlertCounts& c = r.alerts;
  nlohmann::ordered_json j = {
      {"scenario", r.scenario},
      {"workload", r.workload},
      {"backend", r.backend},
      {"allocator", r.allocator},
      {"layout", r.layout},
      {"seed", r.seed},
      {"budget_bytes", r.budget_bytes},
      {"used_memory_bytes", r.used_memory_bytes},
      {"peak_bytes", r.peak_bytes},
      {"baseline_bytes", r.baseline_bytes},
      {"key_bytes", r.key_bytes},
      {"fits", r.fits},
      {"families", fams},
      {"alerts",
       {{"delivered", c.delivered},
        {"created", c.created},
        {"duplicates", c.duplicates},
        {"storm_aggregated", c.storm_aggregated},
        {"storms_opened", c.storms_opened},
        {"rate_limited", c.rate_limited},
        {"dropped", c.dropped},
        {"oom_errors", c.oom_errors},
        {"other_errors", c.other_errors}}},
      {"simulated_ms", r.simulated_ms},
      {"wall_ms", r.wall_ms},
      {"key_prefix", r.key_prefix},
      {"notes", r.notes},
  };
  j["first_error"] =
      r.first_error ? nlohmann::ordered_json(*r.first_error) : nlohmann::ordered_json(nullptr);
  if (!r.nodes.empty()) j["nodes"] = NodesJson(r);
  if (r.spread) {
    nlohmann::ordered_json masters = nlohmann::ordered_json::array();
    for (const MasterShare& m : r.spread->masters) {
      masters.push_back(
          {{"master", m.master}, {"slots", m.slots}, {"keys", m.keys}, {"bytes", m.bytes}});
    }
    j["cluster_spread"] = {{"source", r.spread->source},
                           {"masters", masters},
                           {"busiest_keys_ratio", r.spread->busiest_keys_ratio},
                           {"busiest_bytes_ratio", r.spread->busiest_bytes_ratio}};
  }
  return j;
}

}  // namespace stormkv::cli
