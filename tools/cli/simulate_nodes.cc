#include "simulate_nodes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "stormkv/memory_cluster.h"
#include "stormkv/redis_cluster_backend.h"
#include "table.h"
#include "units.h"

namespace stormkv::cli {

Result<std::vector<FamilyBytes>> MeasureFamilies(KvBackend& kv, const KeySchema& schema,
                                                 SlotTally* tally) {
  std::map<std::string, FamilyBytes> by_family;
  std::string cursor = "0";
  do {
    Result<ScanPage> page = kv.Scan(cursor, schema.FamilyPattern(), 1000);
    if (!page.ok()) return page.status().WithContext("SCAN");
    cursor = page->cursor;
    const std::vector<std::string>& keys = page->keys;
    if (keys.empty()) continue;
    std::vector<Command> cmds;
    for (const std::string& k : keys) cmds.push_back({"MEMORY", "USAGE", k, "SAMPLES", "0"});
    std::vector<Result<Reply>> sizes = kv.RunBatch(cmds);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!sizes[i].ok()) return sizes[i].status().WithContext("MEMORY USAGE");
      if (!sizes[i]->is_integer()) continue;  // expired meanwhile
      std::string fam(schema.FamilyOf(keys[i]));
      if (fam.empty()) fam = "other";
      FamilyBytes& f = by_family[fam];
      f.family = fam;
      ++f.keys;
      f.bytes += sizes[i]->integer();
      if (tally != nullptr) tally->Add(keys[i], sizes[i]->integer());
    }
  } while (cursor != "0");
  std::vector<FamilyBytes> out;
  for (auto& [name, f] : by_family) out.push_back(f);
  std::sort(out.begin(), out.end(), [](const FamilyBytes& a, const FamilyBytes& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.family < b.family;
  });
  return out;
}

namespace {

std::string RangeText(const ClusterSlotRange& r) {
  return std::to_string(r.first) + "-" + std::to_string(r.last);
}

struct Figures {
  int64_t used = -1;
  int64_t peak = -1;
  int64_t buffers = 0;  // replication backlog, replica clients, cluster links
};

Result<Figures> ReadFigures(KvBackend& kv) {
  auto info = kv.Info("memory");
  if (!info.ok()) return info.status();
  Figures f;
  auto it = info->find("used_memory");
  if (it == info->end()) return Status::Internal("INFO memory has no used_memory");
  f.used = std::strtoll(it->second.c_str(), nullptr, 10);
  it = info->find("used_memory_peak");
  if (it != info->end()) f.peak = std::strtoll(it->second.c_str(), nullptr, 10);
  for (const char* name : {"mem_replication_backlog", "mem_clients_slaves", "mem_cluster_links"}) {
    it = info->find(name);
    if (it != info->end()) f.buffers += std::strtoll(it->second.c_str(), nullptr, 10);
  }
  return f;
}

std::string Ratio(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", x);
  return buf;
}

// The busiest node's keys and bytes over the mean per node.
std::pair<double, double> Busiest(const std::vector<NodeResult>& nodes) {
  int64_t keys = 0, bytes = 0, max_keys = 0, max_bytes = 0;
  for (const NodeResult& n : nodes) {
    keys += n.keys;
    bytes += n.key_bytes;
    max_keys = std::max(max_keys, n.keys);
    max_bytes = std::max(max_bytes, n.key_bytes);
  }
  const double count = static_cast<double>(nodes.size());
  return {keys > 0 ? static_cast<double>(max_keys) * count / static_cast<double>(keys) : 0.0,
          bytes > 0 ? static_cast<double>(max_bytes) * count / static_cast<double>(bytes) : 0.0};
}

}  // namespace

std::vector<std::string> NodeProbeKeys(KvBackend& kv, const std::string& stem) {
  MemoryClusterBackend* mc = AsMemoryClusterBackend(&kv);
  if (mc == nullptr) return {stem};
  const std::size_t n = mc->Nodes().size();
  std::vector<std::string> out(n);
  std::size_t found = 0;
  // Coupon collecting over 16384 slots: about 170,000 names for 16384 nodes, a few for 3.
  for (int64_t i = 0; found < n && i < 50'000'000; ++i) {
    std::string key = stem + std::to_string(i);
    std::string& slot = out[static_cast<std::size_t>(mc->NodeOfSlot(HashSlot(key)))];
    if (slot.empty()) {
      slot = std::move(key);
      ++found;
    }
  }
  for (std::string& k : out) {
    if (k.empty()) k = stem;  // not reached: every node owns a slot
  }
  return out;
}

