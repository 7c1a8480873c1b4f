// backends/memory/objects.h — the stored data structures of the embedded store.
//
// Every type here is templated on an allocator `A` (of char) and holds only integers, doubles
// and allocator-aware Boost containers whose pointers are A's pointer type. With
// std::allocator<char> they are ordinary heap structures; with a Boost.Interprocess allocator the
// same code can live in a shared segment (offset_ptr). No virtuals, std::function or raw pointers.
#ifndef STORMKV_BACKENDS_MEMORY_OBJECTS_H_
#define STORMKV_BACKENDS_MEMORY_OBJECTS_H_

#include <algorithm>
#include <boost/container/string.hpp>
#include <boost/container/vector.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string_view>
#include <utility>

#include "dict_model.h"
#include "hash_index.h"

namespace stormkv::memstore {

template <class A, class T>
using RebindAlloc = typename std::allocator_traits<A>::template rebind_alloc<T>;
template <class A, class T>
using PtrOf = typename std::allocator_traits<RebindAlloc<A, T>>::pointer;
template <class A>
using BasicString = boost::container::basic_string<char, std::char_traits<char>, RebindAlloc<A, char>>;
template <class A, class T>
using Vec = boost::container::vector<T, RebindAlloc<A, T>>;

template <class S>
inline std::string_view View(const S& s) {
  return std::string_view(s.data(), s.size());
}

enum class ObjType : uint8_t { kFree = 0, kString, kHash, kSet, kZset };
// Redis encodings the accounting imitates.
enum class Enc : uint8_t { kInt, kEmbstr, kRaw, kListpack, kHashtable, kIntset, kSkiplist };

// Items with a string key, held in a vector and looked up through a HashIndex once there are
// more than kIndexMin of them. Erase is either order-preserving (listpack semantics) or
// swap-with-last (hashtable semantics).
template <class A, class Item>
class IndexedItems {
 public:
  static constexpr uint32_t kNpos = 0xFFFFFFFFu;
  static constexpr size_t kIndexMin = 8;

  explicit IndexedItems(const A& a) : items_(RebindAlloc<A, Item>(a)), index_(a) {}

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  Item& operator[](size_t i) { return items_[i]; }
  const Item& operator[](size_t i) const { return items_[i]; }
  Vec<A, Item>& items() { return items_; }
  const Vec<A, Item>& items() const { return items_; }

  uint32_t Find(std::string_view key) const {
    if (items_.size() <= kIndexMin) {
      for (size_t i = 0; i < items_.size(); ++i) {
        if (View(items_[i].key) == key) return static_cast<uint32_t>(i);
      }
      return kNpos;
    }
    uint32_t h = static_cast<uint32_t>(HashBytes(key));
    return index_.Find(h, [&](uint32_t pos) { return View(items_[pos].key) == key; });
  }

  // REQUIRES: item.key not present.
  uint32_t Append(Item&& item) {
    uint32_t pos = static_cast<uint32_t>(items_.size());
    items_.push_back(std::move(item));
    if (items_.size() == kIndexMin + 1) {
      Rebuild();
    } else if (items_.size() > kIndexMin + 1) {
      index_.Insert(static_cast<uint32_t>(HashBytes(View(items_[pos].key))), pos);
    }
    return pos;
  }

  // The index follows the erase in place (the erased entry out, every later position one down)
  // instead of being rebuilt: no rehash of the other keys, no allocation.
  void EraseOrdered(uint32_t pos) {
    if (items_.size() - 1 > kIndexMin) {
      index_.Erase(static_cast<uint32_t>(HashBytes(View(items_[pos].key))), pos);
      index_.ShiftPositionsAbove(pos);
      items_.erase(items_.begin() + pos);
    } else {
      items_.erase(items_.begin() + pos);
      index_.Clear();
    }
  }

  // Moves the last item into `pos`. Returns the old position of the moved item (or kNpos).
  uint32_t EraseSwap(uint32_t pos) {
    uint32_t last = static_cast<uint32_t>(items_.size() - 1);
    bool indexed = items_.size() > kIndexMin;
    if (indexed) index_.Erase(static_cast<uint32_t>(HashBytes(View(items_[pos].key))), pos);
    uint32_t moved = kNpos;
    if (pos != last) {
      if (indexed) index_.Repoint(static_cast<uint32_t>(HashBytes(View(items_[last].key))), last, pos);
      items_[pos] = std::move(items_[last]);
      moved = last;
    }
    items_.pop_back();
    if (items_.size() <= kIndexMin) index_.Clear();
    return moved;
  }

  size_t RealBytes() const { return items_.capacity() * sizeof(Item) + index_.capacity_bytes(); }

  // Makes room for `extra` more items (vector and, once indexed, index) without reallocating.
  void ReserveExtra(size_t extra) {
    if (items_.capacity() - items_.size() < extra) {
      items_.reserve(std::max(items_.size() + extra, items_.capacity() * 2));
    }
    if (items_.size() > kIndexMin) index_.Reserve(items_.size() + extra);
  }

