// stormkv — the command-line front end: simulate, triage, ingest.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "backend_url.h"
#include "exit_codes.h"
#include "ingest.h"
#include "progress.h"
#include "serve.h"
#include "simulate.h"
#include "simulate_nodes.h"
#include "triage.h"
#include "triage_cluster.h"
#include "units.h"

namespace stormkv::cli {
namespace {

void PrintError(const Status& s) { std::cerr << "stormkv: error: " << s.message() << "\n"; }

void PrintJson(const nlohmann::ordered_json& j) {
  std::cout << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

// Opens a URL for a command; prints the error and sets *exit_code on failure.
std::unique_ptr<KvBackend> Open(const std::string& text, const OpenBackendOptions& options,
                                int* exit_code) {
  Result<BackendUrl> url = ParseBackendUrl(text);
  if (!url.ok()) {
    PrintError(url.status());
    *exit_code = kExitUsage;
    return nullptr;
  }
  Result<std::unique_ptr<KvBackend>> kv = OpenBackend(*url, options);
  if (!kv.ok()) {
    PrintError(kv.status());
    *exit_code = ExitCodeFor(kv.status());
    return nullptr;
  }
  return std::move(kv).value();
}

struct TriageArgs {
  std::string url;
  TriageOptions options;
  std::string big_key = "1mb";
  bool json = false;
  bool no_progress = false;
};

int RunTriageCommand(TriageArgs& a) {
  Result<int64_t> big = ParseByteSize(a.big_key);
  if (!big.ok()) {
    PrintError(big.status().WithContext("--big-key"));
    return kExitUsage;
  }
  a.options.big_key_bytes = *big;
  a.options.progress = !a.no_progress && !a.json;
  int rc = kExitOk;
  std::unique_ptr<KvBackend> kv = Open(a.url, {}, &rc);
  if (!kv) return rc;
  std::vector<ClusterMember> members = ClusterMembers(*kv);
  if (!members.empty()) {
    ClusterTriageOptions co;
    co.triage = a.options;
    co.connect = ReplicaConnector(a.url);
    Result<ClusterTriageReport> report = RunClusterTriage(members, kv->Describe(), co);
    if (!report.ok()) {
      PrintError(report.status());
      return ExitCodeFor(report.status()) == kExitUsage ? kExitFailed
                                                        : ExitCodeFor(report.status());
    }
    if (a.json) {
      PrintJson(ClusterTriageJson(*report));
    } else {
      std::cout << RenderClusterTriageText(*report, a.options);
    }
    return HasErrors(report->findings) ? kExitFailed : kExitOk;
  }
  std::unique_ptr<KvBackend> ro = MakeReadOnlyBackend(kv.get());
  Result<TriageReport> report = RunTriage(*ro, a.options);
  if (!report.ok()) {
    PrintError(report.status());
    return ExitCodeFor(report.status()) == kExitUsage ? kExitFailed : ExitCodeFor(report.status());
  }
  if (a.json) {
    PrintJson(TriageJson(*report));
  } else {
    std::cout << RenderTriageText(*report, a.options);
  }
  return HasErrors(*report) ? kExitFailed : kExitOk;
}

struct SimulateArgs {
  std::string scenario = "integration";
  std::string backend = "memory";
  std::string layout = "compact";
  bool compare = false;
  std::string budget = "256mb";
  bool json = false;
  bool no_progress = false;
  std::string plot;  // --plot FILE.svg
  SimulateOptions options;
};

int RunSimulateCommand(SimulateArgs& a, const std::vector<const CLI::Option*>& production_only,
                       const std::vector<const CLI::Option*>& storm_only) {
  Result<Scenario> scenario = ParseScenario(a.scenario);
  if (!scenario.ok()) {
    PrintError(scenario.status().WithContext("--scenario"));
    return kExitUsage;
  }
  a.options.scenario = *scenario;
  auto misplaced = [&](const std::vector<const CLI::Option*>& opts, Scenario wanted) {
    for (const CLI::Option* o : opts) {
      if (o->count() > 0 && a.options.scenario != wanted) {
        PrintError(Status::InvalidArgument(o->get_name() + " only applies to --scenario " +
                                           ScenarioName(wanted)));
        return true;
      }
    }
    return false;
  };
  if (misplaced(production_only, Scenario::kProduction) ||
      misplaced(storm_only, Scenario::kStorm)) {
    return kExitUsage;
  }
  Result<int64_t> budget = ParseByteSize(a.budget);
  if (!budget.ok() || *budget <= 0) {
    PrintError(budget.ok() ? Status::InvalidArgument("--budget: must be more than 0 bytes")
                           : budget.status().WithContext("--budget"));
    return kExitUsage;
  }
  a.options.budget_bytes = *budget;
  if (a.compare) {
    a.options.layouts.assign(kAllLayouts.begin(), kAllLayouts.end());
  } else {
    Result<Layout> layout = ParseLayout(a.layout);
    if (!layout.ok()) {
      PrintError(layout.status().WithContext("--layout"));
      return kExitUsage;
    }
    a.options.layouts = {*layout};
  }
  Result<BackendUrl> url = ParseBackendUrl(a.backend);
  if (!url.ok()) {
    PrintError(url.status());
    return kExitUsage;
  }
  a.options.backend = *url;
  a.options.progress = !a.no_progress;
  Result<std::vector<SimulationResult>> results = RunSimulations(a.options);
  if (!results.ok()) {
    PrintError(results.status());
    return ExitCodeFor(results.status());
  }
  bool fits = true;
  for (const SimulationResult& r : *results) fits = fits && r.fits;
  if (!a.plot.empty()) {
    Status plotted = WritePlot(*results, a.plot);
    if (!plotted.ok()) {
      PrintError(plotted);
      return kExitFailed;
    }
  }
  if (a.json) {
    if (results->size() == 1) {
      PrintJson(SimulationJson(results->front()));
    } else {
      nlohmann::ordered_json all = nlohmann::ordered_json::array();
      for (const SimulationResult& r : *results) all.push_back(SimulationJson(r));
      PrintJson(all);
    }
  } else {
    std::cout << RenderSimulationText(*results);
  }
  return fits ? kExitOk : kExitFailed;
}

struct IngestArgs {
  std::vector<std::string> inputs;
  std::string format = "auto";
  std::string backend = "memory";
  std::string layout = "compact";
  std::string now;
  int64_t step_ms = 0;
  bool no_rate_limit = false;
  std::string max_payload;
  std::size_t max_alerts = 0;
  IngestOptions options;
};

int RunIngestCommand(IngestArgs& a) {
  Result<std::optional<SignalSource>> format = ParseIngestFormat(a.format);
  if (!format.ok()) {
    PrintError(format.status().WithContext("--format"));
    return kExitUsage;
  }
  Result<Layout> layout = ParseLayout(a.layout);
  if (!layout.ok()) {
    PrintError(layout.status().WithContext("--layout"));
    return kExitUsage;
  }
  Result<BackendUrl> url = ParseBackendUrl(a.backend);
  if (!url.ok()) {
    PrintError(url.status());
    return kExitUsage;
  }
  if (!a.now.empty()) {
    Result<std::optional<int64_t>> t = ParseRfc3339Ms(a.now);
    if (!t.ok() || !t->has_value()) {
      PrintError(
          Status::InvalidArgument("--now: expected an RFC 3339 time such as "
                                  "2024-05-01T12:00:00Z, got '" +
                                  a.now + "'"));
      return kExitUsage;
    }
    a.options.now_ms = **t;
  } else if (a.step_ms != 0) {
    PrintError(Status::InvalidArgument("--step-ms needs --now (the system clock cannot be moved)"));
    return kExitUsage;
  }
  if (a.options.prefix.find_first_of("{}") != std::string::npos) {
    PrintError(Status::InvalidArgument("--prefix must not contain '{' or '}'"));
    return kExitUsage;
  }
  if (!a.max_payload.empty()) {
    Result<int64_t> bytes = ParseByteSize(a.max_payload);
    if (!bytes.ok() || *bytes <= 0) {
      PrintError(bytes.ok() ? Status::InvalidArgument("must be more than 0 bytes")
                                  .WithContext("--max-payload")
                            : bytes.status().WithContext("--max-payload"));
      return kExitUsage;
    }
    a.options.limits.max_payload_bytes = static_cast<std::size_t>(*bytes);
  }
  if (a.max_alerts > 0) a.options.limits.max_items = a.max_alerts;
  a.options.inputs = a.inputs;
  a.options.format = *format;
  a.options.layout = *layout;
  a.options.backend = *url;
  a.options.step_ms = a.step_ms;
  a.options.rate_limit = !a.no_rate_limit;
  Result<IngestSummary> summary = RunIngest(a.options, std::cout);
  if (!summary.ok()) {
    PrintError(summary.status());
    return ExitCodeFor(summary.status());
  }
  std::string counts;
  for (const auto& [name, n] : summary->outcomes) {
    counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + name;
  }
  std::cerr << "stormkv ingest: " << summary->payloads << " payload(s), " << summary->decisions
            << " decision(s)" << (counts.empty() ? "" : " (" + counts + ")") << ", "
            << summary->requests << " RemediationRequest(s)";
  if (summary->storms_closed > 0) std::cerr << ", " << summary->storms_closed << " storm(s) closed";
  if (summary->storms_left_open > 0) {
    std::cerr << "; " << summary->storms_left_open
              << " storm(s) left open (their windows end after this run: a gateway's periodic "
                 "close, or ingest again on the same backend, emits their final requests; "
                 "--now closes them at the end of the input)";
  }
  std::cerr << "\n";
  return summary->rejected_payloads + summary->failed_payloads > 0 ? kExitFailed : kExitOk;
}

constexpr const char* kFooter =
    "Exit codes: 0 ok; 1 over budget, error findings or a runtime error; 2 usage error or bad "
    "URL; 3 backend unreachable.";

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "stormkv: small, atomic, measured alert-gateway state.\n\n"
      "  simulate  how much Redis memory does an alert workload need, and does it fit a budget?\n"
      "  triage    where does a live Redis's memory go, and what is wrong with it? (read-only)\n"
      "  ingest    replay Alertmanager / Kubernetes Event payloads through the gateway pipeline",
      "stormkv"};
  app.footer(kFooter);
  app.require_subcommand(1);
  app.set_version_flag("--version", "stormkv 0.1.0");