NodeTracker::NodeTracker(KvBackend& kv, bool live_server, int64_t expected_alerts)
    : live_server_(live_server), step_(std::max<int64_t>(1, expected_alerts / 400)) {
  if (MemoryClusterBackend* mc = AsMemoryClusterBackend(&kv)) {
    cluster_ = true;
    for (const MemoryClusterNode& n : mc->Nodes()) {
      Node node;
      node.result.node = n.index;
      node.result.address = n.address;
      node.result.slots = RangeText(n.slots);
      node.kv = n.backend;
      nodes_.push_back(std::move(node));
    }
  } else if (RedisClusterBackend* rc = AsRedisClusterBackend(&kv)) {
    cluster_ = true;
    int index = 0;
    for (const RedisClusterNode& n : rc->Nodes()) {
      Node node;
      node.result.node = index++;
      node.result.address = n.address;
      for (const auto& [first, last] : n.slots) {
        if (!node.result.slots.empty()) node.result.slots += ",";
        node.result.slots += RangeText({first, last});
      }
      node.kv = n.backend;
      nodes_.push_back(std::move(node));
    }
  } else {
    Node node;
    node.result.address = kv.Describe();
    node.result.slots = "0-16383";
    node.kv = &kv;
    nodes_.push_back(std::move(node));
  }
}

Status NodeTracker::Sample(int64_t simulated_ms) {
  MemorySample s;
  s.simulated_ms = simulated_ms;
  for (Node& n : nodes_) {
    Result<Figures> f = ReadFigures(*n.kv);
    if (!f.ok()) return f.status().WithContext(n.result.address);
    if (!n.sampled) {
      n.sampled = true;
      n.result.baseline_bytes = f->used;
      n.baseline_buffers = f->buffers;
    }
    n.result.used_memory_bytes = f->used;
    n.result.dataset_growth_bytes =
        (f->used - f->buffers) - (n.result.baseline_bytes - n.baseline_buffers);
    n.result.peak_bytes = std::max({n.result.peak_bytes, f->used, live_server_ ? 0 : f->peak});
    s.used.push_back(f->used);
  }
  timeline_.push_back(std::move(s));
  return Status::Ok();
}

Status NodeTracker::Finish(const KeySchema& schema, SimulationResult* r) {
  STORMKV_RETURN_IF_ERROR(Sample(r->simulated_ms));
  r->timeline = timeline_;
  if (!cluster_) return Status::Ok();
  r->nodes.clear();
  bool all_fit = true;
  for (Node& n : nodes_) {
    Result<std::vector<FamilyBytes>> fams = MeasureFamilies(*n.kv, schema, nullptr);
    if (!fams.ok()) return fams.status().WithContext(n.result.address);
    n.result.families = std::move(fams).value();
    n.result.keys = 0;
    n.result.key_bytes = 0;
    for (const FamilyBytes& f : n.result.families) {
      n.result.keys += f.keys;
      n.result.key_bytes += f.bytes;
    }
    n.result.fits = n.result.peak_bytes <= r->budget_bytes && r->alerts.oom_errors == 0;
    all_fit = all_fit && n.result.fits;
    r->nodes.push_back(n.result);
  }
  r->fits = all_fit;
  return Status::Ok();
}

std::string ClusterVerdict(const SimulationResult& r) {
  if (r.nodes.empty()) return "";
  const NodeResult* busiest = &r.nodes.front();
  int over = 0;
  for (const NodeResult& n : r.nodes) {
    if (n.peak_bytes > busiest->peak_bytes) busiest = &n;
    if (n.peak_bytes > r.budget_bytes) ++over;
  }
  const std::string share =
      FormatPercent(static_cast<double>(busiest->peak_bytes) / static_cast<double>(r.budget_bytes));
  std::string s;
  if (r.fits) {
    s = "cluster fits: every node's peak is under its " + FormatBytes(r.budget_bytes) +
        " budget (busiest: node " + std::to_string(busiest->node) + ", " +
        FormatBytes(busiest->peak_bytes) + " = " + share + ")";
  } else if (over > 0) {
    s = "cluster does NOT fit: " + std::to_string(over) + " of " + std::to_string(r.nodes.size()) +
        " nodes peak above their " + FormatBytes(r.budget_bytes) + " budget (busiest: node " +
        std::to_string(busiest->node) + ", " + FormatBytes(busiest->peak_bytes) + " = " + share +
        ")";
  } else {
    s = "cluster does NOT fit: " + FormatCount(r.alerts.oom_errors) +
        " writes were refused with OOM";
  }
  return s;
}

