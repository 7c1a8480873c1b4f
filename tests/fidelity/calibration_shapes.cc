#include "fidelity/calibration_shapes.h"

#include <cstdio>

#include "stormkv/script.h"

namespace stormkv::fidelity {
namespace {

std::vector<std::pair<std::string, std::string>> DedupRecord(int i) {
  std::string fp = Sha256Hex(std::to_string(i));
  char ref[64];
  std::snprintf(ref, sizeof ref, "default/Deployment/web-%08d/container-main-xyz", i);
  std::string r(ref);
  r = r.substr(0, 50);
  r.resize(50, 'z');
  return {{"fingerprint", fp},
          {"ref", r},
          {"count", "1"},
          {"firstSeen", "2024-05-01T12:34:56Z"},
          {"lastSeen", "2024-05-01T12:35:56Z"}};
}

std::string Member(int j) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "Pod/pod-name-%07d", j);
  return buf;
}

}  // namespace

std::string KeyName(int i, int klen) {
  char buf[128];
  if (klen == 20) {
    std::snprintf(buf, sizeof buf, "key:%016d", i);
    return buf;
  }
  std::snprintf(buf, sizeof buf, ":%015d", i);
  return "key:" + std::string(klen - 4 - 1 - 15, 'x') + buf;
}

std::vector<Shape> AllShapes() {
  using K = Shape::Kind;
  std::vector<Shape> out;
  for (int vlen : {8, 44, 45, 100, 200, 1000, 2000, 30000}) {
    for (bool ttl : {false, true}) {
      Shape s;
      s.name = "str" + std::to_string(vlen) + (ttl ? "_ttl" : "");
      s.label = "str" + std::to_string(vlen) + (ttl ? "+ttl" : "");
      s.kind = K::kString;
      s.vlen = vlen;
      s.ttl = ttl;
      out.push_back(s);
    }
  }
  auto add = [&](std::string name, std::string label, K kind, int vlen, int klen, bool ttl, int by,
                 int members, bool lru) {
    Shape s;
    s.name = std::move(name);
    s.label = std::move(label);
    s.kind = kind;
    s.vlen = vlen;
    s.klen = klen;
    s.ttl = ttl;
    s.by = by;
    s.members = members;
    s.lru = lru;
    out.push_back(s);
  };
  add("str8_key80", "str8 key80", K::kString, 8, 80, false, 1, 0, false);
  add("str100_key80", "str100 key80", K::kString, 100, 80, false, 1, 0, false);
  add("str100_ttl_key80", "str100+ttl key80", K::kString, 100, 80, true, 1, 0, false);
  add("incr1", "incr(=1)", K::kIncr, 0, 20, false, 1, 0, false);
  add("incr1_ttl", "incr(=1)+ttl", K::kIncr, 0, 20, true, 1, 0, false);
  add("incrby1e6", "incrby(=1e6)", K::kIncr, 0, 20, false, 1000000, 0, false);
  add("incrby1e6_ttl", "incrby(=1e6)+ttl", K::kIncr, 0, 20, true, 1000000, 0, false);
  add("hash5_dedup", "hash5 dedup", K::kHash, 0, 20, false, 1, 0, false);
  add("hash5_dedup_ttl", "hash5 dedup+ttl", K::kHash, 0, 20, true, 1, 0, false);
  add("set15", "set15", K::kSet, 0, 20, false, 1, 15, false);
  add("set15_ttl", "set15+ttl", K::kSet, 0, 20, true, 1, 15, false);
  add("set200", "set200", K::kSet, 0, 20, false, 1, 200, false);
  add("set200_ttl", "set200+ttl", K::kSet, 0, 20, true, 1, 200, false);
  add("incr1_allkeys_lru", "incr(=1) allkeys-lru", K::kIncr, 0, 20, false, 1, 0, true);
  add("str8_allkeys_lru", "str8 allkeys-lru", K::kString, 8, 20, false, 1, 0, true);
  return out;
}

std::vector<Command> BuildCommands(const Shape& shape, int n) {
  std::vector<Command> cmds;
  cmds.reserve(static_cast<size_t>(n) * (shape.ttl ? 2 : 1));
  for (int i = 0; i < n; ++i) {
    std::string k = KeyName(i, shape.klen);
    switch (shape.kind) {
      case Shape::Kind::kString:
        if (shape.ttl) {
          cmds.push_back({"SET", k, std::string(shape.vlen, 'v'), "EX", "300"});
        } else {
          cmds.push_back({"SET", k, std::string(shape.vlen, 'v')});
        }
        break;
      case Shape::Kind::kIncr:
        if (shape.by == 1) {
          cmds.push_back({"INCR", k});
        } else {
          cmds.push_back({"INCRBY", k, std::to_string(shape.by)});
        }
        if (shape.ttl) cmds.push_back({"EXPIRE", k, "300"});
        break;
      case Shape::Kind::kHash: {
        Command c{"HSET", k};
        for (auto& [f, v] : DedupRecord(i)) {
          c.push_back(f);
          c.push_back(v);
        }
        cmds.push_back(std::move(c));
        if (shape.ttl) cmds.push_back({"EXPIRE", k, "300"});
        break;
      }
      case Shape::Kind::kSet: {
        Command c{"SADD", k};
        for (int j = 0; j < shape.members; ++j) c.push_back(Member(j));
        cmds.push_back(std::move(c));
        if (shape.ttl) cmds.push_back({"EXPIRE", k, "300"});
        break;
      }
    }
  }
  return cmds;
}

}  // namespace stormkv::fidelity
