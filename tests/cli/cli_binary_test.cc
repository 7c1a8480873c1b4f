// The stormkv binary as users run it: help, usage errors, bad and unreachable backends,
// simulate's output and exit codes on the embedded store.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "gateway/payloads.h"

namespace stormkv::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

#define EXPECT_EXIT_CODE(run, code, args)                                  \
  EXPECT_EQ((run).exit_code, (code)) << CommandLine(args) << "\nstdout:\n" \
                                     << (run).out << "\nstderr:\n"         \
                                     << (run).err

json ParseJson(const CliRun& run) {
  json j = json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON:\n" << run.out << "\nstderr:\n" << run.err;
  return j;
}

const json* Family(const json& result, const std::string& name) {
  for (const json& f : result["families"]) {
    if (f["family"] == name) return &f;
  }
  return nullptr;
}

TEST(CliHelp, TopLevelListsEveryCommand) {
  std::vector<std::string> args = {"--help"};
  CliRun run = RunCli(args);
  EXPECT_EXIT_CODE(run, 0, args);
  EXPECT_THAT(run.out, HasSubstr("simulate"));
  EXPECT_THAT(run.out, HasSubstr("triage"));
  EXPECT_THAT(run.out, HasSubstr("ingest"));
  EXPECT_THAT(run.out, HasSubstr("Exit codes"));
}

TEST(CliHelp, EverySubcommandHasHelpWithExamples) {
  for (const std::string sub : {"simulate", "triage", "ingest"}) {
    std::vector<std::string> args = {sub, "--help"};
    CliRun run = RunCli(args);
    EXPECT_EXIT_CODE(run, 0, args);
    EXPECT_THAT(run.out, HasSubstr("Usage: stormkv " + sub));
    EXPECT_THAT(run.out, HasSubstr("Examples:")) << sub;
    EXPECT_THAT(run.out, HasSubstr("Exit codes")) << sub;
  }
}

TEST(CliHelp, SimulateHelpExplainsOptions) {
  CliRun run = RunCli({"simulate", "--help"});
  for (const char* opt :
       {"--scenario", "--backend", "--layout", "--compare-layouts", "--budget", "--seed", "--json",
        "--fingerprints", "--storms", "--storm-resources", "--minutes", "--resources"}) {
    EXPECT_THAT(run.out, HasSubstr(opt));
  }
}

TEST(CliUsage, MisuseExitsWithTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"bogus"},
      {"simulate", "--no-such-option"},
      {"simulate", "--scenario", "nope"},
      {"simulate", "--layout", "sparse"},
      {"simulate", "--budget", "12parsecs"},
      {"simulate", "--budget", "0"},
      {"simulate", "--layout", "compact", "--compare-layouts"},
      {"simulate", "--fingerprints", "10"},  // a production option on the integration scenario
      {"simulate", "--scenario", "production", "--resources", "10"},
      {"triage"},  // the URL is required
      {"triage", "memory", "--top", "-1"},
  };
  for (const auto& args : cases) {
    CliRun run = RunCli(args);
    EXPECT_EXIT_CODE(run, 2, args);
    EXPECT_FALSE(run.err.empty()) << CommandLine(args) << ": a usage error must say what is wrong";
  }
}

TEST(CliUsage, ErrorsNameTheProblem) {
  CliRun run = RunCli({"simulate", "--scenario", "nope"});
  EXPECT_THAT(run.err, HasSubstr("integration, production or storm"));
  run = RunCli({"simulate", "--fingerprints", "10"});
  EXPECT_THAT(run.err, HasSubstr("--fingerprints only applies to --scenario production"));
  run = RunCli({"simulate", "--budget", "12parsecs"});
  EXPECT_THAT(run.err, HasSubstr("256mb"));
}

