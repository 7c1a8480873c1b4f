// backends/memory/hash_index.h — an open-addressing index of positions, allocator-aware.
//
// HashIndex maps a 32-bit hash to positions (uint32) in some caller-owned array; the caller
// resolves collisions by comparing the key stored at a position. It stores no pointers, only
// integers in one vector, so it can live in a Boost.Interprocess segment when `Alloc` is an
// interprocess allocator. Linear probing, backward-shift deletion, load factor <= 3/4.
//
// Not thread-safe; the store's mutex guards it.
#ifndef STORMKV_BACKENDS_MEMORY_HASH_INDEX_H_
#define STORMKV_BACKENDS_MEMORY_HASH_INDEX_H_

#include <boost/container/vector.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string_view>

namespace stormkv::memstore {

// A fast, deterministic 64-bit hash of bytes (the same value in every process and build).
inline uint64_t HashBytes(std::string_view s) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = 0x243F6A8885A308D3ull ^ (n * kMul);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w ^ (uint64_t{n} << 56)) * kMul;
    h ^= h >> 29;
  }
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  return h;
}

template <class Alloc>
class HashIndex {
 public:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;

  explicit HashIndex(const Alloc& alloc = Alloc()) : slots_(SlotAlloc(alloc)) {}

  size_t size() const { return size_; }
  // Bytes this index really occupies (for the store's own footprint).
  size_t capacity_bytes() const { return slots_.capacity() * sizeof(uint64_t); }

  // The position whose key equals the probe (eq(pos) == true), or kNone.
  template <class Eq>
  uint32_t Find(uint32_t hash, Eq&& eq) const {
    if (slots_.empty()) return kNone;
    size_t mask = slots_.size() - 1;
    // Bounded by the table (a table with no empty slot, which only damage can make, ends too).
    for (size_t i = hash & mask, n = 0; n <= mask; i = (i + 1) & mask, ++n) {
      uint64_t s = slots_[i];
      if (s == 0) return kNone;
      if (static_cast<uint32_t>(s >> 32) == hash) {
        uint32_t pos = static_cast<uint32_t>(s) - 1;
        if (eq(pos)) return pos;
      }
    }
    return kNone;
  }

  // Adds `pos` under `hash`. REQUIRES: no equal key is present.
  void Insert(uint32_t hash, uint32_t pos) {
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow();
    size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    for (size_t n = 0; slots_[i] != 0; i = (i + 1) & mask) {
      if (++n > mask) throw std::length_error("hash index has no free slot (damaged)");
    }
    slots_[i] = (uint64_t{hash} << 32) | (uint64_t{pos} + 1);
    ++size_;
  }

  // Removes the slot holding exactly (hash, pos). No-op if absent.
  void Erase(uint32_t hash, uint32_t pos) {
    size_t i;
    if (!Locate(hash, pos, &i)) return;
    size_t mask = slots_.size() - 1;
    size_t j = i;
    for (size_t n = 0; n < mask; ++n) {  // bounded like Find
      j = (j + 1) & mask;
      uint64_t s = slots_[j];
      if (s == 0) break;
      size_t home = static_cast<uint32_t>(s >> 32) & mask;
      // Move s back into the hole at i if its home is not in (i, j].
      bool between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
      if (!between) {
        slots_[i] = s;
        i = j;
      }
    }
    slots_[i] = 0;
    --size_;
  }

  // The entry (hash, from) now refers to position `to` (after the caller moved the item).
  void Repoint(uint32_t hash, uint32_t from, uint32_t to) {
    size_t i;
    if (Locate(hash, from, &i)) slots_[i] = (uint64_t{hash} << 32) | (uint64_t{to} + 1);
  }

  // Every entry whose position is above `pos` now refers to the position one lower (after the
  // caller erased the item at `pos` from its array, shifting the later ones down). The hashes,
  // hence the probe sequences, stay as they are.
  void ShiftPositionsAbove(uint32_t pos) {
    const uint64_t stored = uint64_t{pos} + 1;  // slots hold pos + 1 in their low word
    for (uint64_t& s : slots_) {
      if (s != 0 && static_cast<uint32_t>(s) > stored) --s;
    }
  }

  void Clear() {
    slots_.clear();
    slots_.shrink_to_fit();
    size_ = 0;
  }

  // Ensures room for `n` entries without growing.
  void Reserve(size_t n) {
    while (n * 4 > slots_.size() * 3) Grow();
  }

 private:
  using SlotAlloc = typename std::allocator_traits<Alloc>::template rebind_alloc<uint64_t>;

  bool Locate(uint32_t hash, uint32_t pos, size_t* out) const {
    if (slots_.empty()) return false;
    size_t mask = slots_.size() - 1;
    uint64_t want = (uint64_t{hash} << 32) | (uint64_t{pos} + 1);
    for (size_t i = hash & mask, n = 0; n <= mask; i = (i + 1) & mask, ++n) {
      if (slots_[i] == 0) return false;
      if (slots_[i] == want) {
        *out = i;
        return true;
      }
    }
    return false;
  }

  void Grow() {
    size_t n = slots_.empty() ? 8 : slots_.size() * 2;
    boost::container::vector<uint64_t, SlotAlloc> old(n, 0, slots_.get_allocator());
    old.swap(slots_);
    size_t mask = n - 1;
    for (uint64_t s : old) {
      if (s == 0) continue;
      size_t i = static_cast<uint32_t>(s >> 32) & mask;
      while (slots_[i] != 0) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  boost::container::vector<uint64_t, SlotAlloc> slots_;
  size_t size_ = 0;
};

}  // namespace stormkv::memstore

#endif  // STORMKV_BACKENDS_MEMORY_HASH_INDEX_H_
