// AUTH and ACL on private redis-server instances (labels fault, security, redis): credentials
// never appear in Describe() or in any error text — of the backend, of the Pipeline's result and
// decisions, of the decision JSON — whatever fails (wrong or missing password, disabled user, the
// server gone, a command timeout, NOPERM); an ACL user confined to `~<prefix>*` runs the whole
// gateway, hostile labels included, without one NOPERM, which proves on a real server that no
// key leaves the prefix.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "gateway/payloads.h"
#include "redis/private_redis.h"
#include "stormkv/clock.h"
#include "stormkv/gateway/pipeline.h"
#include "stormkv/redis_backend.h"

namespace stormkv::fault {
namespace {

using std::chrono::milliseconds;
using stormkv::testing::PrivateRedis;
using stormkv::testing::TestAlert;
using stormkv::testing::Webhook;

// Password as the server knows it, and as it sits (percent-encoded) in a URL.
constexpr const char* kPassword = "Sup3r-S3cret/pw@x";
constexpr const char* kPasswordInUrl = "Sup3r-S3cret%2Fpw%40x";
constexpr const char* kUserPassword = "gw-Pa55word-77";

Result<std::unique_ptr<KvBackend>> Open(const std::string& url, bool eager = true,
                                        milliseconds command_timeout = milliseconds(2000)) {
  RedisOptions o;
  o.url = url;
  o.connect_timeout = milliseconds(1000);
  o.command_timeout = command_timeout;
  o.pool_size = 2;
  o.connect_eagerly = eager;
  return NewRedisBackend(o);
}

// Collects every text a user could see and checks none carries a secret.
class SecretScanner {
 public:
  explicit SecretScanner(std::vector<std::string> secrets) : secrets_(std::move(secrets)) {}
  void Add(const std::string& where, const std::string& text) {
    ++texts_;
    for (const std::string& s : secrets_) {
      EXPECT_EQ(text.find(s), std::string::npos) << where << " leaks a credential: " << text;
    }
  }
  void Add(const std::string& where, const Status& s) { Add(where, s.ToString()); }
  void Add(const std::string& where, const IngestResult& r) {
    Add(where + " status", r.status);
    for (const AlertDecision& d : r.decisions) {
      Add(where + " reason", d.reason);
      Add(where + " decision status", d.status);
      Add(where + " decision JSON", AlertDecisionToJson(d));
    }
  }
  int texts() const { return texts_; }

 private:
  std::vector<std::string> secrets_;
  int texts_ = 0;
};

std::vector<std::string> Secrets() {
  return {kPassword, kPasswordInUrl, "Sup3r", "S3cret", kUserPassword, "Pa55word"};
}

PipelineOptions Options(const std::string& prefix) {
  PipelineOptions o;
  o.keys.prefix = prefix;
  o.storm.pattern_threshold = 2;
  return o;
}

std::vector<TestAlert> HostileStorm() {
  std::vector<TestAlert> alerts;
  for (const std::string& v : std::vector<std::string>{"x}:{y", "*", "tenant:dedup:{z}", "a\nb", std::string(900, '{')}) {
    TestAlert a;
    a.name = "Storm" + v.substr(0, 20);
    a.ns = v;
    for (int i = 0; i < 4; ++i) {
      a.resource = v + std::to_string(i);
      alerts.push_back(a);
    }
  }
  return alerts;
}

TEST(RedisAuthTest, NoCredentialInAnyTextWhateverFails) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateRedis::Start({"--requirepass", kPassword}));
  const std::string hostport = "127.0.0.1:" + std::to_string(server->port());
  const std::string good_url = "redis://:" + std::string(kPasswordInUrl) + "@" + hostport + "/0";
  SecretScanner scan(Secrets());
  auto clock = std::make_shared<ManualClock>();

  // Right password: works, and Describe() names the server only.
  ASSERT_OK_AND_ASSIGN(auto good, Open(good_url));
  ASSERT_OK(good->Run({"PING"}));
  EXPECT_EQ(good->Describe(), "redis://" + hostport + "/0");
  scan.Add("Describe", good->Describe());
  scan.Add("endpoint", AsRedisBackend(good.get())->endpoint().Describe());

