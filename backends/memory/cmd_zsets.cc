// backends/memory/cmd_zsets.cc — sorted sets: ranks, skiplist levels, listpack / skiplist
// accounting, and ZADD, ZREM, ZCARD, ZSCORE, ZRANGEBYSCORE, ZREMRANGEBYSCORE.
#include <cmath>

#include "store_internal.h"

namespace stormkv::memstore {

template <class A>
uint8_t Store<A>::RandomZslLevel() {
  return static_cast<uint8_t>(model::ZslRandomLevel(zsl_rng_));
}

template <class A>
size_t Store<A>::ZRankFind(const ZsetT& z, double score, std::string_view m) const {
  auto it = std::lower_bound(z.ranks.begin(), z.ranks.end(), 0, [&](const ZRank& r, int) {
    if (r.score != score) return r.score < score;
    return View(z.members[r.mpos].key) < m;
  });
  return static_cast<size_t>(it - z.ranks.begin());
}

// Inserts a member. On a skiplist: zslInsert (a node of a freshly drawn level) then dictAdd of a
// new member; `level` > 0 reuses a node (zslUpdateScore kept it in place).
template <class A>
void Store<A>::ZsetInsert(ZsetT& z, std::string_view m, double score) {
  ZsetInsertLevel(z, m, score, 0);
}

template <class A>
void Store<A>::ZsetInsertLevel(ZsetT& z, std::string_view m, double score, uint8_t keep_level) {
  uint8_t level = 0;
  if (z.enc == Enc::kListpack && score == 0) score = 0.0;  // d2string writes -0 as "0"
  if (z.enc == Enc::kSkiplist) {
    level = keep_level != 0 ? keep_level : RandomZslLevel();
    uint64_t node = model::kZslNodeBase + model::kZslLevel * level;
    z.sl_bytes += Je(node) + Sds(m.size()) + Je(model::kDictEntry);
    z.usage_bytes += Je(node) + Sds(m.size()) + model::kDictEntry;
  } else {
    z.lp_bytes += model::ListpackEntryBytes(m) + model::ListpackEntryBytes(ScoreString(score));
  }
  size_t idx = ZRankFind(z, score, m);
  ZMember<A> zm{String(m.data(), m.size(), alloc_), score, level};
  if (z.enc == Enc::kSkiplist) zm.dh = DictHash(m);
  uint32_t mpos = z.members.Append(std::move(zm));
  z.ranks.insert(z.ranks.begin() + static_cast<std::ptrdiff_t>(idx), ZRank{score, mpos});
}

// dictAdd of z.members[mpos] into the skiplist's dict holding `in_dict` members: the members of
// the first in_dict ranks while converting, all others otherwise (in_dict == SIZE_MAX).
template <class A>
void Store<A>::ZsetDictAdd(ZsetT& z, uint32_t mpos, size_t in_dict) {
  if (in_dict == SIZE_MAX) {
    auto& items = z.members.items();
    z.dict.BeforeAdd([&](auto&& cb) {
      for (size_t k = 0; k < items.size(); ++k)
        if (k != mpos) cb(items[k].dh);
    });
  } else {
    z.dict.BeforeAdd([&](auto&& cb) {
      for (size_t k = 0; k < in_dict; ++k) cb(z.members[z.ranks[k].mpos].dh);
    });
  }
  z.dict.Inserted(z.members[mpos]);
}

// zslUpdateScore keeps the node when the new score still sorts strictly between its neighbours'.
template <class A>
bool Store<A>::ZsetNodeStays(const ZsetT& z, uint32_t mpos, double score) const {
  const ZMember<A>& zm = z.members[mpos];
  size_t idx = ZRankFind(z, zm.score, View(zm.key));
  bool prev_ok = idx == 0 || z.ranks[idx - 1].score < score;
  bool next_ok = idx + 1 >= z.ranks.size() || z.ranks[idx + 1].score > score;
  return prev_ok && next_ok;
}

// dictDelete of a skiplist member found by dictUnlink (its step taken by the caller).
template <class A>
void Store<A>::ZsetUnlink(ZsetT& z, uint32_t mpos) {
  z.dict.Removed(z.members[mpos]);
}

template <class A>
void Store<A>::ZsetRemoveAt(ZsetT& z, uint32_t mpos) {
  const ZMember<A>& zm = z.members[mpos];
  if (z.enc == Enc::kSkiplist) {
    uint64_t node = model::kZslNodeBase + model::kZslLevel * zm.level;
    z.sl_bytes -= Je(node) + Sds(zm.key.size()) + Je(model::kDictEntry);
    z.usage_bytes -= Je(node) + Sds(zm.key.size()) + model::kDictEntry;
  } else {
    z.lp_bytes -= model::ListpackEntryBytes(View(zm.key)) +
                  model::ListpackEntryBytes(ScoreString(zm.score));
  }
  size_t idx = ZRankFind(z, zm.score, View(zm.key));
  z.ranks.erase(z.ranks.begin() + static_cast<std::ptrdiff_t>(idx));
  uint32_t last = static_cast<uint32_t>(z.members.size() - 1);
  size_t moved_idx = 0;
  if (mpos != last) moved_idx = ZRankFind(z, z.members[last].score, View(z.members[last].key));
  z.members.EraseSwap(mpos);
  if (mpos != last) z.ranks[moved_idx].mpos = mpos;
}

// zsetConvert to a skiplist (7.0: no presizing): for each listpack entry in order, zslInsert
// (a drawn level) and dictAdd into a dict that grows and rehashes as it fills.
template <class A>
void Store<A>::ZsetConvert(ZsetT& z) {
  z.enc = Enc::kSkiplist;
  z.dict.Reset();
  z.sl_bytes = 0;
  z.usage_bytes = 0;
  for (size_t i = 0; i < z.ranks.size(); ++i) {
    ZMember<A>& zm = z.members[z.ranks[i].mpos];
    zm.level = RandomZslLevel();
    zm.dh = DictHash(View(zm.key));
    uint64_t node = model::kZslNodeBase + model::kZslLevel * zm.level;
    z.sl_bytes += Je(node) + Sds(zm.key.size()) + Je(model::kDictEntry);
    z.usage_bytes += Je(node) + Sds(zm.key.size()) + model::kDictEntry;
    ZsetDictAdd(z, z.ranks[i].mpos, i);
  }
}

template <class A>
Reply Store<A>::CmdZAdd(const Command& a) {
  bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = false;
  size_t idx = 2;
  for (; idx < a.size(); ++idx) {
    std::string_view o = a[idx];
    if (EqNoCase(o, "nx"))
      nx = true;
    else if (EqNoCase(o, "xx"))
      xx = true;
    else if (EqNoCase(o, "ch"))
      ch = true;
    else if (EqNoCase(o, "incr"))
      incr = true;
    else if (EqNoCase(o, "gt"))
      gt = true;
    else if (EqNoCase(o, "lt"))
      lt = true;
    else
      break;
  }
  size_t elements = a.size() - idx;
  if (elements % 2 != 0 || elements == 0) return Err(kErrSyntax);
  elements /= 2;
  if (nx && xx) return Err("ERR XX and NX options at the same time are not compatible");
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    return Err("ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  if (incr && elements > 1) return Err("ERR INCR option supports a single increment-element pair");
  std::vector<double> scores(elements);
  for (size_t j = 0; j < elements; ++j) {
    if (!ParseDouble(a[idx + j * 2], &scores[j])) return Err(kErrNotFloat);
  }
  auto [e, wrongtype] = FindWrite(a[1], ObjType::kZset);
  if (wrongtype) return Err(kErrWrongType);
  int64_t added = 0, updated = 0, processed = 0;
  double last_score = 0;
  if (e == nullptr) {
    if (xx) return incr ? Reply::Nil() : Reply::Integer(0);
    e = &AddKey(a[1], ObjType::kZset);
    NewZset(*e, zset_max_listpack_entries_ == 0 || a[idx + 1].size() > zset_max_listpack_value_);
  }
  ZsetT& z = *e->zset;
  for (size_t j = 0; j < elements; ++j) {
    double score = scores[j];
    std::string_view m = a[idx + 1 + j * 2];
    uint32_t pos = z.members.Find(m);
    if (z.enc == Enc::kSkiplist) z.dict.Find();  // zsetAdd's dictFind
    if (pos != kNoPos) {
      if (nx) continue;
      double cur = z.members[pos].score;
      if (incr) {
        score += cur;
        if (std::isnan(score)) {
          SetValueCost(*e, ZsetCost(z));
          return Err("ERR resulting score is not a number (NaN)");
        }
      }
      if ((lt && score >= cur) || (gt && score <= cur)) continue;
      last_score = score;
      ++processed;
      if (score != cur) {
        // zslUpdateScore: the node stays when it still sorts between its neighbours, else it is
        // deleted and a new one (of a new level) inserted; the dict entry stays either way.
        uint8_t keep = 0;
        if (z.enc == Enc::kSkiplist && ZsetNodeStays(z, pos, score)) keep = z.members[pos].level;
        uint32_t dh = z.members[pos].dh, dgen = z.members[pos].dgen;
        ZsetRemoveAt(z, pos);
        ZsetInsertLevel(z, m, score, keep);
        uint32_t np = z.members.Find(m);
        z.members[np].dh = dh;
        z.members[np].dgen = dgen;
        ++updated;
      }
    } else if (!xx) {
      if (z.enc == Enc::kListpack &&
          (z.members.size() + 1 > zset_max_listpack_entries_ || m.size() > zset_max_listpack_value_)) {
        ZsetConvert(z);
        z.dict.Find();  // the skiplist branch's dictFind
      }
      ZsetInsert(z, m, score);
      if (z.enc == Enc::kSkiplist) ZsetDictAdd(z, z.members.Find(m), SIZE_MAX);
      last_score = score;
      ++processed;
      ++added;
    }
  }
  e->enc = z.enc;
  SetValueCost(*e, ZsetCost(z));
  if (incr) return processed ? Reply::Bulk(FormatDouble(last_score)) : Reply::Nil();
  return Reply::Integer(ch ? added + updated : added);
}

template <class A>
Reply Store<A>::CmdZRem(const Command& a) {
  auto [e, wrongtype] = FindWrite(a[1], ObjType::kZset);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) return Reply::Integer(0);
  ZsetT& z = *e->zset;
  int64_t n = 0;
  for (size_t j = 2; j < a.size(); ++j) {
    // zsetDel: dictUnlink (a rehash step even when missing), then dictResize below 10% fill.
    if (z.enc == Enc::kSkiplist) z.dict.BeforeDelete();
    uint32_t pos = z.members.Find(a[j]);
    if (pos == kNoPos) continue;
    if (z.enc == Enc::kSkiplist) ZsetUnlink(z, pos);
    ZsetRemoveAt(z, pos);
    if (z.enc == Enc::kSkiplist) {
      auto& items = z.members.items();
      z.dict.ResizeIfNeeded([&](auto&& cb) { for (const auto& it : items) cb(it.dh); });
    }
    ++n;
    if (z.members.empty()) break;
  }
  DeleteIfEmpty(*e);
  return Reply::Integer(n);
}

template <class A>
Reply Store<A>::CmdZCard(const Command& a) {
  auto [e, wrongtype] = FindRead(a[1], ObjType::kZset);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) return Reply::Integer(0);
  return Reply::Integer(static_cast<int64_t>(e->zset->members.size()));
}

