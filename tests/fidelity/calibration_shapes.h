// tests/fidelity/calibration_shapes.h — the calibration shapes of ../shared/redis-memory/
// calibrate.py (same key names, values and commands), for loading a real server and the memory
// backend identically.
#ifndef STORMKV_TESTS_FIDELITY_CALIBRATION_SHAPES_H_
#define STORMKV_TESTS_FIDELITY_CALIBRATION_SHAPES_H_

#include <ostream>
#include <string>
#include <vector>

#include "stormkv/kv_backend.h"

namespace stormkv::fidelity {

struct Shape {
  std::string name;   // gtest-safe: "str100_ttl_key80"
  std::string label;  // calibrate.py's name: "str100+ttl key80"
  enum class Kind { kString, kIncr, kHash, kSet } kind = Kind::kString;
  int vlen = 0;      // kString: value length
  int klen = 20;     // key length
  bool ttl = false;  // EX/EXPIRE 300
  int by = 1;        // kIncr: INCR (1) or INCRBY by
  int members = 0;   // kSet
  bool lru = false;  // measured under maxmemory 8gb + allkeys-lru (shared integers off)
};

// gtest prints a shape by its calibrate.py name.
inline void PrintTo(const Shape& s, std::ostream* os) { *os << s.label; }

// Every shape of calibrate.py (SHAPES, then the two allkeys-lru rows).
std::vector<Shape> AllShapes();

// calibrate.py keyname(i, klen).
std::string KeyName(int i, int klen);

// The commands that load keys 0..n-1 of `shape` (calibrate.py build_cmds).
std::vector<Command> BuildCommands(const Shape& shape, int n);

}  // namespace stormkv::fidelity

#endif  // STORMKV_TESTS_FIDELITY_CALIBRATION_SHAPES_H_
