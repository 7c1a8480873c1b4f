// bench/report/bench_report.cc — writes bench/RESULTS.md from one run of tools/bench.sh.
//
//   bench_report --out RESULTS.md --data-dir DIR --meta META
//                [--bench NAME=FILE.json]... [--missing NAME=REASON]...
//                [--redis-benchmark plain=FILE.csv] [--redis-benchmark pipelined=FILE.csv]
//
// NAME is a bench executable (kv_bench, redis_bench, scripts_bench, memory_entities_bench);
// FILE.json its --benchmark_format=json output. META holds key=value lines written by
// tools/bench.sh (machine, versions, date, command, server facts). The CSV files are
// `redis-benchmark --csv` output, without and with -P 64.
//
// Every ratio is computed from the files given, so all come from the same run. Missing inputs
// are reported as missing in RESULTS.md, never as zero. Writes the gnuplot data files of the
// charts it links into DIR (storm_scaling.dat, bytes_per_storm.dat, ops_per_second.dat) and
// prints one line per chart to draw on stdout: its base name and how many series its data holds
// (e.g. "bytes_per_storm 4"); the gnuplot scripts of bench/report/ take that as `ncols`.
// Exit status 0 on success; 1 when an input cannot be read or parsed (message on stderr).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- inputs -----------------------------------------------------------------------------------

struct Run {
  std::string name;
  double real_ns = kNaN;
  double cpu_ns = kNaN;
  int64_t iterations = 0;
  int threads = 1;
  int repetitions = 1;  // > 1: the figures are the median of this many repetitions
  double cv = kNaN;     // coefficient of variation of real time across repetitions
  bool error = false;
  std::string error_message;
  std::string label;
  std::map<std::string, double> counters;

  double Counter(const std::string& key) const {
    auto it = counters.find(key);
    return it == counters.end() ? kNaN : it->second;
  }
  // Wall-clock operations per second: items_per_second when the bench reports it, else
  // iterations per second. Google Benchmark divides items by CPU time unless the case uses
  // UseRealTime()/UseManualTime() (its name then ends in /real_time or /manual_time); CPU time
  // leaves out the wait for Redis, so such rates are converted to real time here.
  double OpsPerSec() const {
    double items = Counter("items_per_second");
    if (std::isnan(items)) return real_ns > 0 ? 1e9 / real_ns : kNaN;
    if (name.find("/real_time") != std::string::npos ||
        name.find("/manual_time") != std::string::npos)
      return items;
    return (real_ns > 0 && cpu_ns > 0) ? items * cpu_ns / real_ns : kNaN;
  }
};

struct Bench {
  std::string name;
  std::string path;
  std::string missing;  // non-empty: why there is no data
  std::vector<Run> runs;
  json context;
  std::vector<std::string> notes;  // e.g. one of several rounds failed
  bool present() const { return missing.empty(); }
};

double Median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Several outputs of one bench (rounds): runs with the same name become one run holding the
// median of each figure, with repetitions = how many there were and cv = the coefficient of
// variation of their real time. A name that failed in every round stays an error.
void CollapseRounds(Bench& b) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Run*>> groups;
  for (const Run& r : b.runs) {
    if (!groups.count(r.name)) order.push_back(r.name);
    groups[r.name].push_back(&r);
  }
  std::vector<Run> out;
  for (const std::string& name : order) {
    std::vector<const Run*> ok;
    for (const Run* r : groups[name])
      if (!r->error) ok.push_back(r);
    if (groups[name].size() == 1 || ok.empty()) {
      out.push_back(*groups[name].front());
      continue;
    }
    if (ok.size() < groups[name].size())
      b.notes.push_back("`" + name + "` failed in " +
                        std::to_string(groups[name].size() - ok.size()) + " of " +
                        std::to_string(groups[name].size()) + " rounds");
    if (ok.size() == 1) {
      out.push_back(*ok.front());
      continue;
    }
    Run m = *ok.front();
    std::vector<double> real, cpu;
    std::map<std::string, std::vector<double>> counters;
    for (const Run* r : ok) {
      real.push_back(r->real_ns);
      cpu.push_back(r->cpu_ns);
      for (const auto& [k, v] : r->counters) counters[k].push_back(v);
    }
    m.real_ns = Median(real);
    m.cpu_ns = Median(cpu);
    for (auto& [k, v] : counters) m.counters[k] = Median(v);
    m.iterations = 0;
    m.repetitions = static_cast<int>(ok.size());
    double mean = 0, var = 0;
    for (double x : real) mean += x / real.size();
    for (double x : real) var += (x - mean) * (x - mean) / (real.size() - 1);
    m.cv = mean > 0 ? std::sqrt(var) / mean : kNaN;
    out.push_back(std::move(m));
  }
  b.runs = std::move(out);
}

struct RbRow {
  double rps = kNaN;
  double p50_ms = kNaN;
  double p99_ms = kNaN;
};
using RbTable = std::map<std::string, RbRow>;  // "SET" -> row

double ToNs(double v, const std::string& unit) {
  if (unit == "us") return v * 1e3;
  if (unit == "ms") return v * 1e6;
  if (unit == "s") return v * 1e9;
  return v;
}

