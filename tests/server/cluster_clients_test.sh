#!/usr/bin/env bash
# Real cluster clients against `stormkv serve --cluster 3`: redis-cli -c (follows MOVED),
# redis-cli --cluster check (reads CLUSTER NODES / INFO of every node), and Debian's
# python3-redis RedisCluster (discovers the nodes from CLUSTER SLOTS; sets and gets one key in
# every one of the 16384 slots, scripts, a stale slot map repaired by MOVED, the one clock;
# redis-py 4.3.4 prints the MovedError and NoScriptError it handles on stderr).
# Usage: cluster_clients_test.sh path/to/stormkv
set -euo pipefail
bin=$1
[ -x "$bin" ] || { echo "FAIL: no stormkv binary at $bin (not built in this build tree)"; exit 1; }
command -v redis-cli >/dev/null || { echo "redis-cli missing (package redis-tools)"; exit 1; }
/usr/bin/python3 -c 'import redis.cluster' || { echo "python3-redis missing (package python3-redis)"; exit 1; }
dir=$(mktemp -d /tmp/stormkv-serve-cluster.XXXXXX)
"$bin" serve --cluster 3 --port 0 --port-file "$dir/ports" --clock manual >"$dir/out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
# Up to 60 s (a sanitizer build starts slowly on a loaded machine), as long as the server lives.
for _ in $(seq 1200); do
  [ -s "$dir/ports" ] && break
  kill -0 $pid 2>/dev/null || { echo "FAIL: stormkv serve exited before listening:"; cat "$dir/out"; exit 1; }
  sleep 0.05