template <class A>
Reply Store<A>::CmdZScore(const Command& a) {
  auto [e, wrongtype] = FindRead(a[1], ObjType::kZset);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) return Reply::Nil();
  StepDict(*e);
  uint32_t pos = e->zset->members.Find(a[2]);
  if (pos == kNoPos) return Reply::Nil();
  return Reply::Bulk(FormatDouble(e->zset->members[pos].score));
}

template <class A>
Reply Store<A>::CmdZRangeByScore(const Command& a) {
  bool withscores = false;
  int64_t offset = 0, limit = -1;
  for (size_t j = 4; j < a.size(); ++j) {
    size_t left = a.size() - j - 1;
    if (EqNoCase(a[j], "withscores")) {
      withscores = true;
    } else if (EqNoCase(a[j], "limit") && left >= 2) {
      if (!ParseLL(a[j + 1], &offset) || !ParseLL(a[j + 2], &limit)) return Err(kErrNotInt);
      j += 2;
    } else {
      return Err(kErrSyntax);
    }
  }
  ScoreRange range;
  if (!ParseScoreRange(a[2], a[3], &range)) return Err(kErrMinMax);
  auto [e, wrongtype] = FindRead(a[1], ObjType::kZset);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) return Reply::Array({});
  const ZsetT& z = *e->zset;
  std::vector<Reply> out;
  if (EmptyRange(range)) {
    return Reply::Array({});
  }
  if (offset < 0 || (offset > 0 && static_cast<size_t>(offset) >= z.ranks.size())) {
    return Reply::Array({});
  }
  auto it = std::lower_bound(z.ranks.begin(), z.ranks.end(), range.min,
                             [](const ZRank& r, double v) { return r.score < v; });
  while (it != z.ranks.end() && !InRange(range, it->score) && it->score <= range.min) ++it;
  for (; it != z.ranks.end() && offset > 0 && InRange(range, it->score); ++it) --offset;
  for (; it != z.ranks.end() && limit != 0 && InRange(range, it->score); ++it) {
    out.push_back(Reply::Bulk(std::string(View(z.members[it->mpos].key))));
    if (withscores) out.push_back(Reply::Bulk(FormatDouble(it->score)));
    if (limit > 0) --limit;
  }
  return Reply::Array(std::move(out));
}

