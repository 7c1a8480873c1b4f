#!/usr/bin/env bash
# Real clients against the `stormkv serve` binary: redis-cli (RESP2 and RESP3) and Debian's
# python3-redis (RESP2: commands, a pipeline, a WATCH transaction, registered scripts).
# Usage: clients_test.sh path/to/stormkv
set -euo pipefail
bin=$1
[ -x "$bin" ] || { echo "FAIL: no stormkv binary at $bin (not built in this build tree)"; exit 1; }
command -v redis-cli >/dev/null || { echo "redis-cli missing (package redis-tools)"; exit 1; }
/usr/bin/python3 -c 'import redis' || { echo "python3-redis missing (package python3-redis)"; exit 1; }
dir=$(mktemp -d /tmp/stormkv-serve-clients.XXXXXX)
"$bin" serve --port 0 --port-file "$dir/port" --clock manual --maxmemory 64mb >"$dir/out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
# Up to 60 s (a sanitizer build starts slowly on a loaded machine), as long as the server lives.
for _ in $(seq 1200); do
  [ -s "$dir/port" ] && break
  kill -0 $pid 2>/dev/null || { echo "FAIL: stormkv serve exited before listening:"; cat "$dir/out"; exit 1; }
  sleep 0.05
done
[ -s "$dir/port" ] || { echo "FAIL: stormkv serve wrote no port file in 60 s:"; cat "$dir/out"; exit 1; }
port=$(cat "$dir/port")
fail() { echo "FAIL: $*"; exit 1; }
check() {  # check "expected" redis-cli args...
  local want=$1; shift
  local got
  got=$(redis-cli -p "$port" "$@" 2>&1)
  [ "$got" = "$want" ] || fail "redis-cli $*: got [$got], want [$want]"
}
check PONG ping
check OK set greeting hello
check hello get greeting
check 1 hset h f v
check "$(printf 'f\nv')" hgetall h
check "ERR unknown command 'nosuch', with args beginning with: 'x' " nosuch x
check "WRONGTYPE Operation against a key holding the wrong kind of value" get h
# RESP3 (checked against redis-server 7.0.15 with the same redis-cli): a map for HGETALL, HELLO
got=$(redis-cli -3 --no-raw -p "$port" hgetall h)
[ "$got" = "1# \"f\" => \"v\"" ] || fail "RESP3 hgetall: [$got]"
got=$(redis-cli -3 --no-raw -p "$port" hello 3 | head -2 | tr '\n' ' ')
[ "$got" = "1# \"server\" => \"redis\" 2# \"version\" => \"7.0.15\" " ] || fail "RESP3 hello: [$got]"
# A transaction through redis-cli's stdin
got=$(printf 'MULTI\nSET t 1\nINCR t\nEXEC\n' | redis-cli -p "$port" | tr '\n' ' ')
[ "$got" = "OK QUEUED QUEUED OK 2 " ] || fail "transaction: [$got]"
# Virtual time: a key with a TTL expires when the clock is advanced
check OK set short v px 1000
redis-cli -p "$port" stormkv.clock advance 1001 >/dev/null
check 0 exists short
# An arbitrary EVAL needs the store's Lua engine; a registered script's text runs its twin:
# both answer without crashing the server.
redis-cli -p "$port" eval "return 1" 0 >/dev/null 2>&1 || true
check PONG ping

/usr/bin/python3 - "$port" <<'PY'
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True)
assert r.ping()
assert r.set("py", "1") and r.incr("py") == 2
assert r.hset("ph", mapping={"a": "1", "b": "2"}) == 2
assert r.hgetall("ph") == {"a": "1", "b": "2"}
p = r.pipeline(transaction=False)
for i in range(100):
    p.set("k%d" % i, i)
assert all(p.execute())
assert r.dbsize() >= 100
# Optimistic locking with WATCH: redis-py's transaction helper retries on WatchError.
def incr_twice(pipe):
    v = int(pipe.get("py"))
    pipe.multi()
    pipe.set("py", v * 2)
assert r.transaction(incr_twice, "py") == [True]
assert r.get("py") == "4"
with r.pipeline() as pipe:
    pipe.watch("py")
    other = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]))
    other.set("py", "100")
    pipe.multi()
    pipe.set("py", "lost")
    try:
        pipe.execute()
        raise SystemExit("WATCH was not broken")
    except redis.WatchError:
        pass
assert r.get("py") == "100"
try:
    r.hget("py", "x")
    raise SystemExit("no WRONGTYPE")
except redis.ResponseError as e:
    assert str(e).startswith("WRONGTYPE"), e
assert r.execute_command("STORMKV.CLOCK", "GET") > 0
info = r.info("memory")
assert info["used_memory"] > 0
assert r.memory_usage("py") > 0
assert r.client_setname("py-suite") and r.client_getname() == "py-suite"
print("python3-redis", redis.__version__, "ok")
PY
echo "ok: redis-cli and python3-redis against stormkv serve on port $port"
