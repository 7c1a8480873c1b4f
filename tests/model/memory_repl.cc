// memory_repl: reads one command per line (whitespace-separated, "double quotes" group, \" escapes)
// and prints each reply as a Python-literal-ish line. Used to diff the memory backend against
// redis-cli on a real server by hand; `.advance <ms>` moves the manual clock.
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "stormkv/memory_backend.h"

namespace {

std::vector<std::string> Split(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool in_q = false, have = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (in_q) {
      if (c == '\\' && i + 1 < line.size()) {
        cur += line[++i];
      } else if (c == '"') {
        in_q = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      in_q = true;
      have = true;
    } else if (c == ' ' || c == '\t') {
      if (have) out.push_back(cur);
      cur.clear();
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (have) out.push_back(cur);
  return out;
}

std::string Quote(const std::string& s) {
  bool sq = s.find('\'') != std::string::npos, dq = s.find('"') != std::string::npos;
  return (sq && !dq) ? "\"" + s + "\"" : "'" + s + "'";
}

std::string Render(const stormkv::Reply& r) {
  using T = stormkv::Reply::Type;
  switch (r.type()) {
    case T::kNil: return "None";
    case T::kInteger: return std::to_string(r.integer());
    case T::kStatus: return Quote("+" + r.str());
    case T::kError: return Quote("-" + r.str());
    case T::kBulk: return Quote(r.str());
    case T::kArray: {
      std::string s = "[";
      for (size_t i = 0; i < r.elements().size(); ++i) {
        if (i) s += ", ";
        s += Render(r.elements()[i]);
      }
      return s + "]";
    }
  }
  return "?";
}

}  // namespace

int main() {
  auto clock = std::make_shared<stormkv::ManualClock>();
  stormkv::MemoryBackendOptions o;
  o.clock = clock;
  auto kv = stormkv::NewMemoryBackend(o).value();
  std::string line;
  while (std::getline(std::cin, line)) {
    auto argv = Split(line);
    if (argv.empty()) continue;
    if (argv[0] == ".advance") {
      clock->Advance(std::chrono::milliseconds(std::stoll(argv[1])));
      continue;
    }
    auto r = kv->Run(argv);
    std::cout << line << " -> " << (r.ok() ? Render(*r) : Quote("-" + r.status().message())) << "\n";
  }
}