bool LoadBench(Bench& b, std::string* err) {
  std::ifstream in(b.path);
  if (!in) {
    *err = b.path + ": cannot open";
    return false;
  }
  // Google Benchmark writes NaN/inf (e.g. the cv of a counter that is always 0), which JSON does
  // not allow: read those as null.
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  static const std::regex kNonFinite(R"((:\s*)-?(NaN|nan|inf|Infinity)\b)");
  text = std::regex_replace(text, kNonFinite, "$1null");
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("benchmarks")) {
    *err = b.path + ": not Google Benchmark JSON (no \"benchmarks\" array)";
    return false;
  }
  if (doc.contains("context")) b.context = doc["context"];
  static const std::set<std::string> kStandard = {"name",
                                                  "family_index",
                                                  "per_family_instance_index",
                                                  "run_name",
                                                  "run_type",
                                                  "repetitions",
                                                  "repetition_index",
                                                  "threads",
                                                  "iterations",
                                                  "real_time",
                                                  "cpu_time",
                                                  "time_unit",
                                                  "aggregate_name",
                                                  "aggregate_unit",
                                                  "error_occurred",
                                                  "error_message",
                                                  "label"};
  // With --benchmark_repetitions, a case is its "median" aggregate (and "cv" for the noise);
  // iteration runs of such a case are dropped.
  std::map<std::string, double> cv;
  std::set<std::string> has_median;
  for (const json& j : doc["benchmarks"]) {
    if (j.value("run_type", "iteration") != "aggregate") continue;
    const std::string run_name = j.value("run_name", "");
    if (j.value("aggregate_name", "") == "median") has_median.insert(run_name);
    if (j.value("aggregate_name", "") == "cv" && j.contains("real_time") &&
        j["real_time"].is_number())
      cv[run_name] = j["real_time"].get<double>();
  }
  for (const json& j : doc["benchmarks"]) {
    const std::string run_name = j.value("run_name", j.value("name", ""));
    const bool aggregate = j.value("run_type", "iteration") == "aggregate";
    if (aggregate && j.value("aggregate_name", "") != "median") continue;
    if (!aggregate && has_median.count(run_name) && !j.value("error_occurred", false)) continue;
    Run r;
    r.name = aggregate ? run_name : j.value("name", "");
    std::string unit = j.value("time_unit", "ns");
    if (j.contains("real_time") && j["real_time"].is_number())
      r.real_ns = ToNs(j["real_time"].get<double>(), unit);
    if (j.contains("cpu_time") && j["cpu_time"].is_number())
      r.cpu_ns = ToNs(j["cpu_time"].get<double>(), unit);
    r.iterations = aggregate ? 0 : j.value("iterations", int64_t{0});
    if (aggregate) {
      r.repetitions = j.value("repetitions", 1);
      if (auto it = cv.find(run_name); it != cv.end()) r.cv = it->second;
    }
    r.threads = j.value("threads", 1);
    r.error = j.value("error_occurred", false);
    r.error_message = j.value("error_message", "");
    r.label = j.value("label", "");
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (kStandard.count(it.key()) == 0 && it.value().is_number())
        r.counters[it.key()] = it.value().get<double>();
    }
    b.runs.push_back(std::move(r));
  }
  return true;
}

std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

double ParseDouble(const std::string& s) {
  try {
    std::size_t used = 0;
    double v = std::stod(s, &used);
    return used == s.size() ? v : kNaN;
  } catch (...) {
    return kNaN;
  }
}

bool LoadRedisBenchmark(const std::string& path, RbTable* out, std::string* err) {
  std::ifstream in(path);
  if (!in) {
    *err = path + ": cannot open";
    return false;
  }
  std::string line;
  std::vector<std::string> header;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f = SplitCsvLine(line);
    if (header.empty()) {
      header = f;
      if (header.empty() || header[0] != "test") {
        *err = path + ": not redis-benchmark --csv output (first column is not \"test\")";
        return false;
      }
      continue;
    }
    RbRow row;
    for (std::size_t i = 1; i < f.size() && i < header.size(); ++i) {
      if (header[i] == "rps") row.rps = ParseDouble(f[i]);
      if (header[i] == "p50_latency_ms") row.p50_ms = ParseDouble(f[i]);
      if (header[i] == "p99_latency_ms") row.p99_ms = ParseDouble(f[i]);
    }
    (*out)[f[0]] = row;
  }
  if (out->empty()) {
    *err = path + ": no rows";
    return false;
  }
  return true;
}

std::map<std::string, std::string> LoadMeta(const std::string& path, std::string* err) {
  std::map<std::string, std::string> meta;
  std::ifstream in(path);
  if (!in) {
    *err = path + ": cannot open";
    return meta;
  }
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    meta[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return meta;
}

// ---- formatting -------------------------------------------------------------------------------

std::string Fixed(double v, int digits) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// 1234567 -> "1,234,567".
std::string Grouped(double v) {
  if (std::isnan(v)) return "n/a";
  bool neg = v < 0;
  std::string digits = std::to_string(static_cast<long long>(std::llround(std::fabs(v))));
  std::string out;
  int n = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (n > 0 && n % 3 == 0) out += ',';
    out += *it;
    ++n;
  }
  if (neg) out += '-';
  return std::string(out.rbegin(), out.rend());
}

// A duration given in ns, in a readable unit.
std::string Duration(double ns) {
  if (std::isnan(ns)) return "n/a";
  if (ns < 1e3) return Fixed(ns, 0) + " ns";
  if (ns < 1e6) return Fixed(ns / 1e3, ns < 1e4 ? 2 : 1) + " µs";
  if (ns < 1e9) return Fixed(ns / 1e6, ns < 1e7 ? 2 : 1) + " ms";
  return Fixed(ns / 1e9, 2) + " s";
}

std::string Ratio(double r) {
  if (std::isnan(r) || std::isinf(r)) return "n/a";
  return Fixed(r, r < 10 ? 2 : (r < 100 ? 1 : 0)) + "×";
}

// Bucket slots of a Redis 7.0 dict holding n keys: 0 when empty, else the smallest power of two
// >= max(n, 4) (a dict grows when it holds as many keys as slots).
double DictSlots(double n) {
  if (std::isnan(n) || n < 0.5) return 0;
  double slots = 4;
  while (slots < std::round(n)) slots *= 2;
  return slots;
}

// Rounded down to 3 significant digits.
double Round3(double v) {
  if (std::isnan(v) || v < 1000) return v;
  double scale = std::pow(10, std::floor(std::log10(v)) - 2);
  return std::floor(v / scale) * scale;
}

double Div(double a, double b) { return (std::isnan(a) || std::isnan(b) || b == 0) ? kNaN : a / b; }

// ---- classification by label --------------------------------------------------------------

// The benches classify each case themselves with state.SetLabel: space-separated key=value tags,
// e.g. "op=GET pipelined=yes" (kv_bench, redis_bench), "case=script backend=redis script=dedup",
// "case=scaling backend=memory layout=compact" (scripts_bench, with the counter `resources`),
// "case=storm layout=compact resources=15 backend=redis" (memory_entities_bench). The report
// reads those tags, never substrings of the case names. "" when the tag is absent.
std::string Tag(const Run& r, std::string_view key) {
  std::stringstream ss(r.label);
  std::string part;
  while (ss >> part) {
    if (part.size() > key.size() && part.compare(0, key.size(), key) == 0 &&
        part[key.size()] == '=')
      return part.substr(key.size() + 1);
  }
  return "";
}