TEST(CliBackendUrl, BadUrlsExitWithTwoAndSayWhy) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"simulate", "--backend", "mongodb://x"}, "unknown scheme"},
      {{"simulate", "--backend", "redis://127.0.0.1:99999/0"}, "port"},
      {{"simulate", "--backend", "redis://127.0.0.1:6379/x"}, "db"},
      {{"simulate", "--backend", "memory://?allocator=tcmalloc"}, "allocator"},
      {{"triage", "ftp://example"}, "unknown scheme"},
      {{"triage", "rediss://example:6380"}, "TLS"},
      {{"simulate", "--backend", "shm://stormkv-cli-missing?size=256mb"}, "does not exist"},
      {{"triage", "shm://"}, "name"},
  };
  for (const Case& c : cases) {
    CliRun run = RunCli(c.args);
    EXPECT_EXIT_CODE(run, 2, c.args);
    EXPECT_THAT(run.err, HasSubstr(c.message)) << CommandLine(c.args);
  }
}

TEST(CliBackendUrl, PasswordNeverPrinted) {
  std::vector<std::string> args = {"triage", "redis://user:hunter2@127.0.0.1:99999/0"};
  CliRun run = RunCli(args);
  EXPECT_EXIT_CODE(run, 2, args);
  EXPECT_THAT(run.err, Not(HasSubstr("hunter2")));
  EXPECT_THAT(run.out, Not(HasSubstr("hunter2")));
}

TEST(CliBackendUrl, UnreachableRedisExitsWithThree) {
  const std::string url = "redis://127.0.0.1:" + std::to_string(ClosedLoopbackPort()) + "/0";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"triage", url}, {"simulate", "--backend", url}, {"triage", url, "--json"}}) {
    CliRun run = RunCli(args);
    EXPECT_EXIT_CODE(run, 3, args);
    EXPECT_THAT(run.err, HasSubstr("127.0.0.1")) << "the error must name the server";
    EXPECT_THAT(run.out, Not(HasSubstr("fits")));
  }
}

TEST(CliSimulate, IntegrationFitsIn256MbAsJson) {
  std::vector<std::string> args = {"simulate", "--scenario", "integration",
                                   "--budget", "256mb",      "--json"};
  CliRun run = RunCli(args);
  EXPECT_EXIT_CODE(run, 0, args);
  json j = ParseJson(run);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["backend"], "memory");
  EXPECT_EQ(j["layout"], "compact");
  EXPECT_EQ(j["scenario"], "integration");
  EXPECT_EQ(j["budget_bytes"], 256LL << 20);
  EXPECT_EQ(j["fits"], true);
  const int64_t used = j["used_memory_bytes"];
  const int64_t peak = j["peak_bytes"];
  EXPECT_GT(used, 0);
  EXPECT_GE(peak, used);
  // DESIGN.md: the whole integration run needs about 1 MB, not gigabytes.
  EXPECT_LT(peak, 4LL << 20) << "the integration scenario should need a few MB at most";
  int64_t family_bytes = 0;
  for (const json& f : j["families"]) {
    EXPECT_TRUE(f.contains("family") && f.contains("keys") && f.contains("bytes")) << f;
    family_bytes += f["bytes"].get<int64_t>();
  }
  EXPECT_LE(family_bytes, used);
  EXPECT_EQ(family_bytes, j["key_bytes"].get<int64_t>());
  ASSERT_NE(Family(j, "dedup"), nullptr);
  ASSERT_NE(Family(j, "storm-agg"), nullptr);
  EXPECT_GT((*Family(j, "storm-agg"))["keys"].get<int64_t>(), 10) << "a few dozen storms";
  EXPECT_GE(j["alerts"]["delivered"].get<int64_t>(), 200) << "a few hundred alerts";
  EXPECT_EQ(j["alerts"]["oom_errors"], 0);
}

TEST(CliSimulate, TinyBudgetDoesNotFitAndExitsOne) {
  std::vector<std::string> args = {"simulate", "--budget", "100kb", "--json"};
  CliRun run = RunCli(args);
  EXPECT_EXIT_CODE(run, 1, args);
  json j = ParseJson(run);
  EXPECT_EQ(j["fits"], false);
  EXPECT_EQ(j["budget_bytes"], 102400);

  args = {"simulate", "--budget", "100kb"};
  run = RunCli(args);
  EXPECT_EXIT_CODE(run, 1, args);
  EXPECT_THAT(run.out, HasSubstr("does NOT fit"));
}