template <class A>
Reply Store<A>::CmdZRemRangeByScore(const Command& a) {
  ScoreRange range;
  if (!ParseScoreRange(a[2], a[3], &range)) return Err(kErrMinMax);
  auto [e, wrongtype] = FindWrite(a[1], ObjType::kZset);
  if (wrongtype) return Err(kErrWrongType);
  if (e == nullptr) return Reply::Integer(0);
  ZsetT& z = *e->zset;
  if (EmptyRange(range)) {
    return Reply::Integer(0);
  }
  std::vector<uint32_t> victims;
  auto it = std::lower_bound(z.ranks.begin(), z.ranks.end(), range.min,
                             [](const ZRank& r, double v) { return r.score < v; });
  for (; it != z.ranks.end() && (InRange(range, it->score) || it->score <= range.min); ++it) {
    if (InRange(range, it->score)) victims.push_back(it->mpos);
  }
  // Remove by member name: positions move as members are swap-removed.
  std::vector<std::string> names;
  names.reserve(victims.size());
  for (uint32_t p : victims) names.emplace_back(View(z.members[p].key));
  // zslDeleteRangeByScore: a dictDelete per node, then one dictResize.
  for (const std::string& m : names) {
    uint32_t pos = z.members.Find(m);
    if (z.enc == Enc::kSkiplist) {
      z.dict.BeforeDelete();
      ZsetUnlink(z, pos);
    }
    ZsetRemoveAt(z, pos);
  }
  if (z.enc == Enc::kSkiplist) {
    auto& items = z.members.items();
    z.dict.ResizeIfNeeded([&](auto&& cb) { for (const auto& it : items) cb(it.dh); });
  }
  int64_t n = static_cast<int64_t>(names.size());
  DeleteIfEmpty(*e);
  return Reply::Integer(n);
}

