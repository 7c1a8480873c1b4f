// tests/lua/lua_golden.h — Redis 7.0.15's replies to the engine cases of the corpus, kept in
// tests/lua/engine_corpus.golden (one line per case: name, TAB, the encoded outcome), so that the
// embedded engine is compared with Redis without a server (lua_store_corpus_test) and the file
// with the server (lua_fidelity_test's EngineCasesMatchTheGoldenFile).
#ifndef STORMKV_TESTS_LUA_LUA_GOLDEN_H_
#define STORMKV_TESTS_LUA_LUA_GOLDEN_H_

#include <map>
#include <string>
#include <vector>

#include "lua/lua_corpus.h"
#include "stormkv/kv_backend.h"
#include "stormkv/reply.h"
#include "stormkv/status.h"

namespace stormkv::testing_lua {

// Engine cases whose reply differs from Redis's on purpose: body -> reason.
const std::map<std::string, std::string>& EngineCasesThatDiffer();
// One line per outcome: _ nil, :N integer, $ bulk, + status, - error reply, *N[...] array,
// ! a failed Run (its error text); bytes outside 0x20-0x7e and '\\' escaped.
std::string EncodeOutcome(const Result<Reply>& r);
// The engine cases of BuildCorpus (they do not depend on the seed).
std::vector<LuaCase> EngineCases();
// The golden file's path, and its contents (case name -> encoded outcome).
const char* GoldenPath();
std::map<std::string, std::string> ReadGolden();
// FLUSHDB, then EVAL of the case's body with no keys.
Result<Reply> RunOnEmptyDatabase(KvBackend& kv, const LuaCase& c);

}  // namespace stormkv::testing_lua

#endif  // STORMKV_TESTS_LUA_LUA_GOLDEN_H_