TEST(CliSimulate, TextReportHasFamilyTableTotalsAndVerdict) {
  std::vector<std::string> args = {"simulate"};
  CliRun run = RunCli(args);
  EXPECT_EXIT_CODE(run, 0, args);
  for (const char* s : {"key family", "bytes/key", "share", "dedup", "storm-agg", "used_memory",
                        "peak", "fits: ", "of 256 MB"}) {
    EXPECT_THAT(run.out, HasSubstr(s));
  }
  EXPECT_THAT(run.out, Not(HasSubstr("does NOT fit")));
}

TEST(CliSimulate, NoProgressBarWhenStderrIsNotATerminal) {
  CliRun run = RunCli({"simulate", "--scenario", "storm", "--resources", "2000"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "") << "stderr is a file here: no progress bar, no control characters";
}

TEST(CliSimulate, CompareLayoutsOrderedAndCompactSmallest) {
  std::vector<std::string> args = {"simulate", "--scenario", "integration", "--compare-layouts",
                                   "--budget", "256mb",      "--json"};
  CliRun run = RunCli(args);
  EXPECT_EXIT_CODE(run, 0, args);
  json j = ParseJson(run);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["layout"], "full-crd");
  EXPECT_EQ(j[1]["layout"], "json-meta");
  EXPECT_EQ(j[2]["layout"], "compact");
  auto agg = [&](int i) { return (*Family(j[i], "storm-agg"))["bytes"].get<int64_t>(); };
  ASSERT_NE(Family(j[0], "storm-agg"), nullptr);
  ASSERT_NE(Family(j[2], "storm-agg"), nullptr);
  EXPECT_LT(agg(2), agg(0)) << "compact must be smaller than full-crd";
  EXPECT_LT(agg(1), agg(0)) << "json-meta must be smaller than full-crd";
  EXPECT_LT(agg(2) * 5, agg(0)) << "compact at most 1/5 of full-crd for ~15-resource storms";
  EXPECT_LT(j[2]["peak_bytes"].get<int64_t>(), j[0]["peak_bytes"].get<int64_t>());
  for (const json& r : j) {
    EXPECT_EQ(r["fits"], true);
    EXPECT_EQ(r["alerts"], j[0]["alerts"]) << "the same workload for every layout";
    EXPECT_EQ((*Family(r, "dedup"))["bytes"], (*Family(j[0], "dedup"))["bytes"]);
  }
}

TEST(CliSimulate, CompareLayoutsTextShowsAllThree) {
  std::vector<std::string> args = {"simulate", "--compare-layouts"};
  CliRun run = RunCli(args);
  EXPECT_EXIT_CODE(run, 0, args);
  EXPECT_THAT(run.out, HasSubstr("full-crd"));
  EXPECT_THAT(run.out, HasSubstr("json-meta"));
  EXPECT_THAT(run.out, HasSubstr("compact"));
  EXPECT_THAT(run.out, HasSubstr("per storm"));
}

TEST(CliSimulate, SameSeedSameResultOtherSeedOtherWorkload) {
  CliRun a = RunCli({"simulate", "--seed", "7", "--json"});
  CliRun b = RunCli({"simulate", "--seed", "7", "--json"});
  CliRun c = RunCli({"simulate", "--seed", "8", "--json"});
  json ja = ParseJson(a), jb = ParseJson(b), jc = ParseJson(c);
  EXPECT_EQ(ja["families"], jb["families"]);
  EXPECT_EQ(ja["used_memory_bytes"], jb["used_memory_bytes"]);
  EXPECT_EQ(ja["alerts"], jb["alerts"]);
  EXPECT_NE(ja["families"], jc["families"]);
}