// The command a kv_bench / redis_bench case measures (tag op: GET SET SETEX INCR HSET SADD
// SCRIPT), or "".
std::string OpOf(const Run& r) { return Tag(r, "op"); }
bool IsPipelined(const Run& r) { return Tag(r, "pipelined") == "yes"; }
// "full-crd", "json-meta", "compact" or "".
std::string LayoutOf(const Run& r) { return Tag(r, "layout"); }
// "memory", "redis" or "".
std::string BackendOf(const Run& r) { return Tag(r, "backend"); }
// The counter `resources`, else the tag resources=N.
std::optional<int64_t> ResourcesOf(const Run& r) {
  if (double c = r.Counter("resources"); !std::isnan(c)) return std::llround(c);
  const std::string t = Tag(r, "resources");
  if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(t);
}

// `name` without the parts Google Benchmark appends: iterations:N, repeats:N, min_time:X,
// threads:N, real_time, manual_time, process_time.
std::string BaseName(const std::string& name) {
  std::stringstream ss(name);
  std::string part, out;
  while (std::getline(ss, part, '/')) {
    if (part.rfind("iterations:", 0) == 0 || part.rfind("repeats:", 0) == 0 ||
        part.rfind("min_time:", 0) == 0 || part.rfind("threads:", 0) == 0 || part == "real_time" ||
        part == "manual_time" || part == "process_time")
      continue;
    out += (out.empty() ? "" : "/") + part;
  }
  return out;
}

const Bench* Find(const std::vector<Bench>& benches, const std::string& name) {
  for (const Bench& b : benches)
    if (b.name == name && b.present()) return &b;
  return nullptr;
}

// Writes a clustered-histogram data file for gnuplot: a header row of quoted series names, then
// one row per group ("label v1 v2 ..."). Series without any value are left out; returns how many
// series were written.
int WriteHistogram(const std::string& path, const std::vector<std::string>& series,
                   const std::vector<std::pair<std::string, std::vector<double>>>& rows) {
  std::vector<std::size_t> keep;
  for (std::size_t c = 0; c < series.size(); ++c) {
    for (const auto& row : rows)
      if (c < row.second.size() && !std::isnan(row.second[c])) {
        keep.push_back(c);
        break;
      }
  }
  std::ofstream dat(path);
  dat << "group";
  for (std::size_t c : keep) dat << " \"" << series[c] << "\"";
  dat << "\n";
  for (const auto& [label, values] : rows) {
    dat << label;
    for (std::size_t c : keep) dat << " " << (std::isnan(values[c]) ? "NaN" : Fixed(values[c], 0));
    dat << "\n";
  }
  return static_cast<int>(keep.size());
}

// ---- report -----------------------------------------------------------------------------------

struct Report {
  std::map<std::string, std::string> meta;
  std::vector<Bench> benches;
  std::optional<RbTable> rb_plain, rb_pipelined;
  std::string rb_plain_missing = "not run", rb_pipelined_missing = "not run";
  std::string data_dir;

  std::ostringstream md;
  std::vector<std::string> headline;
  std::vector<std::pair<std::string, int>> charts;  // chart name, series in its data file

  std::string M(const std::string& key, const std::string& fallback = "unknown") const {
    auto it = meta.find(key);
    return it == meta.end() || it->second.empty() ? fallback : it->second;
  }

  void Header();
  void MemoryVsRedis();
  void RedisVsRedisBenchmark();
  void Layouts();
  void Capacity();
  void MemoryPerEntity();
  void OpsChart();
  void Charts();
  void AllResults();
  std::string Render();

  // memory_entities_bench: counter of case `name`, or NaN.
  double Entity(const std::string& name, const std::string& counter) const;
  // Per-alert time (ns) of storms: layout -> backend -> resources -> ns, from scripts_bench when
  // present, else from memory_entities_bench's write time.
  std::map<std::string, std::map<std::string, std::map<int64_t, double>>> PerAlert(
      std::string* source) const;
};

void Report::Header() {
  md << "# stormkv benchmark results\n\n"
     << "Generated by `tools/bench.sh` from one run; do not edit by hand. Every number and ratio "
        "below comes from that same run.\n\n"
     << "- Command: `" << M("command") << "` (" << M("mode") << " mode)\n"
     << "- Date: " << M("date") << "\n"
     << "- Duration of the run: " << M("duration_s", "?") << " s (build excluded)\n"
     << "- Load average (1 min) before / after the benches: " << M("load_before") << " / "
     << M("load_after") << "\n\n"
     << "## Machine and versions\n\n"
     << "| | |\n|---|---|\n"
     << "| CPUs (nproc) | " << M("nproc") << " |\n"
     << "| CPU model | " << M("cpu_model") << " |\n"
     << "| RAM | " << M("ram") << " |\n"
     << "| Kernel | " << M("kernel") << " |\n"
     << "| g++ | " << M("gxx") << " |\n"
     << "| redis-server | " << M("redis_server") << " |\n"
     << "| hiredis | " << M("hiredis") << " |\n"
     << "| Google Benchmark | " << M("benchmark") << " |\n"
     << "| stormkv | " << M("stormkv") << " |\n"
     << "| Build | CMake Release (" << M("build_dir") << ") |\n"
     << "| Redis server under test | private, 127.0.0.1 TCP, maxmemory " << M("redis_maxmemory")
     << " B (" << M("redis_maxmemory_policy") << "), `--save '' --appendonly no` |\n"
     << "| CPU pinning | " << M("pinning") << " |\n\n";
  for (const Bench& b : benches) {
    if (!b.present() || b.context.is_null()) continue;
    if (b.context.value("library_build_type", "") == "debug") {
      md << "Note: the Google Benchmark library reports `library_build_type: debug` (Debian's "
            "libbenchmark is built without NDEBUG). That concerns the harness only; stormkv "
            "itself is a CMake Release build.\n\n";
      break;
    }
  }
  md << "Times are wall-clock (`real_time`, per iteration). ops/s are wall-clock too: a bench's "
        "`items_per_second`, converted from CPU time to real time where the case does not use "
        "UseRealTime() (waiting for Redis costs no CPU). Benches run one at a time, against the "
        "same server.\n\n";
}