// The members defined here, for the two stores (per member, so that a unity batch of these
// files instantiates each once).
#define STORMKV_INSTANTIATE(A_)                                                                 \
  template uint8_t Store<A_>::RandomZslLevel();                                                 \
  template size_t Store<A_>::ZRankFind(const ZsetT& z, double score, std::string_view m) const; \
  template void Store<A_>::ZsetInsert(ZsetT& z, std::string_view m, double score);              \
  template void Store<A_>::ZsetInsertLevel(ZsetT& z, std::string_view m, double score,          \
                                           uint8_t keep_level);                                  \
  template void Store<A_>::ZsetDictAdd(ZsetT& z, uint32_t mpos, size_t in_dict);                \
  template bool Store<A_>::ZsetNodeStays(const ZsetT& z, uint32_t mpos, double score) const;    \
  template void Store<A_>::ZsetUnlink(ZsetT& z, uint32_t mpos);                                 \
  template void Store<A_>::ZsetRemoveAt(ZsetT& z, uint32_t mpos);                               \
  template void Store<A_>::ZsetConvert(ZsetT& z);                                               \
  template Reply Store<A_>::CmdZAdd(const Command& a);                                          \
  template Reply Store<A_>::CmdZRem(const Command& a);                                          \
  template Reply Store<A_>::CmdZCard(const Command& a);                                         \
  template Reply Store<A_>::CmdZScore(const Command& a);                                        \
  template Reply Store<A_>::CmdZRangeByScore(const Command& a);                                 \
  template Reply Store<A_>::CmdZRemRangeByScore(const Command& a);
STORMKV_INSTANTIATE(std::allocator<char>)
STORMKV_INSTANTIATE(shm::Allocator<char>)
#undef STORMKV_INSTANTIATE

}  // namespace stormkv::memstore