done
[ -s "$dir/ports" ] || { echo "FAIL: stormkv serve wrote no port file in 60 s:"; cat "$dir/out"; exit 1; }
mapfile -t ports <"$dir/ports"
fail() { echo "FAIL: $*"; exit 1; }
[ ${#ports[@]} -eq 3 ] || fail "port file: want 3 lines, got [$(cat "$dir/ports")]"
# The printed ports are the port file's.
[ "$(tail -3 "$dir/out")" = "$(cat "$dir/ports")" ] || fail "printed ports: [$(cat "$dir/out")]"

# Key "foo" is in slot 12182 (node 2), "bar" in 5061 (node 0).
[ "$(redis-cli -p "${ports[0]}" cluster keyslot foo)" = 12182 ] || fail "keyslot foo"
got=$(redis-cli -p "${ports[0]}" set foo 1 2>&1)
[ "$got" = "MOVED 12182 127.0.0.1:${ports[2]}" ] || fail "plain redis-cli set foo on node 0: [$got]"
got=$(redis-cli -c -p "${ports[0]}" set foo hello)
[ "$got" = OK ] || fail "redis-cli -c set foo: [$got]"
got=$(redis-cli -c -p "${ports[1]}" get foo)
[ "$got" = hello ] || fail "redis-cli -c get foo from node 1: [$got]"
[ "$(redis-cli -p "${ports[2]}" get foo)" = hello ] || fail "foo is not on node 2"
[ "$(redis-cli -p "${ports[2]}" dbsize)" = 1 ] || fail "node 2 dbsize"
[ "$(redis-cli -p "${ports[0]}" dbsize)" = 0 ] || fail "node 0 dbsize"
got=$(redis-cli -c -p "${ports[0]}" eval "return redis.call('incrby', KEYS[1], ARGV[1])" 1 ctr 5)
[ "$got" = 5 ] || fail "redis-cli -c eval: [$got]"
for k in foo ctr; do [ "$(redis-cli -c -p "${ports[0]}" del $k)" = 1 ] || fail "del $k"; done
got=$(redis-cli -p "${ports[0]}" del foo bar 2>&1)
[ "$got" = "CROSSSLOT Keys in request don't hash to the same slot" ] || fail "crossslot: [$got]"
out=$(redis-cli --cluster check "127.0.0.1:${ports[1]}" 2>&1) || fail "redis-cli --cluster check: $out"
for want in "[OK] All nodes agree about slots configuration." "[OK] All 16384 slots covered." \
  "127.0.0.1:${ports[0]}" "slots:[5461-10922] (5462 slots) master"; do
  grep -qF -- "$want" <<<"$out" || fail "redis-cli --cluster check lacks [$want]: $out"
done

/usr/bin/python3 - "${ports[@]}" <<'PY'
import sys
import redis
from redis.cluster import RedisCluster

ports = [int(p) for p in sys.argv[1:]]
rc = RedisCluster(host="127.0.0.1", port=ports[1], decode_responses=True)
assert sorted(n.port for n in rc.get_primaries()) == sorted(ports), rc.get_primaries()

# One key in each of the 16384 slots (the client computes the slot; the node refuses any key it
# does not own, so every key landing proves the routing on both sides).
keys, seen, i = [], set(), 0
while len(seen) < 16384:
    k = "key:%d" % i
    s = rc.keyslot(k)
    if s not in seen:
        seen.add(s)
        keys.append(k)
    i += 1
p = rc.pipeline()
for k in keys:
    p.set(k, k[::-1])
assert all(p.execute())
p = rc.pipeline()
for k in keys:
    p.get(k)
assert p.execute() == [k[::-1] for k in keys]
sizes = [redis.Redis(host="127.0.0.1", port=port).dbsize() for port in ports]
assert sizes == [5461, 5462, 5461], sizes  # each node holds exactly its slots' keys
node_of = {n.port: n for n in rc.get_primaries()}
assert rc.cluster_countkeysinslot(0) == 1
assert rc.execute_command("CLUSTER", "COUNTKEYSINSLOT", 16383, target_nodes=node_of[ports[2]]) == 1

# Scripts: EVAL with keys routes by KEYS[1]; register_script goes EVALSHA -> NOSCRIPT -> EVAL.
assert rc.eval("return redis.call('get', KEYS[1])", 1, keys[16383]) == keys[16383][::-1]
incr = rc.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
assert [incr(keys=["{c}1"], args=[2]), incr(keys=["{c}1"], args=[3])] == [2, 5]
try:
    redis.Redis(host="127.0.0.1", port=ports[0], decode_responses=True).eval("return 1", 1, "foo")
    raise SystemExit("EVAL of a key of node 2 on node 0 was not redirected")
except redis.ResponseError as e:
    assert str(e) == "MOVED 12182 127.0.0.1:%d" % ports[2], e

# MOVED following: make the client's slot map wrong for one slot; it must follow the
# redirect, answer right, and learn the owner.
slot = rc.keyslot("foo")
wrong = node_of[ports[0]]
rc.nodes_manager.slots_cache[slot] = [wrong]
assert rc.set("foo", "after-moved") is True
assert redis.Redis(host="127.0.0.1", port=ports[2], decode_responses=True).get("foo") == "after-moved"
assert rc.get("foo") == "after-moved"
assert rc.nodes_manager.slots_cache[slot][0].port == ports[2]

# One clock: advancing it on node 0 expires keys on every node.
for k in keys[::1000]:
    rc.set(k, "v", px=1000)
node0 = node_of[ports[0]]
t0 = rc.execute_command("STORMKV.CLOCK", "GET", target_nodes=node0)
assert rc.execute_command("STORMKV.CLOCK", "ADVANCE", 1001, target_nodes=node0) == t0 + 1001
for port in ports:
    assert redis.Redis(host="127.0.0.1", port=port).execute_command("STORMKV.CLOCK", "GET") == t0 + 1001
assert all(rc.exists(k) == 0 for k in keys[::1000])
assert rc.exists(keys[1]) == 1
# Per node memory report and INFO.
report = redis.Redis(host="127.0.0.1", port=ports[2], decode_responses=True).execute_command("STORMKV.MEMORY")
assert "used_memory" in report, report
assert rc.info("server", target_nodes=node0)["redis_mode"] == "cluster"
print("python3-redis", redis.__version__, "RedisCluster ok: 16384 slots, scripts, MOVED, clock")
PY
echo "ok: redis-cli -c, redis-cli --cluster check and RedisCluster against stormkv serve --cluster 3 on ports ${ports[*]}"