  // Wrong password, no password, a password for a user that does not exist.
  for (const std::string& url :
       {"redis://:Sup3r-S3cret-wrong@" + hostport + "/0", "redis://" + hostport + "/0",
        "redis://nobody:" + std::string(kPasswordInUrl) + "@" + hostport + "/0"}) {
    Result<std::unique_ptr<KvBackend>> eager = Open(url);
    ASSERT_FALSE(eager.ok()) << url;
    scan.Add("eager connect", eager.status());
    EXPECT_NE(eager.status().message().find("redis://" + hostport + "/0"), std::string::npos)
        << "names the server: " << eager.status();
    ASSERT_OK_AND_ASSIGN(auto lazy, Open(url, /*eager=*/false));
    scan.Add("lazy Describe", lazy->Describe());
    Result<Reply> ping = lazy->Run({"PING"});
    ASSERT_FALSE(ping.ok());
    scan.Add("lazy Run", ping.status());
    Pipeline p(*lazy, clock, Options("tenant:"));
    IngestResult r = p.Ingest(Webhook(HostileStorm()));
    EXPECT_FALSE(r.status.ok());
    EXPECT_EQ(r.http_status, 503);
    scan.Add("pipeline over a refused login", r);
  }

  // Malformed URLs that carry the password.
  for (const std::string& url :
       {"redis://:" + std::string(kPasswordInUrl) + "@" + "127.0.0.1:99999/0",
        "redis://:" + std::string(kPasswordInUrl) + "@127.0.0.1:6379/notadb",
        "rediss://:" + std::string(kPasswordInUrl) + "@127.0.0.1:6379/0",
        "redis://user:" + std::string(kPasswordInUrl) + "%zz@127.0.0.1:6379/0"}) {
    Result<RedisEndpoint> parsed = ParseRedisUrl(url);
    ASSERT_FALSE(parsed.ok()) << url;
    scan.Add("ParseRedisUrl", parsed.status());
    Result<std::unique_ptr<KvBackend>> created = Open(url);
    ASSERT_FALSE(created.ok());
    scan.Add("NewRedisBackend", created.status());
  }

  // A command timeout: the server is paused by another client.
  ASSERT_OK_AND_ASSIGN(auto impatient, Open(good_url, true, milliseconds(200)));
  // (good's next call returns when the pause is over: no sleeping here.)
  ASSERT_OK(good->Run({"CLIENT", "PAUSE", "600", "ALL"}));
  Result<Reply> slow = impatient->Run({"GET", "k"});
  ASSERT_FALSE(slow.ok());
  EXPECT_TRUE(slow.status().IsTimeout()) << slow.status();
  scan.Add("timeout", slow.status());
  ASSERT_OK(good->Run({"PING"}));

  // The server goes away under an authenticated backend.
  ASSERT_OK(server->Stop());
  Result<Reply> gone = good->Run({"PING"});
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(gone.status().IsUnavailable()) << gone.status();
  scan.Add("server gone", gone.status());
  Pipeline pg(*good, clock, Options("tenant:"));
  IngestResult down = pg.Ingest(Webhook(HostileStorm()));
  EXPECT_FALSE(down.status.ok());
  scan.Add("pipeline, server gone", down);
  EXPECT_GT(scan.texts(), 100);
}