TEST(CliSimulate, ProductionScenarioCountsAddUp) {
  std::vector<std::string> args = {"simulate", "--scenario",   "production", "--fingerprints",
                                   "300",      "--storms",     "4",          "--storm-resources",
                                   "30",       "--minutes",    "6",          "--repeat-minutes",
                                   "2",        "--namespaces", "40",         "--json"};
  CliRun run = RunCli(args);
  EXPECT_EXIT_CODE(run, 0, args);
  json j = ParseJson(run);
  const json& a = j["alerts"];
  EXPECT_EQ(a["delivered"].get<int64_t>(),
            a["created"].get<int64_t>() + a["duplicates"].get<int64_t>() +
                a["storm_aggregated"].get<int64_t>() + a["rate_limited"].get<int64_t>() +
                a["oom_errors"].get<int64_t>() + a["other_errors"].get<int64_t>());
  EXPECT_GE(a["storms_opened"].get<int64_t>(), 4);
  // Each of the 300 alerts and 4 x 30 storm alerts is new once; every re-send (2 min apart, dedup
  // TTL 5 min) is a duplicate.
  EXPECT_GT(a["duplicates"].get<int64_t>(), 0);
  EXPECT_EQ(a["delivered"].get<int64_t>() - a["rate_limited"].get<int64_t>(),
            300 + 4 * 30 + a["duplicates"].get<int64_t>());
  // Every alert re-sent every 2 min stays remembered (dedup TTL 5 min) until the end.
  EXPECT_GE((*Family(j, "dedup"))["keys"].get<int64_t>(), 300);
}

TEST(CliSimulate, StormScenarioIsOneStorm) {
  std::vector<std::string> args = {"simulate", "--scenario", "storm",     "--resources",
                                   "300",      "--layout",   "json-meta", "--json"};
  CliRun run = RunCli(args);
  EXPECT_EXIT_CODE(run, 0, args);
  json j = ParseJson(run);
  EXPECT_EQ(j["layout"], "json-meta");
  EXPECT_EQ(j["alerts"]["storms_opened"], 1);
  EXPECT_EQ(j["alerts"]["delivered"], 300);
  // The first 5 resources stay under the pattern threshold; the rest join the storm.
  EXPECT_EQ(j["alerts"]["storm_aggregated"], 295);
  EXPECT_EQ((*Family(j, "storm-agg"))["keys"], 1);
}

std::string AlertJson(const std::string& alertname, const std::string& ns, const std::string& pod,
                      const std::string& status = "firing") {
  return R"({"status":")" + status + R"(","labels":{"alertname":")" + alertname +
         R"(","namespace":")" + ns + R"(","pod":")" + pod +
         R"(","severity":"warning"},"annotations":{"summary":"s"},"startsAt":"2024-05-01T11:59:00Z"})";
}

std::string Webhook(const std::vector<std::string>& alerts) {
  std::string body = R"({"version":"4","status":"firing","receiver":"gw","alerts":[)";
  for (std::size_t i = 0; i < alerts.size(); ++i) body += (i ? "," : "") + alerts[i];
  return body + "]}";
}

TEST(CliIngest, AlertmanagerDecisionsThenRequests) {
  const std::string payload = Webhook({AlertJson("KubePodCrashLooping", "payments", "api-1"),
                                       AlertJson("KubePodCrashLooping", "payments", "api-1"),
                                       AlertJson("HighLatency", "payments", "api-2", "resolved")});
  std::vector<std::string> args = {"ingest", "--now", "2024-05-01T12:00:00Z", "-"};
  CliRun run = RunCli(args, payload);
  EXPECT_EXIT_CODE(run, 0, args);
  std::vector<json> lines = JsonLines(run.out);
  ASSERT_EQ(lines.size(), 4u) << run.out;
  EXPECT_EQ(lines[0]["payload"], "stdin");
  EXPECT_EQ(lines[0]["outcome"], "created");
  EXPECT_EQ(lines[1]["outcome"], "duplicate");
  EXPECT_EQ(lines[1]["occurrenceCount"], 2);
  EXPECT_EQ(lines[2]["outcome"], "ignored");
  EXPECT_EQ(lines[3]["kind"], "RemediationRequest");
  const std::string fp = lines[0]["fingerprint"];
  EXPECT_EQ(lines[3]["metadata"]["name"], "rr-" + fp.substr(0, 16));
  EXPECT_EQ(lines[3]["spec"]["receivedTime"], "2024-05-01T12:00:00Z");
  EXPECT_THAT(run.err, HasSubstr("1 created"));
}