std::string RenderNodes(const SimulationResult& r) {
  if (r.nodes.empty()) return "";
  std::ostringstream os;
  os << "per node (" << r.nodes.size() << " masters, "
     << (r.shared_server ? "slots from the cluster's map" : "slots as redis-cli --cluster create")
     << "; budget " << FormatBytes(r.budget_bytes) << " per node; growth: used_memory over its "
     << "start" << (r.shared_server ? ", replication buffers left out" : "") << "):\n";
  Table t({"node", "slots", "keys", "key bytes", "used_memory", "growth", "peak", "of budget",
           "verdict"},
          2);
  for (const NodeResult& n : r.nodes) {
    t.AddRow({std::to_string(n.node), n.slots, FormatCount(n.keys), FormatBytes(n.key_bytes),
              FormatBytes(n.used_memory_bytes), FormatBytes(n.dataset_growth_bytes),
              FormatBytes(n.peak_bytes),
              FormatPercent(static_cast<double>(n.peak_bytes) / static_cast<double>(r.budget_bytes)),
              n.fits ? "fits" : "does NOT fit"});
  }
  os << t.Render(2);
  auto [keys_ratio, bytes_ratio] = Busiest(r.nodes);
  os << "  busiest node: " << Ratio(keys_ratio) << " the mean keys, " << Ratio(bytes_ratio)
     << " the mean bytes\n";
  std::vector<std::string> headers = {"key family"};
  for (const NodeResult& n : r.nodes) headers.push_back("node " + std::to_string(n.node));
  Table f(headers);
  for (const FamilyBytes& fam : r.families) {
    std::vector<std::string> row = {fam.family};
    for (const NodeResult& n : r.nodes) {
      int64_t bytes = 0;
      for (const FamilyBytes& x : n.families) {
        if (x.family == fam.family) bytes = x.bytes;
      }
      row.push_back(FormatBytes(bytes));
    }
    f.AddRow(row);
  }
  os << "bytes by key family per node (MEMORY USAGE):\n" << f.Render(2);
  return os.str();
}

nlohmann::ordered_json NodesJson(const SimulationResult& r) {
  nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
  for (const NodeResult& n : r.nodes) {
    nlohmann::ordered_json fams = nlohmann::ordered_json::array();
    for (const FamilyBytes& f : n.families) {
      fams.push_back({{"family", f.family}, {"keys", f.keys}, {"bytes", f.bytes}});
    }
    nodes.push_back({{"node", n.node},
                     {"address", n.address},
                     {"slots", n.slots},
                     {"keys", n.keys},
                     {"key_bytes", n.key_bytes},
                     {"used_memory_bytes", n.used_memory_bytes},
                     {"peak_bytes", n.peak_bytes},
                     {"baseline_bytes", n.baseline_bytes},
                     {"dataset_growth_bytes", n.dataset_growth_bytes},
                     {"fits", n.fits},
                     {"families", fams}});
  }
  return nodes;
}

namespace {

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A "nice" axis step (1, 2 or 5 x 10^k) giving about `ticks` ticks over `range`.
double NiceStep(double range, int ticks) {
  if (range <= 0) return 1;
  const double raw = range / ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * mag) return m * mag;
  }
  return 10 * mag;
}

}  // namespace

