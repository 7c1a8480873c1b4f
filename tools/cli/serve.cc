#include "serve.h"

#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <vector>

#include "exit_codes.h"
#include "key_families.h"
#include "stormkv/clock.h"
#include "stormkv/memory_backend.h"
#include "stormkv/memory_cluster.h"
#include "stormkv/server/cluster_server.h"
#include "stormkv/server/server.h"
#include "stormkv/shm_backend.h"
#include "table.h"
#include "units.h"

namespace stormkv::cli {
namespace {

void PrintError(const Status& s) { std::cerr << "stormkv: error: " << s.message() << "\n"; }

}  // namespace

CLI::App* AddServeCommand(CLI::App& app, ServeArgs& a) {
  CLI::App* s = app.add_subcommand(
      "serve", "Serve the embedded store over the Redis protocol (RESP2/RESP3) for any client");
  s->footer(
      "A hermetic Redis 7.0 double for test suites in any language: Redis's replies and error\n"
      "texts, its memory accounting (used_memory, MEMORY USAGE), maxmemory/OOM/eviction, and a\n"
      "virtual clock (--clock manual) moved with STORMKV.CLOCK ADVANCE <ms> | SET <ms> | GET.\n"
      "STORMKV.MEMORY prints the per-family memory report. One database (SELECT 0 only).\n"
      "Stops cleanly on SIGTERM or SIGINT (a shared segment stays).\n\n"
      "Examples:\n"
      "  stormkv serve --port 0 --port-file /tmp/port --clock manual\n"
      "  stormkv serve --port 6390 --maxmemory 256mb --maxmemory-policy allkeys-lru\n"
      "  stormkv serve --shm gateway-test --shm-size 512mb --unixsocket /tmp/stormkv.sock\n"
      "  stormkv serve --cluster 3 --port 0 --port-file /tmp/ports --clock manual\n\n"
      "--cluster N: N masters of one Redis Cluster, each on a TCP port of its own (node i on\n"
      "--port + i, or N free ports with --port 0), owning the slots `redis-cli --cluster create`\n"
      "gives it and announcing the address it listens on (CLUSTER SLOTS/SHARDS/NODES, MOVED).\n"
      "The ports are printed (and written to --port-file) one per line, in slot order. One clock\n"
      "for all nodes: STORMKV.CLOCK on any node moves the cluster's time.\n");
  s->add_option("--bind", a.bind, "Address to listen on")->capture_default_str();
  s->add_option("--port", a.port, "TCP port (0 = pick a free one and print it; -1 = no TCP)")
      ->capture_default_str();
  s->add_option("--port-file", a.port_file,
                "Write the port served to this file once listening (--cluster: each node's, one "
                "per line in slot order)");
  s->add_option("--unixsocket", a.unixsocket, "Also listen on this unix socket path");
  s->add_option("--requirepass", a.requirepass, "Clients must AUTH with this password");
  s->add_option("--maxclients", a.maxclients, "Most clients connected at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  s->add_option("--maxmemory", a.maxmemory, "Memory budget as Redis counts it (0 = none)")
      ->capture_default_str();
  s->add_option("--maxmemory-policy", a.maxmemory_policy,
                "noeviction, allkeys-lru, volatile-lru, allkeys-lfu, volatile-lfu, allkeys-random, "
                "volatile-random, volatile-ttl")
      ->capture_default_str();
  s->add_option("--allocator", a.allocator,
                "Memory profile: debian (Debian's redis-server) or upstream (an upstream build)")
      ->capture_default_str();
  s->add_option("--shm", a.shm, "Serve the shared-memory store NAME (created when missing)");
  s->add_option("--shm-size", a.shm_size, "Size of a segment --shm creates")->capture_default_str();
  s->add_option("--clock", a.clock, "system, or manual (starts at a fixed time; STORMKV.CLOCK)")
      ->capture_default_str();
  s->add_option("--cluster", a.cluster, "Serve a Redis Cluster of N masters, one port each")
      ->check(CLI::Range(1, 16384));
  s->add_option("--cluster-announce-ip", a.cluster_announce_ip,
                "With --cluster: the host the nodes announce (default: --bind; 127.0.0.1 for "
                "0.0.0.0)");
  s->add_flag("--cluster-lenient-scripts", a.cluster_lenient_scripts,
              "With --cluster: Redis 7.0's script rules only (a script may reach any key of its "
              "node); by default a script may touch only the keys it declares");
  s->add_option("--proto-max-bulk-len", a.proto_max_bulk_len, "Largest bulk argument")
      ->capture_default_str();
  s->add_option("--client-query-buffer-limit", a.client_query_buffer_limit,
                "Most unparsed bytes buffered per client")
      ->capture_default_str();
  s->add_option("--client-output-buffer-limit", a.client_output_buffer_limit,
                "Disconnect a client whose unsent replies exceed this (0 = no limit)")
      ->capture_default_str();
  s->add_option("--seed", a.seed, "Seed of the store's samplers (eviction, active expiry)")
      ->capture_default_str();
  return s;
}

Result<std::string> MemoryReport(KvBackend& kv) {
  struct Fam {
    int64_t keys = 0, bytes = 0;
  };
  std::map<std::string, Fam> fams;
  Status s = kv.ScanAll("", [&](const std::string& key) -> Status {
    Result<std::optional<int64_t>> u = kv.MemoryUsage(key);
    if (!u.ok()) return u.status();
    if (!u->has_value()) return Status::Ok();  // expired meanwhile
    Fam& f = fams[ClassifyKey(key).label];
    ++f.keys;
    f.bytes += **u;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  Result<std::map<std::string, std::string>> info = kv.Info("memory");
  if (!info.ok()) return info.status();
  Table t({"family", "keys", "bytes", "bytes/key"});
  int64_t keys = 0, bytes = 0;
  for (const auto& [label, f] : fams) {
    t.AddRow({label, FormatCount(f.keys), FormatBytes(f.bytes), FormatCount(f.keys ? f.bytes / f.keys : 0)});
    keys += f.keys;
    bytes += f.bytes;
  }
  t.AddSeparator();
  t.AddRow({"all keys", FormatCount(keys), FormatBytes(bytes), FormatCount(keys ? bytes / keys : 0)});
  auto get = [&](const char* name) {
    auto it = info->find(name);
    return it == info->end() ? std::string("?") : it->second;
  };
  return "used_memory: " + get("used_memory") + " B, peak: " + get("used_memory_peak") +
         " B, maxmemory: " + get("maxmemory") + " B\n" + t.Render();
}

int RunServeCommand(const ServeArgs& a) {
  if (a.cluster != 0 && !a.shm.empty()) {
    PrintError(Status::InvalidArgument(
        "--shm with --cluster: the shared-memory store has no cluster mode; serve --cluster N "
        "keeps its N nodes in this process (leave out --shm)"));
    return kExitUsage;
  }
  if (a.cluster != 0 && !a.unixsocket.empty()) {
    PrintError(Status::InvalidArgument(
        "--unixsocket with --cluster: cluster nodes are reached over TCP (CLUSTER SLOTS and "
        "MOVED name host:port)"));
    return kExitUsage;
  }
  if (a.cluster == 0 && (!a.cluster_announce_ip.empty() || a.cluster_lenient_scripts)) {
    PrintError(Status::InvalidArgument(
        "--cluster-announce-ip and --cluster-lenient-scripts need --cluster N"));
    return kExitUsage;
  }
  auto size = [](const std::string& text, const char* opt, int64_t* out) {
    Result<int64_t> v = ParseByteSize(text);
    if (!v.ok()) {
      PrintError(v.status().WithContext(opt));
      return false;
    }
    *out = *v;
    return true;
  };
  ServerOptions o;
  int64_t maxmemory = 0, shm_size = 0;
  if (!size(a.maxmemory, "--maxmemory", &maxmemory) || !size(a.shm_size, "--shm-size", &shm_size) ||
      !size(a.proto_max_bulk_len, "--proto-max-bulk-len", &o.proto_max_bulk_len) ||
      !size(a.client_query_buffer_limit, "--client-query-buffer-limit", &o.client_query_buffer_limit) ||
      !size(a.client_output_buffer_limit, "--client-output-buffer-limit", &o.client_output_buffer_limit)) {
    return kExitUsage;
  }
  AllocatorProfile allocator;
  if (a.allocator == "debian") {
    allocator = AllocatorProfile::kDebian;
  } else if (a.allocator == "upstream") {
    allocator = AllocatorProfile::kUpstream;
  } else {
    PrintError(Status::InvalidArgument("--allocator: expected debian or upstream, got '" + a.allocator + "'"));
    return kExitUsage;
  }
  if (a.clock != "system" && a.clock != "manual") {
    PrintError(Status::InvalidArgument("--clock: expected system or manual, got '" + a.clock + "'"));
    return kExitUsage;
  }
  bool manual = a.clock == "manual";
  MemoryBackendOptions m;  // the store (each node's, with --cluster)
  if (a.shm.empty()) {
    m.allocator = allocator;
    m.maxmemory = maxmemory;
    m.maxmemory_policy = a.maxmemory_policy;
    m.seed = a.seed;
    m.cluster_strict_scripts = !a.cluster_lenient_scripts;
    std::shared_ptr<ManualClock> clock;
    if (manual) {
      clock = std::make_shared<ManualClock>();
      m.clock = clock;
      o.clock.now_ms = [clock] { return clock->NowMs(); };
      o.clock.set_ms = [clock](int64_t ms) { clock->SetMs(ms); };
      o.clock.advance = [clock](int64_t d) { clock->Advance(std::chrono::milliseconds(d)); };
    } else {
      // The system clock, read once per batch of a client's commands (server/batch_clock.h).
      auto batch_clock = std::make_shared<server::BatchClock>();
      m.clock = batch_clock;
      o.batch_clock = batch_clock;
      o.clock.now_ms = [] { return SystemClock::Shared()->NowMs(); };
    }
    if (a.cluster == 0) {
      Result<std::unique_ptr<KvBackend>> kv = NewMemoryBackend(m);
      if (!kv.ok()) {
        PrintError(kv.status());
        return ExitCodeFor(kv.status());
      }
      o.backend = std::shared_ptr<KvBackend>(std::move(*kv));
    }
  } else {
    ShmBackendOptions so;
    so.name = a.shm;
    so.open = ShmBackendOptions::OpenMode::kCreateOrAttach;
    so.size = shm_size;
    so.store.allocator = allocator;
    so.store.maxmemory = maxmemory;
    so.store.maxmemory_policy = a.maxmemory_policy;
    so.store.seed = a.seed;
    so.clock_mode = manual ? ShmClockMode::kVirtual : ShmClockMode::kReal;
    Result<std::unique_ptr<ShmBackend>> kv = NewShmBackend(so);
    if (!kv.ok()) {
      PrintError(kv.status());
      return ExitCodeFor(kv.status());
    }
    std::shared_ptr<ShmClock> clock = (*kv)->clock();
    if (manual) {
      o.clock.now_ms = [clock] { return clock->NowMs(); };
      o.clock.set_ms = [clock](int64_t ms) { clock->SetMs(ms); };
      o.clock.advance = [clock](int64_t d) { clock->Advance(std::chrono::milliseconds(d)); };
    } else {
      o.clock.now_ms = [] { return SystemClock::Shared()->NowMs(); };
    }
    o.backend = std::shared_ptr<KvBackend>(std::move(*kv));
  }
  o.bind = a.bind;
  o.port = a.port;
  o.unixsocket = a.unixsocket;
  o.requirepass = a.requirepass;
  o.maxclients = a.maxclients;
  o.memory_report = MemoryReport;

  // Block the stop signals before the server threads start, so only sigwait sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<Server> server;
  std::unique_ptr<ClusterServer> cluster;
  std::vector<int> ports;
  if (a.cluster == 0) {
    Result<std::unique_ptr<Server>> started = Server::Start(std::move(o));
    if (!started.ok()) {
      PrintError(started.status());
      return ExitCodeFor(started.status());
    }
    server = std::move(*started);
    ports.push_back(server->port());
  } else {
    ClusterServerOptions co;
    co.nodes = a.cluster;
    co.memory = m;
    co.server = std::move(o);
    co.announce_host = a.cluster_announce_ip;
    Result<std::unique_ptr<ClusterServer>> started = ClusterServer::Start(std::move(co));
    if (!started.ok()) {
      PrintError(started.status());
      return ExitCodeFor(started.status());
    }
    cluster = std::move(*started);
    ports = cluster->ports();
  }
  if (!a.port_file.empty()) {
    // One port per line (node order with --cluster), renamed into place once complete.
    std::string tmp = a.port_file + ".tmp";
    {
      std::ofstream f(tmp);
      for (int p : ports) f << p << "\n";
    }
    std::rename(tmp.c_str(), a.port_file.c_str());
  }
  if (cluster) {
    std::cout << "stormkv serve: cluster of " << a.cluster << " masters (clock " << a.clock
              << (a.cluster_lenient_scripts ? ", lenient scripts" : "") << "):\n";
    for (const MemoryClusterNode& n : cluster->nodes()) {
      std::cout << "  node " << n.index << " " << n.address << " slots " << n.slots.first << "-"
                << n.slots.last << " id " << n.id << "\n";
    }
  } else {
    std::cout << "stormkv serve: listening on " << a.bind << ":" << ports[0]
              << (a.unixsocket.empty() ? "" : " and " + a.unixsocket) << " (clock " << a.clock
              << (a.shm.empty() ? "" : ", shm " + a.shm) << ")\n";
  }
  for (int p : ports) std::cout << p << "\n";
  std::cout << std::flush;
  int sig = 0;
  sigwait(&set, &sig);
  std::cerr << "stormkv serve: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ", stopping\n";
  if (server) server->Stop();
  if (cluster) cluster->Stop();
  return kExitOk;
}

}  // namespace stormkv::cli