TEST(RedisAuthTest, AclUserConfinedToThePrefixRunsTheWholeGateway) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateRedis::Start({"--requirepass", kPassword}));
  const std::string hostport = "127.0.0.1:" + std::to_string(server->port());
  ASSERT_OK_AND_ASSIGN(auto admin, Open("redis://:" + std::string(kPasswordInUrl) + "@" + hostport + "/0"));
  // Keys only under "tenant:"; no admin commands (CONFIG, FLUSHDB, KEYS, DEBUG...).
  ASSERT_OK(admin->Run({"ACL", "SETUSER", "gw", "on", std::string(">") + kUserPassword,
                        "~tenant:*", "+@all", "-@dangerous"}));
  ASSERT_OK(admin->Run({"ACL", "SETUSER", "readonly", "on", std::string(">") + kUserPassword,
                        "~tenant:*", "+@read", "+ping"}));
  ASSERT_OK(admin->Run({"ACL", "SETUSER", "disabled", "off", std::string(">") + kUserPassword,
                        "~*", "+@all"}));
  SecretScanner scan(Secrets());
  auto clock = std::make_shared<ManualClock>();
  const std::string user_url = "redis://gw:" + std::string(kUserPassword) + "@" + hostport + "/0";
  ASSERT_OK_AND_ASSIGN(auto gw, Open(user_url));
  scan.Add("Describe", gw->Describe());
  EXPECT_EQ(gw->Describe().find("gw"), std::string::npos) << "the user name is not shown either";

  // Every layout, hostile labels, both sources, rate limiting: not one NOPERM.
  for (Layout layout : kAllLayouts) {
    PipelineOptions o = Options("tenant:" + std::string(LayoutName(layout)) + ":");
    o.aggregation.layout = layout;
    Pipeline p(*gw, clock, o);
    IngestResult r = p.Ingest(Webhook(HostileStorm()), SignalSource::kAlertmanager, "a:{b}*");
    ASSERT_TRUE(r.status.ok()) << LayoutName(layout) << ": " << r.status;
    EXPECT_GE(r.Count(Outcome::kStormAggregated), 5u);
    IngestResult again = p.Ingest(Webhook(HostileStorm()));
    ASSERT_OK(again.status);
    EXPECT_EQ(again.Count(Outcome::kDuplicate), again.decisions.size());
    IngestResult ev = p.Ingest(stormkv::testing::KubeEvent("Back:{Off}*", "ns\n{x}", "Pod", "p?[0]"),
                               SignalSource::kKubernetesEvent, "}{");
    EXPECT_TRUE(ev.status.ok() || ev.status.IsInvalidArgument()) << ev.status;
    NormalizedSignal opening;
    opening.name = "Stormx}:{y";
    opening.namespace_name = "x}:{y";
    ASSERT_OK_AND_ASSIGN(auto rec, p.StormRequest(opening));
    EXPECT_TRUE(rec.has_value());
  }
  ASSERT_OK_AND_ASSIGN(Reply all, admin->Run({"KEYS", "*"}));
  ASSERT_GT(all.elements().size(), 20u);
  for (const Reply& k : all.elements()) EXPECT_EQ(k.str().rfind("tenant:", 0), 0u) << k.str();

  // Outside its keys: NOPERM, a clear error on the decision, no credential.
  Pipeline outside(*gw, clock, Options("other:"));
  IngestResult denied = outside.Ingest(Webhook(HostileStorm()));
  ASSERT_FALSE(denied.status.ok());
  EXPECT_EQ(denied.http_status, 503);
  EXPECT_NE(denied.status.message().find("NOPERM"), std::string::npos) << denied.status;
  scan.Add("NOPERM", denied);

  // A read-only user cannot run the gateway's scripts; a disabled user cannot log in.
  ASSERT_OK_AND_ASSIGN(auto ro, Open("redis://readonly:" + std::string(kUserPassword) + "@" + hostport + "/0"));
  Pipeline rop(*ro, clock, Options("tenant:"));
  IngestResult ro_result = rop.Ingest(Webhook(HostileStorm()));
  ASSERT_FALSE(ro_result.status.ok());
  EXPECT_NE(ro_result.status.message().find("NOPERM"), std::string::npos) << ro_result.status;
  scan.Add("read-only user", ro_result);
  Result<std::unique_ptr<KvBackend>> off =
      Open("redis://disabled:" + std::string(kUserPassword) + "@" + hostport + "/0");
  ASSERT_FALSE(off.ok());
  EXPECT_NE(off.status().message().find("WRONGPASS"), std::string::npos) << off.status();
  scan.Add("disabled user", off.status());
  Result<std::unique_ptr<KvBackend>> bad =
      Open("redis://gw:" + std::string(kUserPassword) + "-typo@" + hostport + "/0");
  ASSERT_FALSE(bad.ok());
  scan.Add("wrong user password", bad.status());

  // The server's own log and ACL LOG never hold the passwords either.
  ASSERT_OK_AND_ASSIGN(Reply acl_log, admin->Run({"ACL", "LOG"}));
  scan.Add("ACL LOG", acl_log.ToString());
}

}  // namespace
}  // namespace stormkv::fault