void Report::MemoryVsRedis() {
  md << "## Memory backend vs Redis backend (ops/s)\n\n";
  const Bench* kv = Find(benches, "kv_bench");
  const Bench* rb = Find(benches, "redis_bench");
  if (!kv && !rb) {
    md << "Not available: kv_bench and redis_bench missing from this run.\n\n";
    return;
  }
  if (!kv || !rb) {
    md << "Incomplete: " << (kv ? "redis_bench" : "kv_bench")
       << " missing from this run, so no ratios.\n\n";
  }
  const Bench none;
  if (!kv) kv = &none;
  if (!rb) rb = &none;
  // op -> column -> ops/s
  std::map<std::string, std::map<std::string, double>> t;
  for (const Run& r : kv->runs) {
    std::string op = OpOf(r);
    if (op.empty() || r.error) continue;
    t[op]["mem" + std::to_string(r.threads)] = r.OpsPerSec();
  }
  for (const Run& r : rb->runs) {
    std::string op = OpOf(r);
    if (op.empty() || r.error || r.threads != 1) continue;
    t[op][IsPipelined(r) ? "redis_p" : "redis"] = r.OpsPerSec();
  }
  md << "kv_bench (memory backend, in-process) against redis_bench (RedisBackend over loopback "
        "TCP; "
        "unpipelined: one round trip per command; pipelined: RunBatch of 64).\n\n"
     << "| op | memory, 1 thread | memory, 2 threads | Redis unpipelined | Redis pipelined (64) | "
        "memory ÷ Redis unpipelined | memory ÷ Redis pipelined |\n"
     << "|---|---:|---:|---:|---:|---:|---:|\n";
  auto get = [&](const std::string& op, const std::string& col) {
    auto it = t[op].find(col);
    return it == t[op].end() ? kNaN : it->second;
  };
  double best = kNaN, worst = kNaN;
  for (const std::string op : {"GET", "SET", "SETEX", "INCR", "HSET", "SADD", "SCRIPT"}) {
    if (!t.count(op)) continue;
    double r1 = Div(get(op, "mem1"), get(op, "redis"));
    double r2 = Div(get(op, "mem1"), get(op, "redis_p"));
    if (!std::isnan(r1)) {
      best = std::isnan(best) ? r1 : std::max(best, r1);
      worst = std::isnan(worst) ? r1 : std::min(worst, r1);
    }
    md << "| "
       << (op == "SETEX"    ? "SET ... EX"
           : op == "SCRIPT" ? "INCR+PEXPIRE script (native twin / EVALSHA)"
                            : op)
       << " | " << Grouped(get(op, "mem1")) << " | " << Grouped(get(op, "mem2")) << " | "
       << Grouped(get(op, "redis")) << " | " << Grouped(get(op, "redis_p")) << " | " << Ratio(r1)
       << " | " << Ratio(r2) << " |\n";
  }
  md << "\n";
  if (!std::isnan(best)) {
    headline.push_back("Memory backend vs Redis backend (1 thread, unpipelined): " + Ratio(worst) +
                       " to " + Ratio(best) + " the ops/s.");
  }
  // The gateway scripts: scripts_bench's per-call cases on both backends.
  const Bench* sb = Find(benches, "scripts_bench");
  if (!sb) return;
  std::map<std::string, std::map<std::string, double>> scripts;  // script -> backend -> ops/s
  for (const Run& r : sb->runs) {
    if (r.error) continue;
    if (Tag(r, "case") != "script") continue;
    std::string backend = BackendOf(r);
    std::string script = Tag(r, "script");
    if (script == "ping") script = "ping (empty script)";
    if (!backend.empty()) scripts[script][backend] = r.OpsPerSec();
  }
  if (scripts.empty()) return;
  md << "Gateway scripts, one call each (scripts_bench `BM_Script`, `BM_Ping`): native twin on the "
        "memory backend, the same script's Lua on the memory backend's embedded engine "
        "(memory-lua), and EVALSHA on Redis.\n\n"
     << "| script | memory (twin), calls/s | memory-lua, calls/s | twin ÷ Lua | Redis, calls/s | "
        "memory ÷ Redis |\n|---|---:|---:|---:|---:|---:|\n";
  for (const auto& [script, by] : scripts) {
    auto get = [&](const std::string& b) {
      auto it = by.find(b);
      return it == by.end() ? kNaN : it->second;
    };
    md << "| " << script << " | " << Grouped(get("memory")) << " | "
       << Grouped(get("memory-lua")) << " | " << Ratio(Div(get("memory"), get("memory-lua")))
       << " | " << Grouped(get("redis")) << " | " << Ratio(Div(get("memory"), get("redis")))
       << " |\n";
  }
  md << "\n";
}

void Report::RedisVsRedisBenchmark() {
  md << "## RedisBackend vs redis-benchmark\n\n";
  const Bench* rb = Find(benches, "redis_bench");
  if (!rb || !rb_plain || !rb_pipelined) {
    md << "Not available:";
    if (!rb) md << " redis_bench missing from this run;";
    if (!rb_plain) md << " redis-benchmark -c 1: " << rb_plain_missing << ";";
    if (!rb_pipelined) md << " redis-benchmark -c 1 -P 64: " << rb_pipelined_missing << ";";
    md << "\n\n";
    return;
  }
  md << "Same server, same run, one client each, pinned as shown above. " << M("rounds", "1")
     << " round(s), each: `" << M("rb_plain_cmd") << "`, then `" << M("rb_pipelined_cmd")
     << "`, then redis_bench; each side is the median of its rounds. Targets: RedisBackend "
        "reaches 0.9 of redis-benchmark unpipelined and 0.7 pipelined.\n\n"
     << "| op | mode | RedisBackend ops/s | redis-benchmark rps | ratio | target | verdict |\n"
     << "|---|---|---:|---:|---:|---:|---|\n";
  int met = 0, total = 0;
  std::vector<std::string> missed;
  for (bool pipelined : {false, true}) {
    const RbTable& table = pipelined ? *rb_pipelined : *rb_plain;
    const double target = pipelined ? 0.7 : 0.9;
    for (const std::string op : {"SET", "GET", "INCR", "HSET", "SADD"}) {
      const Run* run = nullptr;
      for (const Run& r : rb->runs)
        if (!r.error && r.threads == 1 && OpOf(r) == op && IsPipelined(r) == pipelined)
          run = &r;
      auto rbit = table.find(op);
      double ours = run ? run->OpsPerSec() : kNaN;
      double theirs = rbit == table.end() ? kNaN : rbit->second.rps;
      double ratio = Div(ours, theirs);
      std::string verdict;
      if (std::isnan(ratio)) {
        verdict =
            "n/a (" + std::string(run ? "no redis-benchmark row" : "no redis_bench case") + ")";
      } else if (ratio >= target) {
        verdict = "met (+" + Fixed(ratio - target, 3) + ")";
        ++met;
        ++total;
      } else {
        verdict = "**missed** (gap " + Fixed(target - ratio, 3) + ": needs " +
                  Fixed((target / ratio - 1) * 100, 0) + "% more ops/s)";
        ++total;
        missed.push_back(op + (pipelined ? " pipelined" : " unpipelined"));
      }
      md << "| " << op << " | " << (pipelined ? "pipelined 64 vs -P 64" : "unpipelined vs -c 1")
         << " | " << Grouped(ours) << " | " << Grouped(theirs) << " | " << Fixed(ratio, 3) << " | "
         << Fixed(target, 1) << " | " << verdict << " |\n";
    }
  }
  md << "\n";
  std::string h = "RedisBackend vs redis-benchmark: " + std::to_string(met) + " of " +
                  std::to_string(total) + " targets met (0.9 unpipelined, 0.7 pipelined)";
  if (!missed.empty()) {
    h += "; missed: ";
    for (std::size_t i = 0; i < missed.size(); ++i) h += (i ? ", " : "") + missed[i];
  }
  headline.push_back(h + ".");
}

