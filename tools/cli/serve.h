// tools/cli/serve.h — `stormkv serve`: the embedded store as a Redis-compatible server.
#ifndef STORMKV_TOOLS_CLI_SERVE_H_
#define STORMKV_TOOLS_CLI_SERVE_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "stormkv/kv_backend.h"
#include "stormkv/status.h"

namespace stormkv::cli {

struct ServeArgs {
  std::string bind = "127.0.0.1";
  int port = 6379;
  std::string port_file;
  std::string unixsocket;
  std::string requirepass;
  int64_t maxclients = 10000;
  std::string maxmemory = "0";
  std::string maxmemory_policy = "noeviction";
  std::string allocator = "debian";
  std::string shm;
  std::string shm_size = "256mb";
  std::string clock = "system";
  int cluster = 0;
  std::string cluster_announce_ip;
  bool cluster_lenient_scripts = false;
  std::string proto_max_bulk_len = "512mb";
  std::string client_query_buffer_limit = "1gb";
  std::string client_output_buffer_limit = "1gb";
  uint64_t seed = 1;
};

// Registers the subcommand on `app`; `args` receives its options.
CLI::App* AddServeCommand(CLI::App& app, ServeArgs& args);
// Runs the server until SIGTERM or SIGINT; returns the process exit code.
int RunServeCommand(const ServeArgs& args);

// STORMKV.MEMORY's text: used_memory, peak, and keys and MEMORY USAGE bytes per key family
// (the families simulate reports).
Result<std::string> MemoryReport(KvBackend& kv);

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_SERVE_H_