std::string PlotSvg(const std::vector<SimulationResult>& results) {
  constexpr double kW = 860, kH = 480, kLeft = 80, kRight = 190, kTop = 50, kBottom = 60;
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  struct Series {
    std::string label;
    std::vector<std::pair<double, double>> points;  // seconds, MiB
  };
  std::vector<Series> series;
  double max_t = 0, max_y = 0;
  const double mib = 1024.0 * 1024.0;
  for (const SimulationResult& r : results) {
    const std::size_t nodes = r.timeline.empty() ? 0 : r.timeline.front().used.size();
    for (std::size_t i = 0; i < nodes; ++i) {
      Series s;
      s.label = (results.size() > 1 ? r.layout + " " : std::string()) +
                (r.nodes.empty() ? std::string("used_memory") : "node " + std::to_string(i));
      for (const MemorySample& m : r.timeline) {
        if (i >= m.used.size()) continue;
        const double t = static_cast<double>(m.simulated_ms) / 1000.0;
        const double y = static_cast<double>(m.used[i]) / mib;
        s.points.emplace_back(t, y);
        max_t = std::max(max_t, t);
        max_y = std::max(max_y, y);
      }
      series.push_back(std::move(s));
    }
  }
  const double budget = results.empty() ? 0 : static_cast<double>(results.front().budget_bytes) / mib;
  // The budget line is drawn when the curves reach a tenth of it; otherwise the chart zooms on
  // the curves and says how far above them the budget is.
  const bool show_budget = budget > 0 && max_y >= budget / 10;
  double y_top = show_budget ? std::max(budget, max_y) * 1.08 : std::max(max_y * 1.15, 0.001);
  if (max_t <= 0) max_t = 1;
  const double y_step = NiceStep(y_top, 6), t_step = NiceStep(max_t, 8);
  y_top = std::ceil(y_top / y_step) * y_step;
  auto X = [&](double t) { return kLeft + t / max_t * pw; };
  auto Y = [&](double y) { return kTop + ph - y / y_top * ph; };
  static const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
                                  "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kW << "\" height=\"" << kH
     << "\" viewBox=\"0 0 " << kW << " " << kH << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  std::string title = "used_memory over simulated time";
  if (!results.empty()) {
    title += " — " + results.front().scenario + ", " +
             (results.front().nodes.empty() ? results.front().backend
                                            : std::to_string(results.front().nodes.size()) +
                                                  "-node cluster");
  }
  os << "<text x=\"" << kLeft << "\" y=\"24\" font-size=\"15\">" << Escape(title) << "</text>\n";
  if (!show_budget && budget > 0) {
    os << "<text x=\"" << kLeft << "\" y=\"42\" fill=\"#d62728\">budget "
       << Escape(FormatBytes(results.front().budget_bytes)) << " per node: off the chart, "
       << Num(max_y > 0 ? budget / max_y : 0) << "x the highest reading</text>\n";
  }
  for (double y = 0; y <= y_top + 1e-9; y += y_step) {
    os << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + pw << "\" y1=\"" << Num(Y(y))
       << "\" y2=\"" << Num(Y(y)) << "\" stroke=\"#e5e5e5\"/>\n";
    char label[32];
    std::snprintf(label, sizeof label, y_step < 1 ? "%.2f" : "%.0f", y);
    os << "<text x=\"" << kLeft - 8 << "\" y=\"" << Num(Y(y) + 4) << "\" text-anchor=\"end\">"
       << label << "</text>\n";
  }
  for (double t = 0; t <= max_t + 1e-9; t += t_step) {
    os << "<line x1=\"" << Num(X(t)) << "\" x2=\"" << Num(X(t)) << "\" y1=\"" << kTop + ph
       << "\" y2=\"" << kTop + ph + 5 << "\" stroke=\"#444\"/>\n";
    char tl[32];
    std::snprintf(tl, sizeof tl, "%g", t);
    os << "<text x=\"" << Num(X(t)) << "\" y=\"" << kTop + ph + 19 << "\" text-anchor=\"middle\">"
       << tl << "</text>\n";
  }
  os << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << pw << "\" height=\"" << ph
     << "\" fill=\"none\" stroke=\"#444\"/>\n";
  os << "<text x=\"" << kLeft + pw / 2 << "\" y=\"" << kH - 16
     << "\" text-anchor=\"middle\">simulated time (s)</text>\n";
  os << "<text transform=\"translate(18," << kTop + ph / 2
     << ") rotate(-90)\" text-anchor=\"middle\">used_memory (MiB)</text>\n";
  if (show_budget) {
    os << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + pw << "\" y1=\"" << Num(Y(budget))
       << "\" y2=\"" << Num(Y(budget)) << "\" stroke=\"#d62728\" stroke-width=\"2\" "
       << "stroke-dasharray=\"8 5\"/>\n";
  }
  double legend_y = kTop + 10;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const char* color = kColors[i % (sizeof kColors / sizeof kColors[0])];
    os << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.8\" points=\"";
    for (const auto& [t, y] : series[i].points) os << Num(X(t)) << "," << Num(Y(y)) << " ";
    os << "\"/>\n";
    os << "<line x1=\"" << kLeft + pw + 15 << "\" x2=\"" << kLeft + pw + 40 << "\" y1=\""
       << legend_y << "\" y2=\"" << legend_y << "\" stroke=\"" << color
       << "\" stroke-width=\"2\"/>\n";
    os << "<text x=\"" << kLeft + pw + 46 << "\" y=\"" << legend_y + 4 << "\">"
       << Escape(series[i].label) << "</text>\n";
    legend_y += 18;
  }
  if (show_budget) {
    os << "<line x1=\"" << kLeft + pw + 15 << "\" x2=\"" << kLeft + pw + 40 << "\" y1=\""
       << legend_y << "\" y2=\"" << legend_y
       << "\" stroke=\"#d62728\" stroke-width=\"2\" stroke-dasharray=\"8 5\"/>\n";
    os << "<text x=\"" << kLeft + pw + 46 << "\" y=\"" << legend_y + 4 << "\">budget "
       << Escape(FormatBytes(results.front().budget_bytes))
       << (results.front().nodes.empty() ? "" : " per node") << "</text>\n";
  }
  os << "</svg>\n";
  return os.str();
}

Status WritePlot(const std::vector<SimulationResult>& results, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::InvalidArgument("--plot: cannot write '" + path + "'");
  out << PlotSvg(results);
  out.close();
  if (!out) return Status::Internal("--plot: writing '" + path + "' failed");
  return Status::Ok();
}

}  // namespace stormkv::cli