double Report::Entity(const std::string& name, const std::string& counter) const {
  const Bench* me = Find(benches, "memory_entities_bench");
  if (!me) return kNaN;
  for (const Run& r : me->runs)
    if (BaseName(r.name) == name && !r.error) return r.Counter(counter);
  return kNaN;
}

std::map<std::string, std::map<std::string, std::map<int64_t, double>>> Report::PerAlert(
    std::string* source) const {
  std::map<std::string, std::map<std::string, std::map<int64_t, double>>> out;
  if (const Bench* sb = Find(benches, "scripts_bench")) {
    for (const Run& r : sb->runs) {
      if (r.error) continue;
      if (Tag(r, "case") != "scaling") continue;
      std::string layout = LayoutOf(r), backend = BackendOf(r);
      auto resources = ResourcesOf(r);
      if (layout.empty() || backend.empty() || !resources) continue;
      double ns = r.Counter("ns_per_alert");
      if (std::isnan(ns)) ns = Div(1e9, r.OpsPerSec());
      out[layout][backend][*resources] = ns;
    }
    if (!out.empty()) {
      *source = "scripts_bench (storm-size scaling cases)";
      return out;
    }
  }
  if (const Bench* me = Find(benches, "memory_entities_bench")) {
    for (const Run& r : me->runs) {
      if (r.error || Tag(r, "case") != "storm") continue;
      auto resources = ResourcesOf(r);
      if (!resources) continue;
      out[LayoutOf(r)][BackendOf(r)][*resources] = Div(1e9, r.OpsPerSec());
    }
    if (!out.empty()) *source = "memory_entities_bench (write time of its storms)";
  }
  return out;
}

void Report::Layouts() {
  md << "## Storm layouts: compact vs json-meta vs full-crd\n\n";
  const std::vector<std::string> layouts = {"compact", "json-meta", "full-crd"};
  bool any = false;
  // Bytes per storm.
  std::vector<std::pair<std::string, std::vector<double>>> rows;
  std::ostringstream t;
  t << "Bytes per storm: used_memory growth per storm record (memory_entities_bench; alerts of a "
       "realistic Kubernetes pod storm, 9 labels and 3 annotations).\n\n"
    << "| layout | 15 resources, Redis | × compact | 100 resources, Redis | × compact | "
       "15, memory model | 100, memory model |\n|---|---:|---:|---:|---:|---:|---:|\n";
  double c15 = Entity("storm/compact/15/redis", "bytes_per_entity");
  double c100 = Entity("storm/compact/100/redis", "bytes_per_entity");
  for (const std::string& l : layouts) {
    double r15 = Entity("storm/" + l + "/15/redis", "bytes_per_entity");
    double r100 = Entity("storm/" + l + "/100/redis", "bytes_per_entity");
    double m15 = Entity("storm/" + l + "/15/memory", "bytes_per_entity");
    double m100 = Entity("storm/" + l + "/100/memory", "bytes_per_entity");
    if (!std::isnan(r15) || !std::isnan(m15)) any = true;
    t << "| " << l << " | " << Grouped(r15) << " | " << Ratio(Div(r15, c15)) << " | "
      << Grouped(r100) << " | " << Ratio(Div(r100, c100)) << " | " << Grouped(m15) << " | "
      << Grouped(m100) << " |\n";
    rows.push_back({l, {m15, r15, m100, r100}});
  }
  if (any) {
    md << t.str() << "\n";
    if (const Bench* sb = Find(benches, "scripts_bench")) {
      std::string cross;
      for (const std::string& l : layouts) {
        for (const Run& r : sb->runs) {
          if (r.error || Tag(r, "case") != "storm-bytes" || BackendOf(r) != "redis" ||
              LayoutOf(r) != l)
            continue;
          cross +=
              (cross.empty() ? "" : ", ") + l + " " + Grouped(r.Counter("bytes_used_delta")) + " B";
        }
      }
      if (!cross.empty())
        md << "Cross-check, scripts_bench `BM_StormBytes` (its own 15-resource storms, used_memory "
              "delta per storm on Redis): "
           << cross << ".\n\n";
    }
    int n = WriteHistogram(data_dir + "/bytes_per_storm.dat",
                           {"15 resources, memory model", "15 resources, Redis",
                            "100 resources, memory model", "100 resources, Redis"},
                           rows);
    charts.push_back({"bytes_per_storm", n});
    double j15 = Entity("storm/json-meta/15/redis", "bytes_per_entity");
    double f15 = Entity("storm/full-crd/15/redis", "bytes_per_entity");
    headline.push_back("Bytes per 15-resource storm on Redis: compact " + Grouped(c15) +
                       " B, json-meta " + Grouped(j15) + " B (" + Ratio(Div(j15, c15)) +
                       "), full-crd " + Grouped(f15) + " B (" + Ratio(Div(f15, c15)) + ").");
  } else {
    md << "Bytes per storm: not available (memory_entities_bench missing or failed).\n\n";
  }
  // Per-alert time.
  std::string source;
  auto per_alert = PerAlert(&source);
  if (per_alert.empty()) {
    md << "Per-alert time: not available (scripts_bench and memory_entities_bench missing).\n\n";
    return;
  }
  std::set<int64_t> sizes;
  for (auto& [l, byb] : per_alert)
    for (auto& [b, bys] : byb)
      for (auto& [n, ns] : bys) sizes.insert(n);
  md << "Per-alert time (one aggregation script call), from " << source
     << "; × compact = this layout's time ÷ compact's.\n\n| layout | backend |";
  for (int64_t n : sizes) md << " " << n << " resources | × compact |";
  md << "\n|---|---|";
  for (std::size_t i = 0; i < sizes.size(); ++i) md << "---:|---:|";
  md << "\n";
  // Six blocks in a fixed order (memory then Redis; compact, json-meta, full-crd) so that the
  // chart script can style them by index; a series without data holds one NaN row.
  std::vector<std::string> blocks;
  for (const std::string backend : {"memory", "redis"}) {
    for (const std::string& l : layouts) {
      std::ostringstream block;
      block << "\"" << l << ", " << (backend == "memory" ? "memory backend" : "Redis") << "\"\n";
      bool rows = false;
      auto lit = per_alert.find(l);
      if (lit != per_alert.end() && lit->second.count(backend)) {
        const auto& series = lit->second.at(backend);
        md << "| " << l << " | " << backend << " |";
        for (int64_t n : sizes) {
          auto it = series.find(n);
          double ns = it == series.end() ? kNaN : it->second;
          double cns = kNaN;
          if (auto c = per_alert.find("compact");
              c != per_alert.end() && c->second.count(backend)) {
            auto ci = c->second.at(backend).find(n);
            if (ci != c->second.at(backend).end()) cns = ci->second;
          }
          md << " " << Duration(ns) << " | " << Ratio(Div(ns, cns)) << " |";
          if (!std::isnan(ns)) {
            block << n << " " << Fixed(ns / 1e3, 3) << "\n";
            rows = true;
          }
        }
        md << "\n";
      }
      if (!rows) block << "NaN NaN\n";
      blocks.push_back(block.str());
    }
  }
  std::ofstream sdat(data_dir + "/storm_scaling.dat");
  for (std::size_t i = 0; i < blocks.size(); ++i) sdat << (i ? "\n\n" : "") << blocks[i];
  md << "\n";
  charts.push_back({"storm_scaling", 6});
  // Headline: per-alert time on Redis at 100 resources and at the largest size measured.
  std::vector<int64_t> shown;
  if (sizes.count(100)) shown.push_back(100);
  if (!sizes.empty() && *sizes.rbegin() != 100) shown.push_back(*sizes.rbegin());
  for (int64_t size : shown) {
    auto at = [&](const std::string& l) {
      auto li = per_alert.find(l);
      if (li == per_alert.end() || !li->second.count("redis")) return kNaN;
      auto si = li->second.at("redis").find(size);
      return si == li->second.at("redis").end() ? kNaN : si->second;
    };
    double c = at("compact"), j = at("json-meta"), f = at("full-crd");
    if (std::isnan(c) || (std::isnan(j) && std::isnan(f))) continue;
    headline.push_back("Per-alert time on Redis, storm of " + std::to_string(size) +
                       " resources: compact " + Duration(c) + ", json-meta " + Duration(j) + " (" +
                       Ratio(Div(j, c)) + "), full-crd " + Duration(f) + " (" + Ratio(Div(f, c)) +
                       ").");
  }
}

