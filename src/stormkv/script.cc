#include "stormkv/script.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace stormkv {
namespace {

// The algorithm fetched once (EVP_sha256() alone makes every EVP_Digest fetch it from the
// provider again, about half the cost of hashing a short key) and one context per thread.
// `name`: "SHA1" / "SHA256"; `fallback`: the legacy constant, used when the fetch fails.
std::string DigestHex(const char* name, const EVP_MD* fallback, std::string_view data) {
  struct Ctx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Ctx sha1, sha256;
  static EVP_MD* const kSha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  const bool is_sha1 = name[3] == '1';
  EVP_MD* md = is_sha1 ? kSha1 : kSha256;
  EVP_MD_CTX* ctx = (is_sha1 ? sha1 : sha256).ctx;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (md == nullptr || ctx == nullptr || EVP_DigestInit_ex2(ctx, md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out, &len) != 1) {
    len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, fallback, nullptr);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex(len * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    hex[2 * i] = kHex[out[i] >> 4];
    hex[2 * i + 1] = kHex[out[i] & 15];
  }
  return hex;
}

// True when `lua` starts with a Redis 7.0 shebang ("#!lua ...") whose flags= list holds
// no-writes.
bool ShebangSaysNoWrites(std::string_view lua) {
  if (lua.substr(0, 5) != "#!lua") return false;
  std::string_view line = lua.substr(0, lua.find('\n'));
  std::size_t at = line.find(" flags=");
  if (at == std::string_view::npos) return false;
  std::string_view flags = line.substr(at + 7);
  flags = flags.substr(0, flags.find(' '));
  while (!flags.empty()) {
    std::size_t comma = flags.find(',');
    if (flags.substr(0, comma) == "no-writes") return true;
    if (comma == std::string_view::npos) break;
    flags.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::string Sha1Hex(std::string_view data) { return DigestHex("SHA1", EVP_sha1(), data); }
std::string Sha256Hex(std::string_view data) { return DigestHex("SHA256", EVP_sha256(), data); }

Script::Script(std::string name, std::string lua, NativeTwin twin, bool read_only)
    : name_(std::move(name)),
      lua_(std::move(lua)),
      sha1_(Sha1Hex(lua_)),
      twin_(std::move(twin)),
      read_only_(read_only || ShebangSaysNoWrites(lua_)) {}

ScriptRegistry& ScriptRegistry::Global() {
  static ScriptRegistry* registry = new ScriptRegistry();  // never destroyed: scripts outlive statics
  return *registry;
}

const Script& ScriptRegistry::Register(Script script) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = scripts_.find(script.name());
  if (it != scripts_.end()) {
    if (it->second->lua() != script.lua()) {
      std::fprintf(stderr, "stormkv: two different scripts registered as '%s'\n",
                   script.name().c_str());
      std::abort();
    }
    return *it->second;
  }
  auto owned = std::make_unique<Script>(std::move(script));
  const Script& ref = *owned;
  scripts_.emplace(ref.name(), std::move(owned));
  return ref;
}

const Script* ScriptRegistry::Find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = scripts_.find(name);
  return it == scripts_.end() ? nullptr : it->second.get();
}

std::vector<const Script*> ScriptRegistry::All() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const Script*> out;
  for (const auto& [name, s] : scripts_) out.push_back(s.get());
  return out;
}

}  // namespace stormkv