  TriageArgs triage;
  CLI::App* tri = app.add_subcommand(
      "triage", "Explain where a live Redis's memory goes and what is wrong with it (read-only)");
  tri->footer(
      "Read-only: sends only INFO, DBSIZE, SCAN, TYPE, PTTL, MEMORY USAGE, OBJECT ENCODING and\n"
      "CLUSTER INFO/NODES/MYID; never a write, never CONFIG SET.\n\n"
      "Examples:\n"
      "  stormkv triage redis://127.0.0.1:6379/0\n"
      "  stormkv triage redis://:secret@cache:6379/2 --sample 50000 --top 20 --json\n"
      "  stormkv triage redis-cluster://10.0.0.1:7000,10.0.0.2:7000\n\n"
      "Reports memory by key family (stormkv's own families, other keys grouped by their prefix\n"
      "up to the first ':'), keys without a TTL, the biggest keys, the INFO memory breakdown and\n"
      "findings with a severity. Exit 1 when a finding is an error (e.g. maxmemory below\n"
      "used_memory: every write fails with OOM), 3 when the server cannot be reached.\n\n"
      "On a cluster (redis-cluster://, memory://?cluster=N) every master is triaged by itself\n"
      "(--sample applies per master) and its replicas' INFO is read: per-master memory,\n"
      "maxmemory and policy, and cluster findings (maxmemory-differs, hot-shard,\n"
      "cluster-state, master-without-replica, node-unreachable).");
  tri->add_option("url", triage.url,
                  "The server: redis://[user:password@]host:port/db, unix:///path.sock?db=N, "
                  "redis-cluster://[user:password@]host:port[,host:port...] "
                  "(memory works too, for a dry run)")
      ->required();
  tri->add_option("--sample", triage.options.sample,
                  "Inspect every key when the database has at most N keys, else a random sample "
                  "of N keys and extrapolate (labelled ~)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  tri->add_option("--top", triage.options.top, "How many of the biggest keys to list")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  tri->add_option("--big-key", triage.big_key, "Report keys at least this big (kb/mb/gb)")
      ->capture_default_str();
  tri->add_option("--max-scripts", triage.options.max_cached_scripts,
                  "Report script-cache growth above this many cached scripts")
      ->capture_default_str();
  tri->add_option("--seed", triage.options.seed, "Seed of the key sampler")->capture_default_str();
  tri->add_flag("--json", triage.json, "Print one JSON object instead of tables");
  tri->add_flag("--no-progress", triage.no_progress, "Never draw the progress bar on stderr");
  tri->footer(std::string(tri->get_footer()) + "\n\n" + kFooter);

  SimulateArgs simulate;
  CLI::App* sim = app.add_subcommand(
      "simulate", "Measure the Redis memory an alert workload needs, and whether it fits a budget");
  sim->footer(
      "Replays a workload through the real gateway services (rate limiter, deduplicator, storm\n"
      "detector, storm aggregator) on the chosen backend, with a virtual clock that jumps from\n"
      "alert to alert, then measures: keys and bytes per key family (MEMORY USAGE), used_memory\n"
      "and its peak during the run, against the budget. Exit 1 when the peak does not fit\n"
      "(with --compare-layouts: when any layout does not fit).\n\n"
      "Scenarios:\n"
      "  integration  shaped like a ~92-test gateway integration run: a few hundred alerts, a few\n"
      "               dozen storms, one namespace per test, nothing flushed between tests\n"
      "  production   --fingerprints alerts re-sent every --repeat-minutes, plus --storms storms\n"
      "               of --storm-resources resources, over --minutes\n"
      "  storm        one storm of --resources resources arriving at --rate alerts/s\n\n"
      "On Redis the run writes under a fresh key prefix (sim<4 random chars>:), moves\n"
      "the keys' TTLs along with the virtual clock, and deletes its keys at the end. It never\n"
      "runs FLUSHDB or CONFIG SET. used_memory there includes whatever else the server holds.\n"
      "If interrupted, the keys it wrote expire by themselves (every gateway key has a TTL).\n\n"
      "Examples:\n"
      "  stormkv simulate --scenario integration --compare-layouts --budget 256mb\n"
      "  stormkv simulate --scenario production --fingerprints 100000 --storms 1000 \\\n"
      "      --storm-resources 50 --layout compact --budget 256mb --json\n"
      "  stormkv simulate --scenario storm --resources 10000 --backend "
      "redis://127.0.0.1:6379/0\n"
      "  stormkv simulate --scenario production --cluster 3 --plot nodes.svg\n\n" +
      std::string(kFooter));
  sim->add_option("--scenario", simulate.scenario, "integration, production or storm")
      ->capture_default_str();
  sim->add_option("--backend", simulate.backend,
                  "memory (embedded store modelling Redis 7.0; memory://?allocator=upstream for "
                  "upstream builds), redis://host:port/db, unix:///path.sock, "
                  "redis-cluster://host:port[,host:port...]")
      ->capture_default_str();
  CLI::Option* layout_opt =
      sim->add_option("--layout", simulate.layout,
                      "Storm aggregation layout: full-crd (whole RemediationRequest JSON), "
                      "json-meta (lightweight JSON record) or compact (one hash per storm)")
          ->capture_default_str();
  sim->add_flag("--compare-layouts", simulate.compare,
                "Run all three layouts, each on a fresh store, and show them side by side")
      ->excludes(layout_opt);
  sim->add_option("--budget", simulate.budget,
                  "Memory budget, with Redis units: 100kb, 256mb, 2gb (kb = 1024 bytes)")
      ->capture_default_str();
  sim->add_option("--seed", simulate.options.seed, "Seed of the workload (same seed, same run)")
      ->capture_default_str();
  sim->add_option("--max-resources", simulate.options.max_resources,
                  "Resources listed per storm aggregation; more only count as overflow")
      ->capture_default_str();
  sim->add_option("--ttl-sync-ms", simulate.options.ttl_sync_ms,
                  "Redis only: how often, in virtual ms, key TTLs are moved with the clock")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sim->add_option("--cluster-masters", simulate.options.cluster_masters,
                  "Also show how the keys spread over a Redis Cluster of N masters (the even slot "
                  "split of redis-cli --cluster create): keys and bytes per master")
      ->check(CLI::Range(1, 1000));
  sim->add_option("--cluster", simulate.options.cluster_nodes,
                  "Run on the embedded store as a Redis Cluster of N masters (the slots of "
                  "redis-cli --cluster create, a cluster node's memory profile) and report each "
                  "node: keys, bytes by family, used_memory, peak, fits (the budget is per node)")
      ->check(CLI::Range(1, 16384));
  sim->add_option("--plot", simulate.plot,
                  "Write an SVG chart of used_memory over simulated time (one line per node) "
                  "with the budget line to FILE");
  sim->add_flag("--json", simulate.json,
                "Print one JSON object (an array of them with --compare-layouts)");
  sim->add_flag("--no-progress", simulate.no_progress, "Never draw the progress bar on stderr");
  ProductionParams& pp = simulate.options.production;
  CLI::Option_group* prod = sim->add_option_group("Production scenario");
  std::vector<const CLI::Option*> production_only = {
      prod->add_option("--fingerprints", pp.fingerprints, "Distinct (non-storm) alerts")
          ->capture_default_str()
          ->check(CLI::NonNegativeNumber),
      prod->add_option("--storms", pp.storms, "Alert storms")
          ->capture_default_str()
          ->check(CLI::NonNegativeNumber),
      prod->add_option("--storm-resources", pp.storm_resources,
                       "Resources per storm (one alert each)")
          ->capture_default_str()
          ->check(CLI::PositiveNumber),
      prod->add_option("--minutes", pp.minutes, "Length of the run in minutes")
          ->capture_default_str()
          ->check(CLI::PositiveNumber),
      prod->add_option("--repeat-minutes", pp.repeat_minutes,
                       "A firing alert is re-sent this often (0 = once)")
          ->capture_default_str()
          ->check(CLI::NonNegativeNumber),
      prod->add_option("--storm-rate", pp.storm_alerts_per_sec,
                       "Alerts per second within one storm")
          ->capture_default_str()
          ->check(CLI::PositiveNumber),
      prod->add_option("--namespaces", pp.namespaces,
                       "Namespaces the alerts spread over (default: one per 200 fingerprints, at "
                       "least 10)")
          ->check(CLI::PositiveNumber),
      prod->add_option("--clients", pp.clients, "Alertmanager replicas calling the gateway")
          ->capture_default_str()
          ->check(CLI::PositiveNumber)};
  CLI::Option_group* storm_group = sim->add_option_group("Storm scenario");
  std::vector<const CLI::Option*> storm_only = {
      storm_group
          ->add_option("--resources", simulate.options.storm.resources,
                       "Resources in the storm (one alert each)")
          ->capture_default_str()
          ->check(CLI::PositiveNumber),
      storm_group->add_option("--rate", simulate.options.storm.alerts_per_sec, "Alerts per second")
          ->capture_default_str()
          ->check(CLI::PositiveNumber)};
  IngestArgs ingest;
  CLI::App* ing = app.add_subcommand(
      "ingest", "Replay Alertmanager or Kubernetes Event JSON through the gateway pipeline");
  ing->footer(
      "Each FILE holds one payload (an Alertmanager v4 webhook body, a Kubernetes Event, an\n"
      "EventList or a watch event), or one payload per line (JSON Lines). '-' reads stdin.\n"
      "Every payload goes through the gateway pipeline: adapter, rate limit, deduplication,\n"
      "storm detection and aggregation, on the chosen backend (default: a fresh embedded "
      "store).\n\n"
      "Output on stdout, one JSON object per line: one line per decision (created, duplicate,\n"
      "storm-aggregated, rate-limited, rejected, ignored, failed) with the payload it came\n"
      "from, then one line per RemediationRequest emitted. A summary goes to stderr.\n"
      "Exit 1 when a payload was rejected or failed.\n\n"
      "Examples:\n"
      "  stormkv ingest webhook.json\n"
      "  kubectl get events -A -o json | stormkv ingest --format kubernetes-event -\n"
      "  stormkv ingest --backend redis://127.0.0.1:6379/0 --prefix staging: captured.jsonl\n"
      "  stormkv ingest --now 2024-05-01T12:00:00Z --step-ms 1000 a.json b.json\n\n" +
      std::string(kFooter));
  ing->add_option("files", ingest.inputs, "Payload files; - for stdin")->required();
  ing->add_option("--format", ingest.format,
                  "auto (detect per payload), alertmanager or kubernetes-event")
      ->capture_default_str();
  ing->add_option("--backend", ingest.backend,
                  "memory, redis://host:port/db, unix:///path.sock or "
                  "redis-cluster://host:port[,host:port...] (writes real gateway state)")
      ->capture_default_str();
  ing->add_option("--layout", ingest.layout,
                  "Storm aggregation layout: full-crd, json-meta, compact")
      ->capture_default_str();
  ing->add_option("--prefix", ingest.options.prefix, "Key prefix of the gateway state")
      ->capture_default_str();
  ing->add_option("--client", ingest.options.client, "Rate-limit client id of the caller")
      ->capture_default_str();
  ing->add_flag("--no-rate-limit", ingest.no_rate_limit, "Do not rate limit (no bucket written)");
  ing->add_option("--max-payload", ingest.max_payload,
                  "Largest payload accepted, e.g. 64mib (default 32mib: a 10,000-alert storm "
                  "webhook is ~10 MB); larger ones are rejected as 'payload too large'");
  ing->add_option("--max-alerts", ingest.max_alerts,
                  "Most alerts (or events) in one payload (default " +
                      std::to_string(AdapterLimits{}.max_items) + ")")
      ->check(CLI::PositiveNumber);
  ing->add_option("--now", ingest.now,
                  "Pin the clock to this RFC 3339 time instead of the system clock");
  ing->add_option("--step-ms", ingest.step_ms,
                  "With --now: move the clock this many ms forward after each payload")
      ->check(CLI::NonNegativeNumber);

  ServeArgs serve;
  CLI::App* srv = AddServeCommand(app, serve);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (tri->parsed()) return RunTriageCommand(triage);
  if (sim->parsed()) return RunSimulateCommand(simulate, production_only, storm_only);
  if (ing->parsed()) return RunIngestCommand(ingest);
  if (srv->parsed()) return RunServeCommand(serve);
  return kExitUsage;
}

}  // namespace stormkv::cli

int main(int argc, char** argv) { return stormkv::cli::Main(argc, argv); }
