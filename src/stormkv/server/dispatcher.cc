#include "stormkv/server/dispatcher.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <string>
#include <utility>

#include "stormkv/script.h"
#include "stormkv/server/dispatch_text.h"

namespace stormkv::server {
namespace {

using text::ErrorText;
using text::IEq;
using text::Lower;
using text::ParseInt;
using text::Upper;

constexpr const char* kVersion = "7.0.15";

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Redis's unknown-command text: the name and the first arguments, at most 128 bytes of them.
std::string UnknownCommand(const Command& argv) {
  std::string args;
  for (size_t i = 1; i < argv.size() && args.size() < 128; ++i) {
    args += "'" + argv[i].substr(0, 128 - args.size()) + "' ";
  }
  return "ERR unknown command '" + argv[0].substr(0, 128) + "', with args beginning with: " + args;
}

std::string UnknownSubcommand(const Command& argv) {
  return "ERR unknown subcommand '" + argv[1].substr(0, 128) + "'. Try " + Upper(argv[0]) + " HELP.";
}

std::string WrongArity(std::string_view name) {
  return "ERR wrong number of arguments for '" + Lower(name) + "' command";
}

bool MatchGlob(std::string_view pat, std::string_view s) {
  // '*' and '?' only: enough for CONFIG GET patterns.
  size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && (pat[p] == '?' || std::tolower(pat[p]) == std::tolower(s[i]))) {
      ++p; ++i;
    } else if (p < pat.size() && pat[p] == '*') {
      star = p++; mark = i;
    } else if (star != std::string_view::npos) {
      p = star + 1; i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

void WriteAsMap(const Reply& r, RespWriter& w) {
  const auto& e = r.elements();
  w.MapHeader(e.size() / 2);
  for (const Reply& x : e) w.Write(x);
}

}  // namespace

Dispatcher::Dispatcher(const ServerOptions& options, const ServerStats* stats)
    : options_(options), stats_(stats), table_(CommandTable::Get()), start_ms_(WallMs()) {
  // The commands Dispatch answers itself (the rest go straight to the backend).
  local_.assign(table_.all().size(), 0);
  for (const char* name : {"ping", "echo", "quit", "reset", "hello", "auth", "select", "client", "command",
                           "info", "config", "multi", "exec", "discard", "watch", "unwatch", "function",
                           "cluster", "eval", "evalsha", "eval_ro", "evalsha_ro", "script", "stormkv.clock",
                           "stormkv.memory", "readonly", "readwrite"}) {
    if (const CommandSpec* spec = table_.Find(name)) local_[static_cast<size_t>(spec->id)] = 1;
  }
}

void Dispatcher::Err(Out& w, std::string_view text) {
  size_t sp = text.find(' ');
  ++own_errors_[std::string(text.substr(0, sp))];
  w.Error(text);
}

// Adds the server's own error counts to the backend's INFO text (errorstat_<P>:count=N lines and
// total_error_replies), so INFO counts every error a client received.
std::string Dispatcher::MergeErrorStats(std::string info) const {
  int64_t total = 0;
  for (const auto& [prefix, n] : own_errors_) {
    total += n;
    std::string key = "errorstat_" + prefix + ":count=";
    size_t pos = info.find(key);
    if (pos != std::string::npos) {
      size_t start = pos + key.size();
      size_t end = info.find_first_not_of("0123456789", start);
      int64_t v = std::strtoll(info.c_str() + start, nullptr, 10) + n;
      info.replace(start, end - start, std::to_string(v));
    } else {
      size_t sec = info.find("# Errorstats\r\n");
      if (sec != std::string::npos) info.insert(sec + 14, key + std::to_string(n) + "\r\n");
    }
  }
  const std::string tk = "total_error_replies:";
  size_t pos = info.find(tk);
  if (pos != std::string::npos && total > 0) {
    size_t start = pos + tk.size();
    size_t end = info.find_first_not_of("0123456789", start);
    int64_t v = std::strtoll(info.c_str() + start, nullptr, 10) + total;
    info.replace(start, end - start, std::to_string(v));
  }
  return info;
}

void Dispatcher::AddClient(ClientState* c) {
  c->authed = options_.requirepass.empty();
  c->created_ms = c->last_ms = WallMs();
  clients_[c->id] = c;
}

void Dispatcher::RemoveClient(ClientState* c) {
  Unwatch(c);
  clients_.erase(c->id);
}

void Dispatcher::Unwatch(ClientState* c) {
  for (const auto& [key, existed] : c->watched) {
    auto it = watchers_.find(key);
    if (it == watchers_.end()) continue;
    it->second.erase(c);
    if (it->second.empty()) watchers_.erase(it);
  }
  c->watched.clear();
  c->watch_broken = false;
}

void Dispatcher::Touch(const CommandSpec& spec, const Command& argv) {
  if (watchers_.empty()) return;
  for (std::string_view k : CommandTable::Keys(spec, argv)) {
    auto it = watchers_.find(std::string(k));
    if (it == watchers_.end()) continue;
    for (ClientState* c : it->second) c->watch_broken = true;
  }
}

void Dispatcher::TouchAll() {
  for (auto& [key, set] : watchers_) {
    for (ClientState* c : set) c->watch_broken = true;
  }
}

void Dispatcher::Execute(ClientState* c, Command& argv, std::string* out) {
  commands_processed_.store(commands_processed_.load(std::memory_order_relaxed) + 1,
                            std::memory_order_relaxed);
  RespWriter w(out, c->proto);
  Dispatch(c, argv, w, false);
}

void Dispatcher::Dispatch(ClientState* c, Command& argv, Out& w, bool in_exec) {
  const std::string& name = argv[0];
  const CommandSpec* spec = table_.Find(name);
  if (!c->authed && !(spec && (spec->name == "auth" || spec->name == "hello" || spec->name == "quit" ||
                               spec->name == "reset"))) {
    Err(w, "NOAUTH Authentication required.");
    return;
  }
  if (spec) c->last_cmd = spec->name;
  if (spec && !ArityOk(spec->arity, argv.size())) {
    if (c->in_multi) c->multi_dirty = true;
    Err(w, WrongArity(name));
    return;
  }
  if (spec && !spec->subcommands.empty() && argv.size() >= 2) {
    auto sub = spec->subcommands.find(Lower(argv[1]));
    if (sub == spec->subcommands.end()) {
      if (c->in_multi) c->multi_dirty = true;
      Err(w, UnknownSubcommand(argv));
      return;
    }
    if (!ArityOk(sub->second.arity, argv.size())) {
      if (c->in_multi) c->multi_dirty = true;
      Err(w, "ERR wrong number of arguments for '" + Lower(argv[0]) + "|" + Lower(argv[1]) + "' command");
      return;
    }
    c->last_cmd = sub->second.name;
  }
  const std::string_view sname = spec ? std::string_view(spec->name) : std::string_view();

  // Transactions: queue everything but the transaction commands themselves.
  if (c->in_multi && !in_exec) {
    if (sname == "exec") return Exec(c, w);
    if (sname == "discard") {
      c->in_multi = false;
      c->queued.clear();
      c->multi_dirty = false;
      Unwatch(c);
      return w.Status("OK");
    }
    if (sname == "multi") return Err(w, "ERR MULTI calls can not be nested");
    if (sname == "watch") return Err(w, "ERR WATCH inside MULTI is not allowed");
    if (sname == "quit" || sname == "reset") {
      // executed at once, as Redis does
    } else if (!spec) {
      c->multi_dirty = true;
      return Err(w, UnknownCommand(argv));
    } else {
      if (options_.cluster.enabled) {
        std::string refused = ClusterQueueError(*spec, argv);
        if (!refused.empty()) {
          c->multi_dirty = true;
          return Err(w, refused);
        }
      }
      c->queued.push_back(std::move(argv));
      return w.Status("QUEUED");
    }
  }
  if (!spec) {
    // Unknown to the server: the backend answers (its own unknown-command text).
    // (its errorstats count it).
    return WriteBackendReply(options_.backend->Run(argv), w, "", argv);
  }
  if (!local_[static_cast<size_t>(spec->id)]) return Forward(argv, w, spec);  // the keyspace: no name chain below

  if (sname == "ping") {
    if (argv.size() > 2) return Err(w, WrongArity("ping"));
    return argv.size() == 2 ? w.Bulk(argv[1]) : w.Status("PONG");
  }
  if (sname == "echo") return w.Bulk(argv[1]);
  if (sname == "quit") {
    c->close_after_reply = true;
    return w.Status("OK");
  }
  if (sname == "reset") {
    c->in_multi = false;
    c->queued.clear();
    c->multi_dirty = false;
    Unwatch(c);
    c->proto = 2;
    c->name.clear();
    c->authed = options_.requirepass.empty();
    return w.Status("RESET");
  }
  if (sname == "hello") return Hello(c, argv, w);
  if (sname == "auth") return Auth(c, argv, w);
  if (sname == "select") {
    int64_t db = 0;
    if (!ParseInt(argv[1], &db)) return Err(w, "ERR value is not an integer or out of range");
    if (db != 0 && options_.cluster.enabled) return Err(w, "ERR SELECT is not allowed in cluster mode");
    if (db != 0) return Err(w, "ERR DB index is out of range");
    return w.Status("OK");
  }
  if (sname == "client") return Client(c, argv, w);
  if (sname == "command") return CommandCmd(argv, w);
  if (sname == "info") return Info(argv, w);
  if (sname == "config") return Config(argv, w);
  if (sname == "multi") {
    c->in_multi = true;
    c->multi_dirty = false;
    c->queued.clear();
    return w.Status("OK");
  }
  if (sname == "exec") return Err(w, "ERR EXEC without MULTI");
  if (sname == "discard") return Err(w, "ERR DISCARD without MULTI");
  if (sname == "watch") return Watch(c, argv, w);
  if (sname == "unwatch") {
    Unwatch(c);
    return w.Status("OK");
  }
  if (sname == "function") {
    if (IEq(argv[1], "flush")) return w.Status("OK");
    return w.Status("FUNCTION <subcommand> [<arg> ...]: stormkv serve keeps no functions; FLUSH answers OK.");
  }
  if (sname == "cluster") return ClusterCmd(argv, w);
  if (sname == "readonly" || sname == "readwrite") {
    // No replicas to read from: the flag changes nothing.
    if (!options_.cluster.enabled) return Err(w, "ERR This instance has cluster support disabled");
    return w.Status("OK");
  }
  if (sname == "eval" || sname == "evalsha" || sname == "eval_ro" || sname == "evalsha_ro") {
    return Eval(argv, w, *spec);
  }
  if (sname == "script") return ScriptCmd(argv, w);
  if (sname == "stormkv.clock") return Clock(argv, w);
  if (sname == "stormkv.memory") {
    if (!options_.memory_report) return Err(w, "ERR STORMKV.MEMORY is not available on this server");
    Result<std::string> text = options_.memory_report(*options_.backend);
    if (!text.ok()) return w.Error(ErrorText(text.status()));
    return w.Verbatim(*text);
  }
  Forward(argv, w, spec);
}

void Dispatcher::Forward(const Command& argv, Out& w, const CommandSpec* spec) {
  Result<Reply> r = options_.backend->Run(argv);
  if (spec && spec->write && r.ok() && !watchers_.empty()) {  // no WATCH: nothing to break
    if (spec->name == "flushdb" || spec->name == "flushall") {
      TouchAll();
    } else {
      Touch(*spec, argv);
    }
  }
  WriteBackendReply(r, w, spec ? spec->name : "", argv);
}

void Dispatcher::WriteBackendReply(const Result<Reply>& r, Out& w, std::string_view cmd,
                                   const Command& argv) {
  if (!r.ok()) return w.Error(ErrorText(r.status()));
  const Reply& reply = *r;
  if (w.proto() == 3 && reply.is_array()) {
    if (cmd == "hgetall" || (cmd == "config" && argv.size() > 1 && IEq(argv[1], "get")) ||
        (cmd == "memory" && argv.size() > 1 && IEq(argv[1], "stats"))) {
      return WriteAsMap(reply, w);
    }
    if (cmd == "smembers") {
      w.SetHeader(reply.elements().size());
      for (const Reply& e : reply.elements()) w.Write(e);
      return;
    }
    if (cmd == "zrangebyscore" && reply.elements().size() % 2 == 0) {
      bool withscores = false;
      for (size_t i = 4; i < argv.size(); ++i) withscores |= IEq(argv[i], "withscores");
      if (withscores) {
        w.ArrayHeader(reply.elements().size() / 2);
        for (size_t i = 0; i + 1 < reply.elements().size(); i += 2) {
          w.ArrayHeader(2);
          w.Write(reply.elements()[i]);
          w.Double(std::strtod(reply.elements()[i + 1].str().c_str(), nullptr));
        }
        return;
      }
    }
  }
  if (w.proto() == 3 && cmd == "zscore" && reply.is_bulk()) {
    return w.Double(std::strtod(reply.str().c_str(), nullptr));
  }
  if (w.proto() == 3 && cmd == "info" && reply.is_bulk()) return w.Verbatim(reply.str());
  w.Write(reply);
}

void Dispatcher::Hello(ClientState* c, Command& argv, Out& w) {
  int proto = c->proto;
  size_t i = 1;
  if (argv.size() >= 2) {
    int64_t v = 0;
    if (!ParseInt(argv[1], &v)) {
      return Err(w, "ERR Protocol version is not an integer or out of range");
    }
    if (v != 2 && v != 3) return Err(w, "NOPROTO unsupported protocol version");
    proto = static_cast<int>(v);
    i = 2;
  }
  std::string setname;
  bool have_name = false;
  for (; i < argv.size(); ++i) {
    if (IEq(argv[i], "auth") && i + 2 < argv.size()) {
      const std::string& user = argv[i + 1];
      const std::string& pass = argv[i + 2];
      bool ok = user == "default" && (options_.requirepass.empty() || pass == options_.requirepass);
      if (options_.requirepass.empty() && user == "default") ok = true;
      if (!ok) return Err(w, "WRONGPASS invalid username-password pair or user is disabled.");
      c->authed = true;
      i += 2;
    } else if (IEq(argv[i], "setname") && i + 1 < argv.size()) {
      setname = argv[i + 1];
      have_name = true;
      ++i;
    } else {
      return Err(w, "ERR Syntax error in HELLO option '" + argv[i] + "'");
    }
  }
  if (!c->authed) {
    return Err(w, 
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
        "AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
        "protocol version at the same time");
  }
  if (have_name) {
    for (char ch : setname) {
      if (ch < '!' || ch > '~') {
        return Err(w, "ERR Client names cannot contain spaces, newlines or special characters.");
      }
    }
    c->name = setname;
  }
  c->proto = proto;
  // The reply is written in the new protocol.
  RespWriter hw(w.buffer(), proto);
  hw.MapHeader(7);
  hw.Bulk("server"); hw.Bulk("redis");
  hw.Bulk("version"); hw.Bulk(kVersion);
  hw.Bulk("proto"); hw.Integer(proto);
  hw.Bulk("id"); hw.Integer(static_cast<int64_t>(c->id));
  hw.Bulk("mode"); hw.Bulk(options_.cluster.enabled ? "cluster" : "standalone");
  hw.Bulk("role"); hw.Bulk("master");
  hw.Bulk("modules"); hw.ArrayHeader(0);
}

void Dispatcher::Auth(ClientState* c, const Command& argv, Out& w) {
  if (argv.size() > 3) return Err(w, "ERR syntax error");
  if (argv.size() == 2 && options_.requirepass.empty()) {
    return Err(w, 
        "ERR AUTH <password> called without any password configured for the default user. Are "
        "you sure your configuration is correct?");
  }
  const std::string& user = argv.size() == 3 ? argv[1] : std::string("default");
  const std::string& pass = argv.back();
  if (user != "default" || (!options_.requirepass.empty() && pass != options_.requirepass)) {
    return Err(w, "WRONGPASS invalid username-password pair or user is disabled.");
  }
  c->authed = true;
  w.Status("OK");
}

std::string Dispatcher::ClientLine(const ClientState& c) const {
  int64_t now = WallMs();
  std::string flags = c.in_multi ? "x" : "N";
  return "id=" + std::to_string(c.id) + " addr=" + c.addr + " laddr=" + c.laddr +
         " fd=" + std::to_string(c.fd) + " name=" + c.name +
         " age=" + std::to_string((now - c.created_ms) / 1000) +
         " idle=" + std::to_string((now - c.last_ms) / 1000) + " flags=" + flags +
         " db=0 sub=0 psub=0 ssub=0 multi=" + (c.in_multi ? std::to_string(c.queued.size()) : "-1") +
         " qbuf=" + std::to_string(c.qbuf) + " qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0" +
         " obl=0 oll=0 omem=" + std::to_string(c.obuf) + " tot-mem=0 events=r cmd=" + std::string(c.last_cmd) +
         " user=default redir=-1 resp=" + std::to_string(c.proto) + " lib-name=" + c.lib_name +
         " lib-ver=" + c.lib_ver + "\n";
}

void Dispatcher::Client(ClientState* c, const Command& argv, Out& w) {
  std::string sub = Lower(argv[1]);
  if (sub == "id") return w.Integer(static_cast<int64_t>(c->id));
  if (sub == "getname") return c->name.empty() ? w.Nil() : w.Bulk(c->name);
  if (sub == "setname") {
    for (char ch : argv[2]) {
      if (ch < '!' || ch > '~') {
        return Err(w, "ERR Client names cannot contain spaces, newlines or special characters.");
      }
    }
    c->name = argv[2];
    return w.Status("OK");
  }
  if (sub == "setinfo") {
    std::string attr = Lower(argv[2]);
    if (attr == "lib-name") {
      c->lib_name = argv[3];
    } else if (attr == "lib-ver") {
      c->lib_ver = argv[3];
    } else {
      return Err(w, "ERR Unrecognized option '" + argv[2] + "'");
    }
    return w.Status("OK");
  }
  if (sub == "info") return w.Verbatim(ClientLine(*c));
  if (sub == "list") {
    std::string text;
    for (const auto& [id, other] : clients_) text += ClientLine(*other);
    return w.Verbatim(text);
  }
  if (sub == "help") {
    w.ArrayHeader(7);
    w.Status("CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    w.Status("ID");
    w.Status("GETNAME");
    w.Status("SETNAME <name>");
    w.Status("SETINFO <LIB-NAME|LIB-VER> <value>");
    w.Status("LIST");
    w.Status("INFO");
    return;
  }
  Err(w, UnknownSubcommand(argv));
}

void Dispatcher::WriteDocs(const CommandSpec& spec, Out& w) const {
  size_t n = 4 + (spec.subcommands.empty() ? 0 : 1);
  w.MapHeader(n);
  w.Bulk("summary"); w.Bulk(spec.summary);
  w.Bulk("since"); w.Bulk(spec.since);
  w.Bulk("group"); w.Bulk(spec.group);
  w.Bulk("complexity"); w.Bulk(spec.complexity);
  if (!spec.subcommands.empty()) {
    w.Bulk("subcommands");
    w.MapHeader(spec.subcommands.size());
    for (const auto& [k, s] : spec.subcommands) {
      w.Bulk(s.name);
      WriteDocs(s, w);
    }
  }
}

void Dispatcher::CommandCmd(const Command& argv, Out& w) {
  const auto& all = table_.all();
  if (argv.size() == 1) {
    w.ArrayHeader(all.size());
    for (const auto& [name, spec] : all) spec.info.WriteTo(w);
    return;
  }
  std::string sub = Lower(argv[1]);
  if (sub == "count") return w.Integer(static_cast<int64_t>(all.size()));
  if (sub == "list") {
    w.ArrayHeader(all.size());
    for (const auto& [name, spec] : all) w.Bulk(name);
    return;
  }
  if (sub == "info") {
    if (argv.size() == 2) {
      w.ArrayHeader(all.size());
      for (const auto& [name, spec] : all) spec.info.WriteTo(w);
      return;
    }
    w.ArrayHeader(argv.size() - 2);
    for (size_t i = 2; i < argv.size(); ++i) {
      const CommandSpec* s = table_.Find(argv[i]);
      if (s) {
        s->info.WriteTo(w);
      } else {
        w.NilArray();
      }
    }
    return;
  }
  if (sub == "docs") {
    std::vector<const CommandSpec*> specs;
    if (argv.size() == 2) {
      for (const auto& [name, spec] : all) specs.push_back(&spec);
    } else {
      for (size_t i = 2; i < argv.size(); ++i) {
        if (const CommandSpec* s = table_.Find(argv[i])) specs.push_back(s);
      }
    }
    w.MapHeader(specs.size());
    for (const CommandSpec* s : specs) {
      w.Bulk(s->name);
      WriteDocs(*s, w);
    }
    return;
  }
  if (sub == "getkeys") {
    Command rest(argv.begin() + 2, argv.end());
    const CommandSpec* s = table_.Find(rest[0]);
    if (!s) return Err(w, "ERR Invalid command specified");
    if (!ArityOk(s->arity, rest.size())) return Err(w, "ERR Invalid number of arguments specified for command");
    std::vector<std::string_view> keys = CommandTable::Keys(*s, rest);
    if (keys.empty()) return Err(w, "ERR The command has no key arguments");
    w.ArrayHeader(keys.size());
    for (std::string_view k : keys) w.Bulk(k);
    return;
  }
  if (sub == "help") {
    w.ArrayHeader(2);
    w.Status("COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    w.Status("(no subcommand) | COUNT | INFO [<command-name> ...] | DOCS [<command-name> ...] | LIST | GETKEYS <full-command>");
    return;
  }
  Err(w, UnknownSubcommand(argv));
}

void Dispatcher::Info(const Command& argv, Out& w) {
  std::string section = argv.size() > 1 ? Lower(argv[1]) : "default";
  bool all = section == "all" || section == "everything" || section == "default";
  std::string text;
  Command store_cmd = {"INFO"};
  if (section == "server" || all) {
    text += "# Server\r\nredis_version:" + std::string(kVersion) + "\r\nredis_mode:" +
            (options_.cluster.enabled ? "cluster" : "standalone") + "\r\nos:Linux\r\narch_bits:64\r\nmultiplexing_api:epoll"
            "\r\nprocess_id:" + std::to_string(::getpid()) +
            "\r\ntcp_port:" + std::to_string(port_) +
            "\r\nuptime_in_seconds:" + std::to_string((WallMs() - start_ms_) / 1000) +
            "\r\nexecutable:stormkv\r\nstormkv_backend:" + options_.backend->Describe() + "\r\n\r\n";
  }
  if (section == "clients" || all) {
    text += "# Clients\r\nconnected_clients:" + std::to_string(clients_.size()) +
            "\r\nmaxclients:" + std::to_string(options_.maxclients) +
            "\r\nblocked_clients:0\r\ntracking_clients:0\r\n\r\n";
  }
  const std::string cluster_text =
      std::string("# Cluster\r\ncluster_enabled:") + (options_.cluster.enabled ? "1" : "0") + "\r\n\r\n";
  if (section == "cluster") text += cluster_text;
  if (section != "server" && section != "clients" && section != "cluster") {
    // The backend's sections (memory, stats, keyspace, errorstats, ...); its own "server"
    // section is replaced by ours above.
    if (argv.size() > 1) store_cmd.push_back(argv[1]);
    Result<Reply> r = options_.backend->Run(store_cmd);
    if (!r.ok()) return w.Error(ErrorText(r.status()));
    std::string store = MergeErrorStats(r->str());
    if (all) {
      size_t pos = store.find("# Server\r\n");
      if (pos != std::string::npos) {
        size_t end = store.find("\r\n\r\n", pos);
        store.erase(pos, end == std::string::npos ? std::string::npos : end + 4 - pos);
      }
    }
    if (section == "stats" || all) {
      std::string add = "total_connections_received:" +
                        std::to_string(stats_->total_connections_received) +
                        "\r\nrejected_connections:" + std::to_string(stats_->rejected_connections) +
                        "\r\ntotal_commands_processed:" + std::to_string(commands_processed()) + "\r\n";
      size_t pos = store.find("# Stats\r\n");
      if (pos != std::string::npos) store.insert(pos + 9, add);
    }
    if (all) {
      // Redis's order: ... Errorstats, Cluster, Keyspace.
      size_t pos = store.find("# Keyspace\r\n");
      if (pos != std::string::npos) {
        store.insert(pos, cluster_text);
      } else {
        store += (store.empty() ? "" : "\r\n") + cluster_text;
      }
    }
    text += store;
  }
  while (text.size() >= 2 && text.compare(text.size() - 2, 2, "\r\n") == 0) text.resize(text.size() - 2);
  text += "\r\n";
  w.proto() == 3 ? w.Verbatim(text) : w.Bulk(text);
}

void Dispatcher::Config(const Command& argv, Out& w) {
  std::string sub = Lower(argv[1]);
  // Parameters the server itself owns (read-only here).
  const std::pair<const char*, std::string> own[] = {
      {"databases", "1"},
      {"maxclients", std::to_string(options_.maxclients)},
      {"port", std::to_string(port_)},
      {"bind", options_.bind},
      {"requirepass", options_.requirepass},
      {"proto-max-bulk-len", std::to_string(options_.proto_max_bulk_len)},
      {"client-query-buffer-limit", std::to_string(options_.client_query_buffer_limit)},
      {"cluster-enabled", options_.cluster.enabled ? "yes" : "no"},
      {"appendonly", "no"},
      {"save", ""},
  };
  if (sub == "get") {
    Result<Reply> r = options_.backend->Run(argv);
    if (!r.ok()) return w.Error(ErrorText(r.status()));
    std::vector<Reply> pairs = r->elements();
    for (const auto& [name, value] : own) {
      bool match = false;
      for (size_t i = 2; i < argv.size(); ++i) match |= MatchGlob(argv[i], name);
      bool present = false;
      for (size_t i = 0; i + 1 < pairs.size(); i += 2) present |= pairs[i].str() == name;
      if (match && !present) {
        pairs.push_back(Reply::Bulk(name));
        pairs.push_back(Reply::Bulk(value));
      }
    }
    return WriteBackendReply(Reply::Array(std::move(pairs)), w, "config", argv);
  }
  if (sub == "set") {
    for (size_t i = 2; i + 1 < argv.size(); i += 2) {
      for (const auto& [name, value] : own) {
        if (IEq(argv[i], name)) {
          return Err(w, "ERR CONFIG SET failed (possibly related to argument '" + Lower(argv[i]) +
                         "') - stormkv serve takes this parameter on its command line only");
        }
      }
    }
    return Forward(argv, w, table_.Find("config"));
  }
  if (sub == "resetstat") {
    Result<Reply> r = options_.backend->Run(argv);
    if (!r.ok() && r.status().message().find("unknown subcommand") != std::string::npos) {
      return w.Status("OK");  // a backend without statistics to reset
    }
    return WriteBackendReply(r, w, "config", argv);
  }
  Forward(argv, w, table_.Find("config"));
}

void Dispatcher::Watch(ClientState* c, const Command& argv, Out& w) {
  if (options_.cluster.enabled) {
    // A cluster node watches only keys of one of its slots (CROSSSLOT / MOVED otherwise).
    std::string refused = ClusterQueueError(*table_.Find("watch"), argv);
    if (!refused.empty()) return Err(w, refused);
  }
  for (size_t i = 1; i < argv.size(); ++i) {
    if (c->watched.count(argv[i])) continue;
    Result<Reply> r = options_.backend->Run({"EXISTS", argv[i]});
    if (!r.ok()) return w.Error(ErrorText(r.status()));
    c->watched.emplace(argv[i], r->integer() > 0);
    watchers_[argv[i]].insert(c);
  }
  w.Status("OK");
}

}  // namespace stormkv::server