  // True when the index holds exactly the items and finds each one at its own position.
  bool IndexConsistent() const {
    if (items_.size() > kIndexMin && index_.size() != items_.size()) return false;
    if (items_.size() <= kIndexMin && index_.size() != 0) return false;
    for (size_t i = 0; i < items_.size(); ++i) {
      if (Find(View(items_[i].key)) != i) return false;
    }
    return true;
  }

 private:
  void Rebuild() {
    index_.Clear();
    index_.Reserve(items_.size());
    for (size_t i = 0; i < items_.size(); ++i) {
      index_.Insert(static_cast<uint32_t>(HashBytes(View(items_[i].key))), static_cast<uint32_t>(i));
    }
  }

  Vec<A, Item> items_;
  HashIndex<A> index_;
};

// Elements carry their dict hash (low 32 bits of SipHash-1-2 under the store's seed, set when
// the collection is a hashtable) and the rehash generation they were inserted in (DictSim).
template <class A>
struct FieldValue {
  BasicString<A> key;
  BasicString<A> value;
  uint32_t dh = 0;
  uint32_t dgen = 0;
};

template <class A>
struct Member {
  BasicString<A> key;
  uint32_t dh = 0;
  uint32_t dgen = 0;
};

template <class A>
struct ZMember {
  BasicString<A> key;
  double score = 0;
  uint8_t level = 1;  // skiplist node level (modelled)
  uint32_t dh = 0;
  uint32_t dgen = 0;
};

// A sorted-set rank entry: score + position of the member in ZsetObj::members.
struct ZRank {
  double score;
  uint32_t mpos;
};

// A hash: fields in insertion order (the order a listpack keeps), plus the modelled encoding.
template <class A>
struct HashObj {
  explicit HashObj(const A& a) : fields(a), dict(a) {}
  IndexedItems<A, FieldValue<A>> fields;
  Enc enc = Enc::kListpack;
  DictSim<A> dict;           // modelled buckets (hashtable)
  uint64_t lp_bytes = 7;     // modelled listpack size in bytes
  uint64_t ht_bytes = 0;     // sum of jesize(dictEntry) + sds(field) + sds(value)
  uint64_t usage_bytes = 0;  // sum of sizeof(dictEntry) + sds(field) + sds(value)
};

template <class A>
struct SetObj {
  explicit SetObj(const A& a) : members(a), dict(a) {}
  IndexedItems<A, Member<A>> members;
  Enc enc = Enc::kIntset;
  uint8_t intset_width = 2;
  DictSim<A> dict;
  uint64_t ht_bytes = 0;     // sum of jesize(dictEntry) + sds(member)
  uint64_t usage_bytes = 0;  // sum of sizeof(dictEntry) + sds(member)
};

template <class A>
struct ZsetObj {
  explicit ZsetObj(const A& a) : members(a), ranks(RebindAlloc<A, ZRank>(a)), dict(a) {}
  IndexedItems<A, ZMember<A>> members;
  Vec<A, ZRank> ranks;  // sorted by (score, member)
  Enc enc = Enc::kListpack;
  DictSim<A> dict;
  uint64_t lp_bytes = 7;
  uint64_t sl_bytes = 0;     // sum of jesize(node) + sds(member) + jesize(dictEntry)
  uint64_t usage_bytes = 0;  // sum of sizeof(dictEntry) + sds(member) + jesize(node)
};

inline constexpr int64_t kNoExpire = std::numeric_limits<int64_t>::min();
inline constexpr uint32_t kNoPos = 0xFFFFFFFFu;

// One slot of the keyspace. Free slots have type kFree and are reused.
template <class A>
struct Entry {
  explicit Entry(const A& a) : key(a), str(a) {}
  BasicString<A> key;
  BasicString<A> str;  // string value (also the decimal text of int-encoded strings)
  PtrOf<A, HashObj<A>> hash{};
  PtrOf<A, SetObj<A>> set{};
  PtrOf<A, ZsetObj<A>> zset{};
  int64_t expire_ms = kNoExpire;
  uint64_t value_cost = 0;  // modelled bytes of the value (robj + payload)
  uint32_t key_hash = 0;
  uint32_t vol_pos = kNoPos;  // position in the volatile-key vector
  uint32_t lru = 0;           // LRU clock (seconds) of the last access
  uint32_t gen = 0;           // bumped when the slot is freed (eviction pool validity)
  uint16_t lfu_minutes = 0;   // LFU decay time (minutes, 16 bits)
  uint8_t lfu_counter = 5;    // LFU logarithmic counter (LFU_INIT_VAL)
  ObjType type = ObjType::kFree;
  Enc enc = Enc::kRaw;
};

}  // namespace stormkv::memstore

#endif  // STORMKV_BACKENDS_MEMORY_OBJECTS_H_