void Report::Capacity() {
  md << "## Capacity of 256 MB on real Redis\n\n";
  double maxmemory = ParseDouble(M("redis_maxmemory", "268435456"));
  double empty = ParseDouble(M("redis_used_memory_empty", "nan"));
  if (Find(benches, "memory_entities_bench") == nullptr || std::isnan(empty)) {
    md << "Not available: memory_entities_bench or the empty server's used_memory is missing.\n\n";
    return;
  }
  double room = maxmemory - empty;
  md << "How many entities of one kind fit under `maxmemory " << Grouped(maxmemory)
     << "` (256 MB; `noeviction` refuses writes beyond it), from the bytes per entity measured on "
        "Redis in this run (used_memory growth per entity, TTL entries included) and the empty "
        "server's used_memory ("
     << Grouped(empty)
     << " B, scripts loaded). The measured growth includes the main and expires dicts' bucket "
        "arrays at the measured size; the capacity replaces them by the arrays Redis 7.0 holds at "
        "the capacity itself (8 B per slot, slots = the power of two >= keys): the largest N with "
        "N × (bytes per entity without buckets) + buckets(N) <= maxmemory − empty. Redis refuses "
        "to grow a dict past maxmemory, so a real server can hold a little more. Rounded down to 3 "
        "significant digits.\n\n"
     << "| entity | layout | bytes per entity (Redis) | of which buckets | fit in 256 MB |\n"
        "|---|---|---:|---:|---:|\n";
  auto row = [&](const std::string& what, const std::string& layout, const std::string& name) {
    double b = Entity(name, "bytes_per_entity");
    double e = Entity(name, "entities");
    double k = Entity(name, "keys_per_entity");
    double t = Entity(name, "ttl_keys_per_entity");
    if (std::isnan(t)) t = 0;
    double buckets = Div(8 * (DictSlots(e * k) + DictSlots(e * t)), e);
    double net = b - buckets;
    double n = kNaN;
    if (!std::isnan(net) && net > 0) {
      double lo = 0, hi = std::floor(room / net);
      while (lo < hi) {  // largest N that fits
        double mid = std::floor((lo + hi + 1) / 2);
        if (mid * net + 8 * (DictSlots(mid * k) + DictSlots(mid * t)) <= room) {
          lo = mid;
        } else {
          hi = mid - 1;
        }
      }
      n = Round3(lo);
    }
    md << "| " << what << " | " << layout << " | " << Grouped(b) << " | " << Fixed(buckets, 1)
       << " | " << Grouped(n) << " |\n";
    return n;
  };
  double fp = row("fingerprint (dedup record)", "—", "fingerprint/redis");
  std::map<std::string, double> s15, s100;
  for (const std::string l : {"compact", "json-meta", "full-crd"})
    s15[l] = row("storm of 15 resources", l, "storm/" + l + "/15/redis");
  for (const std::string l : {"compact", "json-meta", "full-crd"})
    s100[l] = row("storm of 100 resources", l, "storm/" + l + "/100/redis");
  row("rate-limit bucket", "—", "rate_bucket/redis");
  md << "\n";
  headline.push_back("256 MB on Redis holds " + Grouped(fp) + " fingerprints, or " +
                     Grouped(s15["compact"]) + " / " + Grouped(s15["json-meta"]) + " / " +
                     Grouped(s15["full-crd"]) + " storms of 15 (compact / json-meta / full-crd), " +
                     Grouped(s100["compact"]) + " / " + Grouped(s100["json-meta"]) + " / " +
                     Grouped(s100["full-crd"]) + " storms of 100.");
}