TEST(CliIngest, StormOpensOneRequest) {
  std::vector<std::string> alerts;
  for (int i = 0; i < 9; ++i)
    alerts.push_back(AlertJson("KubePodCrashLooping", "shop", "web-" + std::to_string(i)));
  CliRun run = RunCli({"ingest", "-"}, Webhook(alerts));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<json> lines = JsonLines(run.out);
  int created = 0, aggregated = 0, opened = 0, requests = 0, storm_requests = 0;
  for (const json& l : lines) {
    if (l.contains("outcome")) {
      created += l["outcome"] == "created";
      aggregated += l["outcome"] == "storm-aggregated";
      opened += l.value("stormOpened", false) ? 1 : 0;
    } else {
      ++requests;
      storm_requests += l["spec"].value("isStorm", false) ? 1 : 0;
    }
  }
  EXPECT_EQ(created, 5) << "pattern storm: more than 5 distinct resources";
  EXPECT_EQ(aggregated, 4);
  EXPECT_EQ(opened, 1);
  EXPECT_EQ(requests, 6);
  EXPECT_EQ(storm_requests, 1);
}

TEST(CliIngest, KubernetesEventsFilesAndJsonLines) {
  const std::string dir = ::testing::TempDir();
  const std::string warning =
      R"({"apiVersion":"v1","kind":"Event","metadata":{"name":"e1","namespace":"db"},)"
      R"("involvedObject":{"kind":"Pod","name":"pg-0","namespace":"db"},"reason":"BackOff",)"
      R"("message":"Back-off restarting failed container","type":"Warning","count":3})";
  const std::string normal =
      R"({"apiVersion":"v1","kind":"Event","metadata":{"name":"e2","namespace":"db"},)"
      R"("involvedObject":{"kind":"Pod","name":"pg-1","namespace":"db"},"reason":"Pulled",)"
      R"("message":"pulled","type":"Normal"})";
  const std::string file = dir + "/stormkv-cli-events.jsonl";
  {
    FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs((warning + "\n" + normal + "\n").c_str(), f);
    std::fclose(f);
  }
  std::vector<std::string> args = {"ingest", "--format", "kubernetes-event", file};
  CliRun run = RunCli(args);
  EXPECT_EXIT_CODE(run, 0, args);
  std::vector<json> lines = JsonLines(run.out);
  ASSERT_EQ(lines.size(), 3u) << run.out;
  EXPECT_EQ(lines[0]["payload"], file + ":1");
  EXPECT_EQ(lines[0]["outcome"], "created");
  EXPECT_EQ(lines[0]["signalName"], "BackOff");
  EXPECT_EQ(lines[1]["payload"], file + ":2");
  EXPECT_EQ(lines[1]["outcome"], "ignored");
  EXPECT_EQ(lines[2]["spec"]["signalType"], "kubernetes-event");
  std::remove(file.c_str());
}

