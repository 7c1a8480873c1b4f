// The dispatcher's transactions (EXEC), scripting (EVAL*, SCRIPT) and clock commands.
#include <cctype>
#include <charconv>
#include <string>

#include "stormkv/script.h"
#include "stormkv/server/dispatch_text.h"
#include "stormkv/server/dispatcher.h"

namespace stormkv::server {
namespace {

using text::ErrorText;
using text::Lower;
using text::ParseInt;

// Registered scripts by SHA-1 (the registry grows as services register on first use).
const Script* FindBySha(std::string_view sha) {
  std::string lower = Lower(sha);
  for (const Script* s : ScriptRegistry::Global().All()) {
    if (s->sha1() == lower) return s;
  }
  return nullptr;
}

// Commands the server answers itself without the backend: safe to run inside EXEC.
bool IsLocal(std::string_view name) {
  return name == "ping" || name == "echo" || name == "select" || name == "client" ||
         name == "command" || name == "function" || name == "cluster" || name == "hello" ||
         name == "auth";
}

// The queued commands of one EXEC, run inside the backend's atomic section.
struct ExecBatch {
  std::vector<Command>* cmds;
  std::vector<std::pair<bool, std::string>>* watched;  // (existed, key)
  bool aborted = false;
  std::vector<Result<Reply>> results;
  std::vector<bool> local;  // answered by the server (results[i] unused)
};

thread_local ExecBatch* current_batch = nullptr;

const Script& ExecScript() {
  static const Script& s = ScriptRegistry::Global().Register(Script(
      "stormkv.serve.exec",
      "return redis.error_reply('stormkv serve runs MULTI/EXEC natively')",
      [](ScriptContext& ctx, const std::vector<std::string>&, const std::vector<std::string>&)
          -> Result<Reply> {
        ExecBatch* b = current_batch;
        // A watched key that existed when watched and is gone now expired or was evicted.
        for (const auto& [existed, key] : *b->watched) {
          if (!existed) continue;
          Result<Reply> r = ctx.Call({"EXISTS", key});
          if (r.ok() && r->is_integer() && r->integer() == 0) {
            b->aborted = true;
            return Reply::Nil();
          }
        }
        const CommandTable& table = CommandTable::Get();
        for (Command& argv : *b->cmds) {
          const CommandSpec* spec = table.Find(argv[0]);
          std::string name = spec ? spec->name : "";
          if (IsLocal(name)) {
            b->results.emplace_back(Reply::Nil());
            b->local.push_back(true);
            continue;
          }
          b->local.push_back(false);
          if ((name == "eval" || name == "evalsha" || name == "eval_ro" || name == "evalsha_ro") &&
              argv.size() >= 3) {
            const Script* s = name.rfind("evalsha", 0) == 0 ? FindBySha(argv[1])
                                                            : FindBySha(Sha1Hex(argv[1]));
            int64_t n = 0;
            if (s && s->native_twin() && ParseInt(argv[2], &n) && n >= 0 &&
                static_cast<size_t>(n) + 3 <= argv.size()) {
              std::vector<std::string> keys(argv.begin() + 3, argv.begin() + 3 + n);
              std::vector<std::string> args(argv.begin() + 3 + n, argv.end());
              b->results.push_back(s->native_twin()(ctx, keys, args));
              continue;
            }
          }
          b->results.push_back(ctx.Call(argv));
        }
        return Reply::Ok();
      },
      false));
  return s;
}

}  // namespace

void Dispatcher::Exec(ClientState* c, Out& w) {
  c->in_multi = false;
  std::vector<Command> cmds = std::move(c->queued);
  c->queued.clear();
  if (c->multi_dirty) {
    c->multi_dirty = false;
    Unwatch(c);
    return Err(w, "EXECABORT Transaction discarded because of previous errors.");
  }
  if (c->watch_broken) {
    Unwatch(c);
    return w.NilArray();
  }
  std::vector<std::pair<bool, std::string>> watched;
  for (const auto& [key, existed] : c->watched) watched.emplace_back(existed, key);
  std::vector<std::string> keys;  // declared to the backend's Eval: a cluster node checks them
  if (options_.cluster.enabled && !ClusterExecKeys(c, cmds, &watched, &keys, w)) return;
  ExecBatch batch;
  batch.cmds = &cmds;
  batch.watched = &watched;
  current_batch = &batch;
  Result<Reply> r = options_.backend->Eval(ExecScript(), keys, {});
  current_batch = nullptr;
  Unwatch(c);
  if (!r.ok() && batch.results.empty()) return w.Error(ErrorText(r.status()));
  if (batch.aborted) return w.NilArray();
  const CommandTable& table = table_;
  w.ArrayHeader(cmds.size());
  for (size_t i = 0; i < cmds.size(); ++i) {
    const CommandSpec* spec = table.Find(cmds[i][0]);
    if (i >= batch.results.size()) {
      w.Error(ErrorText(r.status()));
      continue;
    }
    if (batch.local[i]) {
      Dispatch(c, cmds[i], w, true);
      continue;
    }
    if (spec && spec->write && batch.results[i].ok()) {
      if (spec->name == "flushdb" || spec->name == "flushall") {
        TouchAll();
      } else {
        Touch(*spec, cmds[i]);
      }
    } else if (spec && spec->movablekeys && batch.results[i].ok()) {
      Touch(*spec, cmds[i]);
    }
    WriteBackendReply(batch.results[i], w, spec ? spec->name : "", cmds[i]);
  }
}

void Dispatcher::Eval(const Command& argv, Out& w, const CommandSpec& spec) {
  int64_t numkeys = 0;
  if (!ParseInt(argv[2], &numkeys)) return Err(w, "ERR value is not an integer or out of range");
  if (numkeys < 0) return Err(w, "ERR Number of keys can't be negative");
  if (static_cast<size_t>(numkeys) > argv.size() - 3) {
    return Err(w, "ERR Number of keys can't be greater than number of args");
  }
  bool by_sha = spec.name == "evalsha" || spec.name == "evalsha_ro";
  const Script* script = nullptr;
  std::string sha = by_sha ? Lower(argv[1]) : Sha1Hex(argv[1]);
  if (by_sha) {
    auto it = scripts_.find(sha);
    if (it == scripts_.end()) {
      // Not loaded through this server: the backend's own script cache may know it.
      Result<Reply> r = options_.backend->Run(argv);
      if (!r.ok() && r.status().message().rfind("ERR unknown command", 0) == 0) {
        return Err(w, "NOSCRIPT No matching script. Please use EVAL.");  // a backend without Lua
      }
      if (r.ok()) Touch(spec, argv);
      return WriteBackendReply(r, w, spec.name, argv);
    }
  } else if (scripts_.count(sha) == 0) {
    // EVAL caches the script once it compiled, as Redis does: the backend's engine compiles it
    // (its error is EVAL's: a compile or shebang error caches nothing).
    Status loaded = LoadOnBackend(argv[1]);
    if (!loaded.ok()) return w.Error(ErrorText(loaded));
    scripts_.emplace(sha, argv[1]);
  }
  script = FindBySha(sha);
  if (script && script->native_twin()) {
    std::vector<std::string> keys(argv.begin() + 3, argv.begin() + 3 + numkeys);
    std::vector<std::string> args(argv.begin() + 3 + numkeys, argv.end());
    Result<Reply> r = options_.backend->Eval(*script, keys, args);
    Touch(spec, argv);
    return WriteBackendReply(r, w, spec.name, argv);
  }
  // Any other script: the backend's Lua engine (EVAL of the text keeps its cache in step).
  Command eval = argv;
  if (by_sha) {
    eval[0] = spec.name == "evalsha_ro" ? "EVAL_RO" : "EVAL";
    eval[1] = scripts_[sha];
  }
  Result<Reply> r = options_.backend->Run(eval);
  Touch(spec, argv);
  WriteBackendReply(r, w, spec.name, argv);
}

Status Dispatcher::LoadOnBackend(const std::string& body) {
  Result<Reply> r = options_.backend->Run({"SCRIPT", "LOAD", body});
  if (r.ok()) return Status::Ok();
  // A backend without a Lua engine: the server keeps the text, registry twins still run.
  if (r.status().message().rfind("ERR unknown command", 0) == 0) return Status::Ok();
  return r.status();
}

void Dispatcher::ScriptCmd(const Command& argv, Out& w) {
  std::string sub = Lower(argv[1]);
  if (sub == "load") {
    Status loaded = LoadOnBackend(argv[2]);
    if (!loaded.ok()) return w.Error(ErrorText(loaded));
    std::string sha = Sha1Hex(argv[2]);
    scripts_.emplace(sha, argv[2]);
    return w.Bulk(sha);
  }
  if (sub == "exists") {
    w.ArrayHeader(argv.size() - 2);
    for (size_t i = 2; i < argv.size(); ++i) w.Integer(scripts_.count(Lower(argv[i])) ? 1 : 0);
    return;
  }
  if (sub == "flush") {
    if (argv.size() > 3 || (argv.size() == 3 && Lower(argv[2]) != "sync" && Lower(argv[2]) != "async")) {
      return Err(w, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    scripts_.clear();
    (void)options_.backend->Run({"SCRIPT", "FLUSH"});  // the backend's cache too, if it has one
    return w.Status("OK");
  }
  if (sub == "help") {
    w.ArrayHeader(4);
    w.Status("SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    w.Status("EXISTS <sha1> [<sha1> ...]");
    w.Status("FLUSH [ASYNC|SYNC]");
    w.Status("LOAD <script>");
    return;
  }
  Err(w, "ERR unknown subcommand '" + argv[1].substr(0, 128) + "'. Try SCRIPT HELP.");
}

void Dispatcher::Clock(const Command& argv, Out& w) {
  std::string sub = Lower(argv[1]);
  const ServerClock& clock = options_.clock;
  if (sub == "get" && argv.size() == 2) {
    return w.Integer(clock.now_ms ? clock.now_ms() : 0);
  }
  if ((sub == "set" || sub == "advance") && argv.size() == 3) {
    int64_t ms = 0;
    if (!ParseInt(argv[2], &ms)) return Err(w, "ERR value is not an integer or out of range");
    if (sub == "set") {
      if (!clock.set_ms) return Err(w, "ERR the clock is the system clock: start stormkv serve with --clock manual");
      clock.set_ms(ms);
    } else {
      if (!clock.advance) return Err(w, "ERR the clock is the system clock: start stormkv serve with --clock manual");
      if (ms < 0) return Err(w, "ERR ADVANCE takes a non-negative number of milliseconds");
      clock.advance(ms);
    }
    // Keys that are now due expire as in the in-process store: lazily on access and by the
    // active cycle, which the next command runs. Touching the store here runs that cycle now.
    (void)options_.backend->Run({"DBSIZE"});
    return w.Integer(clock.now_ms());
  }
  Err(w, "ERR STORMKV.CLOCK GET | SET <ms> | ADVANCE <ms>");
}

}  // namespace stormkv::server
