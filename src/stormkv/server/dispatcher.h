// stormkv/server/dispatcher.h — the server's command logic, free of sockets: per-client state
// (protocol, auth, name, MULTI queue, WATCH set) and the commands the server answers itself,
// the rest forwarded to the backend. Private to the server library; single-threaded (the
// server's thread).
#ifndef STORMKV_SERVER_DISPATCHER_H_
#define STORMKV_SERVER_DISPATCHER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "stormkv/kv_backend.h"
#include "stormkv/server/command_table.h"
#include "stormkv/server/resp.h"
#include "stormkv/server/server.h"

namespace stormkv::server {

struct ClientState {
  uint64_t id = 0;
  std::string addr, laddr;  // "ip:port" or "/path:0"
  int fd = -1;
  int proto = 2;
  bool authed = false;
  std::string name, lib_name, lib_ver;
  int64_t created_ms = 0, last_ms = 0;  // last_ms: the last read (the connection layer's)
  std::string_view last_cmd = "NULL";  // a name in the (static) CommandTable
  // MULTI
  bool in_multi = false;
  bool multi_dirty = false;  // a queuing error: EXEC answers EXECABORT
  std::vector<Command> queued;
  // WATCH: key -> existed when watched (an expiry of an existing key breaks the watch)
  std::map<std::string, bool, std::less<>> watched;
  bool watch_broken = false;
  // Set by QUIT (and protocol errors): close after the pending replies are written.
  bool close_after_reply = false;
  // Figures the connection layer keeps current, for CLIENT LIST/INFO.
  size_t qbuf = 0, obuf = 0;
};

class Dispatcher {
 public:
  explicit Dispatcher(const ServerOptions& options, const ServerStats* stats);

  void AddClient(ClientState* c);
  void RemoveClient(ClientState* c);
  // Runs one command of client `c` and appends its reply to `w` (w.proto() == c->proto
  // except right after HELLO, which switches it: the caller re-reads c->proto).
  void Execute(ClientState* c, Command& argv, std::string* out);
  // Any thread (Server::Stats reads it while the server thread counts).
  int64_t commands_processed() const { return commands_processed_.load(std::memory_order_relaxed); }
  // The port the server listens on, for INFO and CLIENT LIST.
  void set_port(int port) { port_ = port; }

 private:
  using Out = RespWriter;
  void Dispatch(ClientState* c, Command& argv, Out& w, bool in_exec);
  void Forward(const Command& argv, Out& w, const CommandSpec* spec);
  // SCRIPT LOAD of `body` on the backend's Lua engine: its compile or shebang error, or Ok
  // (also when the backend has no engine).
  Status LoadOnBackend(const std::string& body);
  void WriteBackendReply(const Result<Reply>& r, Out& w, std::string_view cmd, const Command& argv);
  void Touch(const CommandSpec& spec, const Command& argv);
  void TouchAll();
  void Unwatch(ClientState* c);

  // Writes an error the server itself answers, counting it for INFO errorstats/stats.
  void Err(Out& w, std::string_view text);
  std::string MergeErrorStats(std::string store_info) const;

  // Commands.
  void Hello(ClientState* c, Command& argv, Out& w);
  void Auth(ClientState* c, const Command& argv, Out& w);
  void Client(ClientState* c, const Command& argv, Out& w);
  void CommandCmd(const Command& argv, Out& w);
  void Info(const Command& argv, Out& w);
  void Config(const Command& argv, Out& w);
  void Exec(ClientState* c, Out& w);
  void Watch(ClientState* c, const Command& argv, Out& w);
  void Eval(const Command& argv, Out& w, const CommandSpec& spec);
  void ScriptCmd(const Command& argv, Out& w);
  void Clock(const Command& argv, Out& w);
  // Cluster mode (dispatcher_cluster.cc).
  void ClusterCmd(const Command& argv, Out& w);
  void WriteClusterReply(const Reply& reply, Out& w, std::string_view sub);
  // The error a command queued inside MULTI (or WATCH) gets on this node (CROSSSLOT, MOVED), or "".
  std::string ClusterQueueError(const CommandSpec& spec, const Command& argv) const;
  // EXEC on a cluster node: the keys the transaction declares to the node's Eval (the queued
  // commands' keys and the watched keys of their slot) in *keys; the watched keys of other
  // slots, checked before the transaction, removed from *watched. false after writing EXEC's
  // reply itself (CROSSSLOT, MOVED, or a nil array for an expired watched key).
  bool ClusterExecKeys(ClientState* c, const std::vector<Command>& cmds,
                       std::vector<std::pair<bool, std::string>>* watched,
                       std::vector<std::string>* keys, Out& w);
  std::string ClientLine(const ClientState& c) const;
  void WriteDocs(const CommandSpec& spec, Out& w) const;

  const ServerOptions& options_;
  const ServerStats* stats_;
  const CommandTable& table_;
  std::vector<char> local_;  // by CommandSpec::id: 1 for the commands Dispatch answers itself
  std::map<uint64_t, ClientState*> clients_;
  std::unordered_map<std::string, std::set<ClientState*>> watchers_;
  std::map<std::string, std::string> scripts_;  // SHA-1 -> text: SCRIPT LOAD and EVAL
  // Written by the server thread only (a relaxed load and store, no read-modify-write), read by
  // any thread.
  std::atomic<int64_t> commands_processed_{0};
  std::map<std::string, int64_t> own_errors_;  // error prefix -> count (server-made errors)
  int port_ = -1;
  int64_t start_ms_ = 0;
};

}  // namespace stormkv::server

#endif  // STORMKV_SERVER_DISPATCHER_H_