void Report::MemoryPerEntity() {
  md << "## Memory per entity: memory-backend model vs real Redis\n\n";
  const Bench* me = Find(benches, "memory_entities_bench");
  if (!me) {
    md << "Not available: memory_entities_bench missing from this run.\n\n";
    return;
  }
  md << "`used_memory` growth and `MEMORY USAGE` (summed over the entity's keys), per entity. The "
        "memory backend predicts what Redis 7.0 would report; model ÷ Redis shows how close it "
        "is.\n\n| entity | keys | model: used_memory | Redis: used_memory | model ÷ Redis | "
        "model: MEMORY USAGE | Redis: MEMORY USAGE |\n|---|---:|---:|---:|---:|---:|---:|\n";
  std::vector<std::string> kinds = {"fingerprint"};
  for (const std::string l : {"compact", "json-meta", "full-crd"})
    for (const std::string n : {"15", "100"}) kinds.push_back("storm/" + l + "/" + n);
  kinds.push_back("rate_bucket");
  double worst = 0;
  for (const std::string& k : kinds) {
    double mb = Entity(k + "/memory", "bytes_per_entity");
    double rb = Entity(k + "/redis", "bytes_per_entity");
    double keys = Entity(k + "/redis", "keys_per_entity");
    if (std::isnan(keys)) keys = Entity(k + "/memory", "keys_per_entity");
    double r = Div(mb, rb);
    if (!std::isnan(r)) worst = std::max(worst, std::fabs(r - 1));
    md << "| " << k << " | " << Fixed(keys, 0) << " | " << Grouped(mb) << " | " << Grouped(rb)
       << " | " << Fixed(r, 3) << " | " << Grouped(Entity(k + "/memory", "memory_usage_per_entity"))
       << " | " << Grouped(Entity(k + "/redis", "memory_usage_per_entity")) << " |\n";
  }
  md << "\n";
  bool failed = false;
  for (const Run& r : me->runs) {
    if (!r.error) continue;
    md << "- `" << r.name << "` failed: " << r.error_message << "\n";
    failed = true;
  }
  if (failed) md << "\n";
}

// ops_per_second.dat: per command, memory backend (1 thread), RedisBackend and redis-benchmark
// unpipelined and pipelined. Drawn when at least two of the sources are present.
void Report::OpsChart() {
  const Bench* kv = Find(benches, "kv_bench");
  const Bench* rb = Find(benches, "redis_bench");
  int sources = (kv != nullptr) + (rb != nullptr) + rb_plain.has_value() + rb_pipelined.has_value();
  if (sources < 2) return;
  auto ops = [](const Bench* b, const std::string& op, bool pipelined) {
    if (b == nullptr) return kNaN;
    for (const Run& r : b->runs)
      if (!r.error && r.threads == 1 && OpOf(r) == op && IsPipelined(r) == pipelined)
        return r.OpsPerSec();
    return kNaN;
  };
  auto rbs = [](const std::optional<RbTable>& t, const std::string& op) {
    if (!t) return kNaN;
    auto it = t->find(op);
    return it == t->end() ? kNaN : it->second.rps;
  };
  std::vector<std::pair<std::string, std::vector<double>>> rows;
  for (const std::string op : {"GET", "SET", "SETEX", "INCR", "HSET", "SADD"}) {
    rows.push_back({op == "SETEX" ? "SET-EX" : op,
                    {ops(kv, op, false), ops(rb, op, false), rbs(rb_plain, op), ops(rb, op, true),
                     rbs(rb_pipelined, op)}});
  }
  int n = WriteHistogram(
      data_dir + "/ops_per_second.dat",
      {"memory backend, 1 thread", "RedisBackend, unpipelined", "redis-benchmark -c 1",
       "RedisBackend, pipelined 64", "redis-benchmark -c 1 -P 64"},
      rows);
  if (n > 0) charts.push_back({"ops_per_second", n});
}

void Report::Charts() {
  if (charts.empty()) return;
  md << "## Charts\n\n";
  for (const auto& [c, n] : charts) {
    if (c == "storm_scaling")
      md << "Storm-size scaling, per-alert time vs resources per storm (log x):\n\n"
         << "![storm-size scaling](storm_scaling.svg)\n\n";
    if (c == "ops_per_second")
      md << "Commands per second, memory backend vs RedisBackend vs redis-benchmark (log y):\n\n"
         << "![ops per second](ops_per_second.svg)\n\n";
    if (c == "bytes_per_storm")
      md << "Bytes per storm per layout:\n\n![bytes per storm](bytes_per_storm.svg)\n\n";
  }
}

void Report::AllResults() {
  md << "## All results\n\n";
  for (const Bench& b : benches) {
    md << "### " << b.name << "\n\n";
    if (!b.present()) {
      md << "**Missing:** " << b.missing << "\n\n";
      continue;
    }
    md << "| case | time | CPU | iterations | ops/s (wall clock) | counters |\n"
          "|---|---:|---:|---:|---:|---|\n";
    bool repeated = false;
    for (const Run& r : b.runs) {
      if (r.error) {
        md << "| " << r.name << " | **error** | | | | " << r.error_message << " |\n";
        continue;
      }
      std::string counters;
      for (const auto& [k, v] : r.counters) {
        if (k == "items_per_second" || k == "bytes_per_second") continue;
        if (!counters.empty()) counters += ", ";
        counters += k + "=" + (std::fabs(v) >= 100 ? Grouped(v) : Fixed(v, 2));
      }
      std::string iterations = Grouped(static_cast<double>(r.iterations));
      if (r.repetitions > 1) {
        repeated = true;
        iterations = "median of " + std::to_string(r.repetitions);
        if (!std::isnan(r.cv)) iterations += ", cv " + Fixed(r.cv * 100, 1) + "%";
      }
      md << "| " << r.name << " | " << Duration(r.real_ns) << " | " << Duration(r.cpu_ns) << " | "
         << iterations << " | " << Grouped(r.OpsPerSec()) << " | " << counters << " |\n";
    }
    md << "\n";
    for (const std::string& note : b.notes) md << "- Note: " << note << "\n";
    if (!b.notes.empty()) md << "\n";
    if (repeated) {
      md << "Repeated cases show the median of the repetitions (or rounds); cv is the "
            "coefficient of variation of their wall-clock time (a noise gauge).\n\n";
    }
  }
  for (auto [label, table, missing] :
       {std::tuple{"redis-benchmark -c 1", &rb_plain, &rb_plain_missing},
        std::tuple{"redis-benchmark -c 1 -P 64", &rb_pipelined, &rb_pipelined_missing}}) {
    md << "### " << label << " (median of " << M("rounds", "1") << " round(s))\n\n";
    if (!*table) {
      md << "**Missing:** " << *missing << "\n\n";
      continue;
    }
    md << "| test | rps | p50 | p99 |\n|---|---:|---:|---:|\n";
    for (const auto& [test, row] : **table)
      md << "| " << test << " | " << Grouped(row.rps) << " | " << Fixed(row.p50_ms, 3) << " ms | "
         << Fixed(row.p99_ms, 3) << " ms |\n";
    md << "\n";
  }
}

