// stormkv — the command-line front end: simulate, triage, ingest.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <string>

#include "backend_url.h"
#include "exit_codes.h"
#include "progress.h"
#include "triage.h"
#include "units.h"

namespace stormkv::cli {
namespace {

void PrintError(const Status& s) { std::cerr << "stormkv: error: " << s.message() << "\n"; }

void PrintJson(const nlohmann::json& j) {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
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
      "Read-only: sends only INFO, DBSIZE, SCAN, TYPE, PTTL, MEMORY USAGE and OBJECT ENCODING;\n"
      "never a write, never CONFIG SET.\n\n"
      "Examples:\n"
      "  stormkv triage redis://127.0.0.1:6379/0\n"
      "  stormkv triage redis://:secret@cache:6379/2 --sample 50000 --top 20 --json\n\n"
      "Reports memory by key family (stormkv's own families, other keys grouped by their prefix\n"
      "up to the first ':'), keys without a TTL, the biggest keys, the INFO memory breakdown and\n"
      "findings with a severity. Exit 1 when a finding is an error (e.g. maxmemory below\n"
      "used_memory: every write fails with OOM), 3 when the server cannot be reached.");
  tri->add_option("url", triage.url,
                  "The server: redis://[user:password@]host:port/db, unix:///path.sock?db=N "
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

  CLI::App* sim = app.add_subcommand(
      "simulate", "Estimate the Redis memory an alert workload needs, and whether it fits a budget");
  CLI::App* ing = app.add_subcommand(
      "ingest", "Replay Alertmanager or Kubernetes Event JSON through the gateway pipeline");
  (void)sim;
  (void)ing;

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (tri->parsed()) return RunTriageCommand(triage);
  std::cerr << "stormkv: not implemented yet\n";
  return kExitFailed;
}

}  // namespace stormkv::cli

int main(int argc, char** argv) { return stormkv::cli::Main(argc, argv); }
