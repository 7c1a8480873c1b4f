// The cluster backend's RunBatch: one pipeline per master, redirected commands resent per slot
// in their original order.
#include <algorithm>
#include <functional>

#include "cluster_backend_impl.h"
#include "stormkv/script.h"

namespace stormkv::redis_internal {
namespace {

// One command still to be answered.
struct Todo {
  size_t index = 0;         // into the caller's batch
  RedisNode* node = nullptr;
  bool asking = false;
  int redirects = 0;
};

// The commands of one round that go to one node, in the caller's order.
struct Group {
  RedisNode* node = nullptr;
  std::vector<PipelineItem> items;
  std::vector<size_t> todo;  // positions in the round's todo list
};

// Where the resendable commands of one slot go next (decided by the slot's first one).
struct SlotDecision {
  int slot = 0;
  RedisNode* node = nullptr;  // nullptr: the slot's owner after this round's refresh
  bool asking = false;
};

}  // namespace

std::vector<Result<Reply>> ClusterBackend::RunBatch(const std::vector<Command>& cmds) {
  // Every entry is replaced by its command's reply or error below.
  std::vector<Result<Reply>> out(cmds.size(), Status::Internal("cluster batch: command not sent"));
  if (cmds.empty()) return out;
  BeforeCall();
  std::vector<size_t> segment;
  std::vector<int> slots(cmds.size(), 0);
  segment.reserve(cmds.size());
  for (size_t i = 0; i < cmds.size(); ++i) {
    if (cmds[i].empty()) {
      out[i] = Status::InvalidArgument("ERR empty command");
      continue;
    }
    CommandRoute route;
    Status routed = RouteCommand(cmds[i], &route);
    if (!routed.ok()) {
      crossslot_.fetch_add(1, std::memory_order_relaxed);
      out[i] = routed;
      continue;
    }
    if (route.kind == RouteKind::kFanOut) {
      // Keep the caller's order: what came before runs first.
      RunSegment(cmds, segment, slots, &out);
      segment.clear();
      out[i] = RunFanOut(route.fan_out, cmds[i]);
      continue;
    }
    slots[i] = route.slot;
    segment.push_back(i);
  }
  RunSegment(cmds, segment, slots, &out);
  return out;
}

std::vector<Result<Reply>> ClusterBackend::EvalBatch(const std::vector<ScriptCall>& calls) {
  std::vector<Result<Reply>> out(calls.size(), Status::Internal("cluster eval batch: not sent"));
  if (calls.empty()) return out;
  BeforeCall();
  std::vector<Command> cmds;
  std::vector<size_t> at;  // calls[at[k]] is cmds[k]
  cmds.reserve(calls.size());
  at.reserve(calls.size());
  // (node, script) pairs loaded by this batch: a linear search, batches hold few of each.
  std::vector<std::pair<RedisNode*, const Script*>> loaded;
  for (size_t i = 0; i < calls.size(); ++i) {
    const ScriptCall& c = calls[i];
    if (c.script == nullptr) {
      out[i] = Status::InvalidArgument("EvalBatch: call without a script");
      continue;
    }
    CommandRoute route;
    if (Status routed = RouteKeys(c.keys, &route); !routed.ok()) {
      crossslot_.fetch_add(1, std::memory_order_relaxed);
      out[i] = routed;
      continue;
    }
    if (RedisNode* node = SlotNode(route.slot); node != nullptr) {
      auto key = std::make_pair(node, c.script);
      if (std::find(loaded.begin(), loaded.end(), key) == loaded.end()) {
        loaded.push_back(key);
        // A failed load shows as NOSCRIPT (or the transport error) in the batch below.
        (void)node->EnsureLoaded(*c.script);
      }
    }
    cmds.push_back(EvalShaCommand(*c.script, c.keys, c.args));
    at.push_back(i);
  }
  std::vector<Result<Reply>> replies = RunBatch(cmds);
  for (size_t k = 0; k < at.size(); ++k) {
    const size_t i = at[k];
    if (!replies[k].ok() && IsNoScript(replies[k].status())) {
      // Not run (a master without the script: a flush, a failover): run it now, in order.
      out[i] = Eval(*calls[i].script, calls[i].keys, calls[i].args);
      continue;
    }
    out[i] = std::move(replies[k]);
  }
  return out;
}

void ClusterBackend::RunSegment(const std::vector<Command>& cmds, const std::vector<size_t>& idx,
                                const std::vector<int>& slots, std::vector<Result<Reply>>* out) {
  if (idx.empty()) return;
  // The generation is read before the map (see Route).
  uint64_t gen = generation_.load(std::memory_order_acquire);
  std::vector<Todo> todo;
  todo.reserve(idx.size());
  for (size_t i : idx) todo.push_back(Todo{i, SlotNode(slots[i]), false, 0});
  Backoff backoff(opts_);
  std::vector<Group> groups;
  std::vector<PendingPipeline> pending;
  std::vector<Result<Reply>> replies;
  while (!todo.empty()) {
    // Group per node (few nodes: a linear search), keeping the caller's order in each.
    groups.clear();
    std::vector<size_t> orphans;  // slot without a master
    for (size_t t = 0; t < todo.size(); ++t) {
      if (todo[t].node == nullptr) {
        orphans.push_back(t);
        continue;
      }
      auto g = std::find_if(groups.begin(), groups.end(),
                            [&](const Group& x) { return x.node == todo[t].node; });
      if (g == groups.end()) {
        groups.push_back(Group{todo[t].node, {}, {}});
        g = groups.end() - 1;
      }
      g->items.push_back(PipelineItem{&cmds[todo[t].index], todo[t].asking});
      g->todo.push_back(t);
    }
    // Every batch checks out its nodes' connections in one global order (and holds them until
    // it has read them): batches of concurrent callers that share nodes can then never wait on
    // each other's connections in a cycle (each pool is bounded: that would stall until
    // pool_wait_timeout).
    std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
      return std::less<RedisNode*>()(a.node, b.node);
    });
    // Write every node's pipeline, then read each: one round trip for the whole round.
    pending.clear();
    for (Group& g : groups) pending.push_back(g.node->SendPipeline(g.items));
    std::vector<bool> sent_by_todo(todo.size(), true);
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      Group& g = groups[gi];
      replies.assign(g.items.size(), Status::Internal("cluster batch: no reply read"));
      bool sent = true;
      g.node->ReadPipeline(pending[gi], g.items, replies.data(), &sent);
      for (size_t k = 0; k < g.todo.size(); ++k) {
        (*out)[todo[g.todo[k]].index] = std::move(replies[k]);
        sent_by_todo[g.todo[k]] = sent;
      }
    }
    for (size_t t : orphans) {
      (*out)[todo[t].index] = Status::Unavailable("no master serves slot " +
                                                  std::to_string(slots[todo[t].index]) +
                                                  " in the slot map of " + seeds_text_);
      sent_by_todo[t] = false;
    }

    // Decide, in the caller's order, what is resent and where.
    std::vector<SlotDecision> decisions;
    std::vector<Todo> next;
    bool refresh = false, wait = false;
    RedisNode* hint = nullptr;
    for (size_t t = 0; t < todo.size(); ++t) {
      Todo& td = todo[t];
      Result<Reply>& r = (*out)[td.index];
      if (r.ok()) continue;
      int slot = slots[td.index];
      Redirect red;
      bool redirect = ParseRedirect(r.status().message(), &red);
      Failure f = Failure::kFinal;
      if (!redirect) {
        f = td.node == nullptr ? Failure::kRefreshRetry
                               : ClassifyFailure(r.status(), sent_by_todo[t], *td.node);
        if (f == Failure::kFinal) continue;
        if (f == Failure::kTransport) {
          transport_errors_.fetch_add(1, std::memory_order_relaxed);
          needs_refresh_.store(true, std::memory_order_relaxed);
          continue;
        }
      } else if (td.redirects + 1 > opts_.max_redirects) {
        std::string at = td.node->endpoint().host + ":" + std::to_string(td.node->endpoint().port);
        r = RedirectLoop(slot, at, r.status());
        continue;
      }
      auto d = std::find_if(decisions.begin(), decisions.end(),
                            [&](const SlotDecision& x) { return x.slot == slot; });
      if (d == decisions.end()) {
        SlotDecision nd;
        nd.slot = slot;
        if (redirect) {
          const std::string& host = red.host.empty() ? td.node->endpoint().host : red.host;
          nd.node = NodeFor(host, red.port);
          nd.asking = red.ask;
          if (red.ask) {
            ask_.fetch_add(1, std::memory_order_relaxed);
          } else {
            moved_.fetch_add(1, std::memory_order_relaxed);
            refresh = true;
            if (hint == nullptr) hint = nd.node;
          }
        } else {
          wait = true;
          refresh = refresh || f == Failure::kRefreshRetry;
        }
        decisions.push_back(nd);
        d = decisions.end() - 1;
      }
      next.push_back(Todo{td.index, d->node, d->asking, td.redirects + (redirect ? 1 : 0)});
    }
    if (next.empty()) break;
    if (wait) {
      if (!backoff.Next()) {
        // Out of time: what was to be retried keeps a GiveUp status; redirects still go.
        std::vector<Todo> still;
        for (Todo& td : next) {
          auto d = std::find_if(decisions.begin(), decisions.end(), [&](const SlotDecision& x) {
            return x.slot == slots[td.index];
          });
          if (d->node != nullptr) {
            still.push_back(td);
          } else {
            (*out)[td.index] =
                GiveUp(slots[td.index], SlotNode(slots[td.index]), (*out)[td.index].status(),
                       backoff);
          }
        }
        next.swap(still);
        if (next.empty()) break;
      } else {
        retries_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (refresh) (void)RefreshSince(gen, hint);
    gen = generation_.load(std::memory_order_acquire);
    for (Todo& td : next) {
      if (td.node == nullptr) td.node = SlotNode(slots[td.index]);
    }
    todo.swap(next);
  }
}

}  // namespace stormkv::redis_internal