std::string Report::Render() {
  Header();
  std::string head = md.str();
  md.str("");
  MemoryVsRedis();
  RedisVsRedisBenchmark();
  Layouts();
  Capacity();
  MemoryPerEntity();
  OpsChart();
  Charts();
  AllResults();
  std::ostringstream out;
  out << head << "## Headline\n\n";
  if (headline.empty()) out << "No headline figures: the benches that feed them are missing.\n";
  for (const std::string& h : headline) out << "- " << h << "\n";
  std::vector<std::string> missing;
  for (const Bench& b : benches)
    if (!b.present()) missing.push_back(b.name + " (" + b.missing + ")");
  if (!rb_plain) missing.push_back("redis-benchmark -c 1 (" + rb_plain_missing + ")");
  if (!rb_pipelined) missing.push_back("redis-benchmark -c 1 -P 64 (" + rb_pipelined_missing + ")");
  if (!missing.empty()) {
    out << "\n**Missing from this run:**\n";
    for (const std::string& m : missing) out << "- " << m << "\n";
  }
  out << "\n" << md.str();
  return out.str();
}

int Usage(const char* why) {
  std::cerr << "bench_report: " << why
            << "\nusage: bench_report --out FILE --data-dir DIR --meta FILE [--bench NAME=JSON]... "
               "[--missing NAME=REASON]... [--redis-benchmark plain|pipelined=CSV]...\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Report report;
  std::vector<RbTable> rb_plain_rounds, rb_pipelined_rounds;
  std::string out_path, meta_path;
  std::vector<std::string> errors;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return Usage(("missing value after " + flag).c_str());
    std::string value = argv[++i];
    auto eq = value.find('=');
    std::string key = eq == std::string::npos ? "" : value.substr(0, eq);
    std::string rest = eq == std::string::npos ? "" : value.substr(eq + 1);
    if (flag == "--out") {
      out_path = value;
    } else if (flag == "--data-dir") {
      report.data_dir = value;
    } else if (flag == "--meta") {
      meta_path = value;
    } else if (flag == "--bench" || flag == "--missing") {
      if (key.empty()) return Usage((flag + " wants NAME=VALUE").c_str());
      Bench b;
      b.name = key;
      if (flag == "--bench") {
        b.path = rest;
        std::string err;
        if (!LoadBench(b, &err)) b.missing = "output unreadable: " + err;
      } else {
        b.missing = rest;
      }
      // A bench given again (rounds): merge with the earlier output.
      auto same = std::find_if(report.benches.begin(), report.benches.end(),
                               [&](const Bench& e) { return e.name == key; });
      if (same == report.benches.end()) {
        report.benches.push_back(std::move(b));
      } else if (!b.present()) {
        same->notes.push_back("one run failed: " + b.missing);
      } else if (!same->present()) {
        b.notes = same->notes;
        b.notes.push_back("one run failed: " + same->missing);
        *same = std::move(b);
      } else {
        for (Run& r : b.runs) same->runs.push_back(std::move(r));
      }
    } else if (flag == "--redis-benchmark") {
      if (key != "plain" && key != "pipelined")
        return Usage("--redis-benchmark wants plain=CSV or pipelined=CSV");
      RbTable t;
      std::string err;
      auto& rounds = key == "plain" ? rb_plain_rounds : rb_pipelined_rounds;
      auto& why = key == "plain" ? report.rb_plain_missing : report.rb_pipelined_missing;
      if (LoadRedisBenchmark(rest, &t, &err)) {
        rounds.push_back(std::move(t));
      } else {
        why = "output unreadable: " + err;
      }
    } else {
      return Usage(("unknown flag " + flag).c_str());
    }
  }
  if (out_path.empty() || report.data_dir.empty() || meta_path.empty())
    return Usage("--out, --data-dir and --meta are required");
  for (Bench& b : report.benches) CollapseRounds(b);
  // redis-benchmark rounds: the median of each figure per test.
  for (auto [rounds, slot] : {std::pair{&rb_plain_rounds, &report.rb_plain},
                              std::pair{&rb_pipelined_rounds, &report.rb_pipelined}}) {
    if (rounds->empty()) continue;
    std::map<std::string, std::vector<RbRow>> by_test;
    for (const RbTable& t : *rounds)
      for (const auto& [test, row] : t) by_test[test].push_back(row);
    RbTable merged;
    for (const auto& [test, rows] : by_test) {
      std::vector<double> rps, p50, p99;
      for (const RbRow& r : rows) {
        rps.push_back(r.rps);
        p50.push_back(r.p50_ms);
        p99.push_back(r.p99_ms);
      }
      merged[test] = RbRow{Median(rps), Median(p50), Median(p99)};
    }
    *slot = std::move(merged);
  }
  std::string err;
  report.meta = LoadMeta(meta_path, &err);
  if (!err.empty()) {
    std::cerr << "bench_report: " << err << "\n";
    return 1;
  }
  std::string text = report.Render();
  std::ofstream out(out_path);
  out << text;
  out.close();
  if (!out) {
    std::cerr << "bench_report: cannot write " << out_path << "\n";
    return 1;
  }
  for (const auto& [c, n] : report.charts) std::cout << c << " " << n << "\n";
  return 0;
}