TEST(CliIngest, BadInputIsRejectedAndExitsOne) {
  CliRun run = RunCli({"ingest", "-"}, "this is not json");
  EXPECT_EQ(run.exit_code, 1) << run.err;
  std::vector<json> lines = JsonLines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["outcome"], "rejected");
  EXPECT_THAT(lines[0]["reason"].get<std::string>(), HasSubstr("invalid JSON"));

  run = RunCli({"ingest", "-"}, R"({"version":"4","alerts":[]})");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("rejected"));

  run = RunCli({"ingest", "-"}, R"({"hello":"world"})");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("--format"));

  std::vector<std::string> args = {"ingest", "/nonexistent/stormkv/payload.json"};
  run = RunCli(args);
  EXPECT_EXIT_CODE(run, 2, args);
  EXPECT_THAT(run.err, HasSubstr("/nonexistent/stormkv/payload.json"));

  args = {"ingest", "--format", "syslog", "-"};
  EXPECT_EQ(RunCli(args).exit_code, 2);
  args = {"ingest", "--step-ms", "10", "-"};
  EXPECT_EQ(RunCli(args).exit_code, 2) << "--step-ms without --now";
  args = {"ingest", "--now", "yesterday", "-"};
  EXPECT_EQ(RunCli(args).exit_code, 2);
}

// A 10,000-alert storm webhook (~10 MB) fits the default limits; --max-payload and --max-alerts
// lower them, and the rejection names the real reason whether or not the format is detected.
TEST(CliIngest, StormSizeWebhookAndTheLimitOptions) {
  const std::string file = ::testing::TempDir() + "/stormkv-cli-storm-10000.json";
  const std::string storm = StormWebhook(10000);
  {
    FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fwrite(storm.data(), 1, storm.size(), f);
    std::fclose(f);
  }
  std::vector<std::string> args = {"ingest", "--no-rate-limit", file};
  CliRun run = RunCli(args);
  EXPECT_EXIT_CODE(run, 0, args);
  int decisions = 0, rejected = 0;
  for (const json& l : JsonLines(run.out)) {
    if (!l.contains("outcome")) continue;
    ++decisions;
    rejected += l["outcome"] == "rejected";
  }
  EXPECT_EQ(decisions, 10000);
  EXPECT_EQ(rejected, 0);

  const std::string too_large =
      "payload too large: " + std::to_string(storm.size()) + " bytes > limit 1048576";
  for (std::vector<std::string> a :
       {std::vector<std::string>{"ingest", "--max-payload", "1mib", file},
        std::vector<std::string>{"ingest", "--max-payload", "1mb", "--format", "alertmanager",
                                 file}}) {
    run = RunCli(a);
    EXPECT_EXIT_CODE(run, 1, a);
    std::vector<json> lines = JsonLines(run.out);
    ASSERT_EQ(lines.size(), 1u) << run.out;
    EXPECT_EQ(lines[0]["outcome"], "rejected");
    EXPECT_EQ(lines[0]["reason"], too_large) << CommandLine(a);
    EXPECT_THAT(run.out, Not(HasSubstr("cannot tell the format")));
  }
  args = {"ingest", "--max-alerts", "9999", file};
  run = RunCli(args);
  EXPECT_EXIT_CODE(run, 1, args);
  EXPECT_THAT(run.out, HasSubstr("10000 alerts exceed the limit of 9999"));
  for (const char* bad : {"0", "lots", "12parsecs"}) {
    args = {"ingest", "--max-payload", bad, file};
    run = RunCli(args);
    EXPECT_EXIT_CODE(run, 2, args);
    EXPECT_THAT(run.err, HasSubstr("--max-payload"));
  }
  std::remove(file.c_str());
}

TEST(CliIngest, UnreachableRedisExitsWithThree) {
  const std::string url = "redis://127.0.0.1:" + std::to_string(ClosedLoopbackPort()) + "/0";
  std::vector<std::string> args = {"ingest", "--backend", url, "-"};
  CliRun run = RunCli(args, Webhook({AlertJson("A", "n", "p")}));
  EXPECT_EXIT_CODE(run, 3, args);
}

TEST(CliTriage, EmbeddedStoreWorksAndReportsNoError) {
  std::vector<std::string> args = {"triage", "memory", "--json"};
  CliRun run = RunCli(args);
  EXPECT_EXIT_CODE(run, 0, args);
  json j = ParseJson(run);
  EXPECT_EQ(j["dbsize"], 0);
  EXPECT_EQ(j["errors"], false);
  EXPECT_TRUE(j["findings"].is_array());
}

}  // namespace
}  // namespace stormkv::testing
