#!/usr/bin/env python3
"""Regenerates src/stormkv/server/command_info.inc: the COMMAND INFO metadata (arity, flags, key
positions, ACL categories, tips, key specs) of the commands `stormkv serve` supports, as a real
redis-server 7.0 reports it, so COMMAND / COMMAND INFO answer what clients (go-redis's cluster
client, redis-py) expect. Only interface facts are taken from the server's reply; COMMAND DOCS
summaries are stormkv's own (src/stormkv/server/command_table.cc).

  tools/gen_command_table.py PORT     # a redis-server 7.0 on 127.0.0.1:PORT

Run by hand when the supported set changes; the output is committed.
"""
import socket
import sys

# command -> supported subcommands (None: not a container)
SUPPORTED = {
    "get": None, "set": None, "del": None, "unlink": None, "exists": None, "type": None,
    "incr": None, "decr": None, "incrby": None, "decrby": None, "expire": None,
    "pexpire": None, "expireat": None, "pexpireat": None, "ttl": None, "pttl": None,
    "persist": None, "hset": None, "hmset": None, "hsetnx": None, "hget": None, "hmget": None,
    "hgetall": None, "hincrby": None, "hdel": None, "hlen": None, "hexists": None, "sadd": None,
    "srem": None, "sismember": None, "scard": None, "smembers": None, "zadd": None, "zrem": None,
    "zcard": None, "zscore": None, "zrangebyscore": None, "zremrangebyscore": None, "scan": None,
    "dbsize": None, "flushdb": None, "flushall": None, "time": None, "ping": None, "echo": None,
    "info": None, "auth": None, "hello": None, "select": None, "quit": None, "reset": None,
    "multi": None, "exec": None, "discard": None, "watch": None, "unwatch": None,
    "eval": None, "evalsha": None, "eval_ro": None, "evalsha_ro": None,
    "memory": ["usage", "stats", "help"],
    "object": ["encoding", "help"],
    "config": ["get", "set", "resetstat", "help"],
    "client": ["id", "setname", "getname", "list", "info", "help", "setinfo"],
    "command": ["count", "info", "docs", "list", "getkeys", "help"],
    "script": ["load", "exists", "flush", "help"],
    "function": ["flush", "help"],
    "cluster": ["keyslot", "help", "slots", "shards", "nodes", "info", "myid", "countkeysinslot",
                "getkeysinslot"],
    "readonly": None, "readwrite": None,
}


def read_reply(f):
    line = f.readline()
    if not line:
        raise EOFError
    t, rest = line[:1], line[1:-2]
    if t in b"+-":
        return (t, rest)
    if t in b":(,#":
        return (t, rest)
    if t == b"_":
        return (t, b"")
    if t in b"$=!":
        n = int(rest)
        if n < 0:
            return (b"_", b"")
        data = f.read(n + 2)[:-2]
        return (t, data)
    if t in b"*~>":
        n = int(rest)
        if n < 0:
            return (b"_", b"")
        return (t, [read_reply(f) for _ in range(n)])
    if t in b"%|":
        n = int(rest)
        return (t, [read_reply(f) for _ in range(2 * n)])
    raise ValueError("unknown RESP type %r" % line)


def encode(node):
    t, v = node
    if t in b"+-:(,#":
        return t + v + b"\r\n"
    if t == b"_":
        return b"_\r\n"
    if t in b"$=!":
        return t + str(len(v)).encode() + b"\r\n" + v + b"\r\n"
    if t in b"*~>":
        return t + str(len(v)).encode() + b"\r\n" + b"".join(encode(x) for x in v)
    if t in b"%|":
        return t + str(len(v) // 2).encode() + b"\r\n" + b"".join(encode(x) for x in v)
    raise ValueError(t)


def command(sock, f, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)
    return read_reply(f)


def main():
    port = int(sys.argv[1])
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    command(s, f, "HELLO", "3")
    version = command(s, f, "INFO", "server")[1].decode()
    assert "redis_version:7.0" in version, "need a Redis 7.0 server"
    entries = []
    for name, subs in SUPPORTED.items():
        t, v = command(s, f, "COMMAND", "INFO", name)
        info = v[0]
        assert info[0] == b"*", name
        fields = info[1]
        if subs is not None:
            kept = [x for x in fields[9][1] if x[1][0][1].decode().split("|")[1] in subs]
            if "setinfo" in subs and not any(x[1][0][1] == b"client|setinfo" for x in kept):
                # Redis 7.2's CLIENT SETINFO (sent by newer clients); 7.0 lacks it.
                kept.append((b"*", [(b"$", b"client|setinfo"), (b":", b"-4"),
                                    (b"~", [(b"+", b"noscript"), (b"+", b"loading"), (b"+", b"stale")]),
                                    (b":", b"0"), (b":", b"0"), (b":", b"0"),
                                    (b"~", [(b"+", b"@slow"), (b"+", b"@connection")]),
                                    (b"*", []), (b"*", []), (b"*", [])]))
            kept.sort(key=lambda x: x[1][0][1])  # the server's order is its dict's: sort it
            fields[9] = (b"*", kept)
        entries.append(encode(info))
    with open(sys.argv[2] if len(sys.argv) > 2 else "src/stormkv/server/command_info.inc", "w") as out:
        out.write("// Generated by tools/gen_command_table.py from redis-server 7.0's COMMAND INFO\n")
        out.write("// (RESP3, one entry per supported command). Do not edit.\n")
        for e in entries:
            lit = "".join(c if 32 <= ord(c) < 127 and c not in '"\\?' else "\\%03o" % ord(c)
                          for c in e.decode("latin-1"))
            out.write('"' + lit + '",\n')


if __name__ == "__main__":
    main()
