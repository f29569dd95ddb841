#include "cluster/etcd_store.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "cluster/embedded_store.h"
#include "cluster/store_gateway.h"
#include "cluster/watch_events_testing.h"
#include "security/certs.h"
#include "testing/etcd_process.h"

namespace epara::cluster {
namespace {

using namespace std::chrono_literals;

// The same protocol tests against a real etcd and against epara's StoreGateway over an
// EmbeddedStore (what `epara up` serves to its nodes). Every test works under its own key prefix.
class EtcdStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    embedded_ = new EmbeddedStore();
    if (Status s = StoreGateway::Start(embedded_, "127.0.0.1", 0, &gateway_); !s.ok()) {
      setup_error_ = s.ToString();
      return;
    }
    gateway_store_ = Connect(gateway_->port());
    if (epara::testing::FindEtcd().empty()) return;  // the etcd variant skips
    etcd_ = new epara::testing::EtcdProcess();
    if (!etcd_->Start(&setup_error_)) return;
    etcd_store_ = Connect(etcd_->client_port());
  }
  static EtcdStore* Connect(int port) {
    EtcdStoreOptions o;
    o.port = port;
    std::unique_ptr<EtcdStore> s;
    if (Status st = EtcdStore::Connect(o, &s); !st.ok()) setup_error_ = st.ToString();
    return s.release();
  }
  static void TearDownTestSuite() {
    delete etcd_store_;
    delete gateway_store_;
    delete etcd_;
    gateway_.reset();
    delete embedded_;
    etcd_store_ = gateway_store_ = nullptr;
    etcd_ = nullptr;
    embedded_ = nullptr;
  }
  void SetUp() override {
    if (GetParam() == "etcd" && epara::testing::FindEtcd().empty())
      GTEST_SKIP() << "etcd is not installed (scripts/setup.sh installs etcd-server)";
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    store_ = GetParam() == "etcd" ? etcd_store_ : gateway_store_;
    ASSERT_NE(store_, nullptr);
    prefix_ =
        std::string("/") + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "/";
    for (char& c : prefix_)
      if (c == '/' && &c != &prefix_.front() && &c != &prefix_.back()) c = '_';
  }

  static inline epara::testing::EtcdProcess* etcd_ = nullptr;
  static inline EmbeddedStore* embedded_ = nullptr;
  static inline std::unique_ptr<StoreGateway> gateway_;
  static inline EtcdStore* etcd_store_ = nullptr;
  static inline EtcdStore* gateway_store_ = nullptr;
  static inline std::string setup_error_;
  EtcdStore* store_ = nullptr;
  std::string prefix_;
};

INSTANTIATE_TEST_SUITE_P(Stores, EtcdStoreTest, ::testing::Values("etcd", "gateway"),
                         [](const auto& info) { return info.param; });

TEST_P(EtcdStoreTest, PutGetListDeleteWithRevisions) {
  EtcdStore& s = *store_;
  EXPECT_FALSE(s.server_version().empty());
  int64_t r1 = 0, r2 = 0;
  ASSERT_TRUE(s.Put(prefix_ + "a/1", "x", kNoLease, &r1).ok());
  ASSERT_TRUE(s.Put(prefix_ + "a/2", "y", kNoLease, &r2).ok());
  ASSERT_TRUE(s.Put(prefix_ + "b/1", "z", kNoLease).ok());
  EXPECT_EQ(r2, r1 + 1);
  KeyValue kv;
  ASSERT_TRUE(s.Get(prefix_ + "a/2", &kv).ok());
  EXPECT_EQ(kv.value, "y");
  EXPECT_EQ(kv.mod_revision, r2);
  std::vector<KeyValue> list;
  int64_t rev = 0;
  ASSERT_TRUE(s.List(prefix_ + "a/", &list, &rev).ok());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].key, prefix_ + "a/1");
  EXPECT_EQ(list[1].key, prefix_ + "a/2");
  EXPECT_GE(rev, r2 + 1);
  ASSERT_TRUE(s.Delete(prefix_ + "a/1").ok());
  EXPECT_EQ(s.Get(prefix_ + "a/1", &kv).code(), StatusCode::kNotFound);
  EXPECT_EQ(s.Delete(prefix_ + "a/1").code(), StatusCode::kNotFound);
  EXPECT_EQ(s.Put("", "v", kNoLease).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.Put(prefix_ + "k", "v", 999).code(), StatusCode::kNotFound);  // unknown lease
}

// Leader election's primitive: only the first of two writers creates the key; once its lease is
// revoked (the leader died or stepped down) the next writer does.
TEST_P(EtcdStoreTest, PutIfAbsentCreatesOnlyOnce) {
  EtcdStore& s = *store_;
  LeaseId la = kNoLease, lb = kNoLease;
  ASSERT_TRUE(s.GrantLease(std::chrono::seconds(10), &la).ok());
  ASSERT_TRUE(s.GrantLease(std::chrono::seconds(10), &lb).ok());
  bool created = false;
  ASSERT_TRUE(s.PutIfAbsent(prefix_ + "leader", "a", la, &created).ok());
  EXPECT_TRUE(created);
  ASSERT_TRUE(s.PutIfAbsent(prefix_ + "leader", "b", lb, &created).ok());
  EXPECT_FALSE(created);
  KeyValue kv;
  ASSERT_TRUE(s.Get(prefix_ + "leader", &kv).ok());
  EXPECT_EQ(kv.value, "a");
  ASSERT_TRUE(s.RevokeLease(la).ok());
  ASSERT_TRUE(s.PutIfAbsent(prefix_ + "leader", "b", lb, &created).ok());
  EXPECT_TRUE(created);
  ASSERT_TRUE(s.Get(prefix_ + "leader", &kv).ok());
  EXPECT_EQ(kv.value, "b");
}

TEST_P(EtcdStoreTest, BinaryKeysAndValuesRoundTrip) {
  const std::string key = prefix_ + std::string("\xff\x00\x01", 3);
  const std::string value("\x00\xfe\n\"{}", 6);
  ASSERT_TRUE(store_->Put(key, value, kNoLease).ok());
  KeyValue kv;
  ASSERT_TRUE(store_->Get(key, &kv).ok());
  EXPECT_EQ(kv.key, key);
  EXPECT_EQ(kv.value, value);
}

TEST_P(EtcdStoreTest, RevokedLeaseTakesItsKeysAndCannotBeKeptAlive) {
  LeaseId lease = kNoLease;
  ASSERT_TRUE(store_->GrantLease(5000ms, &lease).ok());
  ASSERT_TRUE(store_->Put(prefix_ + "n", "A", lease).ok());
  KeyValue kv;
  ASSERT_TRUE(store_->Get(prefix_ + "n", &kv).ok());
  EXPECT_EQ(kv.lease, lease);
  EXPECT_TRUE(store_->KeepAlive(lease).ok());
  ASSERT_TRUE(store_->RevokeLease(lease).ok());
  EXPECT_EQ(store_->Get(prefix_ + "n", &kv).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->KeepAlive(lease).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->RevokeLease(lease).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GrantLease(0ms, &lease).code(), StatusCode::kInvalidArgument);
}

TEST_P(EtcdStoreTest, AnExpiredLeaseDeletesItsKeysAndTheWatchSeesIt) {
  int64_t rev = 0;
  std::vector<KeyValue> list;
  ASSERT_TRUE(store_->List(prefix_, &list, &rev).ok());
  WatchEvents events;
  std::unique_ptr<WatchHandle> watch;
  ASSERT_TRUE(store_->Watch(prefix_, rev, events.callback(), &watch).ok());
  LeaseId lease = kNoLease;
  ASSERT_TRUE(store_->GrantLease(1000ms, &lease).ok());
  ASSERT_TRUE(store_->Put(prefix_ + "node", "up", lease).ok());
  const auto started = std::chrono::steady_clock::now();
  const auto got = events.Wait(2, 10s);  // the put, then etcd's deletion at expiry
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, WatchEvent::Type::kPut);
  EXPECT_EQ(got[0].kv.value, "up");
  EXPECT_EQ(got[1].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(got[1].kv.key, prefix_ + "node");
  EXPECT_GT(got[1].kv.mod_revision, got[0].kv.mod_revision);
  EXPECT_LT(waited, 5s);
  EXPECT_EQ(store_->KeepAlive(lease).code(), StatusCode::kNotFound);
}

TEST_P(EtcdStoreTest, WatchFromAnEarlierRevisionReplaysWhatItMissed) {
  std::vector<KeyValue> list;
  int64_t rev = 0;
  ASSERT_TRUE(store_->Put(prefix_ + "a", "1", kNoLease).ok());
  ASSERT_TRUE(store_->List(prefix_, &list, &rev).ok());
  ASSERT_TRUE(store_->Put(prefix_ + "b", "2", kNoLease).ok());  // between List and Watch
  ASSERT_TRUE(store_->Put("/elsewhere", "x", kNoLease).ok());   // outside the prefix
  WatchEvents events;
  std::unique_ptr<WatchHandle> watch;
  ASSERT_TRUE(store_->Watch(prefix_, rev, events.callback(), &watch).ok());
  ASSERT_TRUE(store_->Put(prefix_ + "c", "3", kNoLease).ok());
  ASSERT_TRUE(store_->Delete(prefix_ + "a").ok());
  const auto got = events.Wait(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].kv.key, prefix_ + "b");
  EXPECT_EQ(got[1].kv.key, prefix_ + "c");
  EXPECT_EQ(got[2].kv.key, prefix_ + "a");
  EXPECT_EQ(got[2].type, WatchEvent::Type::kDelete);
}

TEST_P(EtcdStoreTest, NoCallbackRunsAfterTheHandleIsDestroyed) {
  std::atomic<int> calls{0};
  std::atomic<bool> destroyed{false}, late{false};
  int64_t rev = 0;
  std::vector<KeyValue> list;
  ASSERT_TRUE(store_->List(prefix_, &list, &rev).ok());
  std::unique_ptr<WatchHandle> watch;
  ASSERT_TRUE(store_
                  ->Watch(
                      prefix_, rev,
                      [&](const WatchEvent&) {
                        calls++;
                        if (destroyed.load()) late = true;
                      },
                      &watch)
                  .ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(store_->Put(prefix_ + "k", std::to_string(i), 0).ok());
  watch.reset();
  destroyed = true;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(store_->Put(prefix_ + "k", std::to_string(i), 0).ok());
  // A second watch over the same prefix proves etcd has sent everything written so far.
  WatchEvents fence;
  std::unique_ptr<WatchHandle> w2;
  ASSERT_TRUE(store_->Watch(prefix_, rev, fence.callback(), &w2).ok());
  ASSERT_EQ(fence.Wait(40).size(), 40u);
  EXPECT_FALSE(late.load());
  EXPECT_LE(calls.load(), 20);
}

TEST(EtcdStoreConnectTest, NothingListeningIsUnavailable) {
  EtcdStoreOptions o;
  o.port = epara::testing::FreeLoopbackPort();
  o.timeout = 500ms;
  std::unique_ptr<EtcdStore> s;
  EXPECT_EQ(EtcdStore::Connect(o, &s).code(), StatusCode::kUnavailable);
}

TEST(EtcdEndpointsTest, ParsesEveryMemberAndAimsAtEachInTurn) {
  EtcdStoreOptions o;
  ASSERT_TRUE(ParseEtcdEndpoints("10.0.0.1:2379,etcd-b:2380,[::1]:2381", &o).ok());
  EXPECT_EQ(o.host, "10.0.0.1");
  EXPECT_EQ(o.port, 2379);
  EXPECT_EQ(EtcdMembers(o), 3u);
  EXPECT_EQ(AtEtcdMember(o, 1).host, "etcd-b");
  EXPECT_EQ(AtEtcdMember(o, 2).host, "[::1]");
  EXPECT_EQ(AtEtcdMember(o, 4).port, 2380);  // modulo the members
  EXPECT_EQ(ParseEtcdEndpoints("a:1,,b:2", &o).code(), StatusCode::kInvalidArgument);
  EtcdStoreOptions one;
  EXPECT_EQ(EtcdMembers(one), 1u);
  EXPECT_EQ(AtEtcdMember(one, 5).port, 2379);
}

// A three-member etcd survives one member's death, and so does a client given every member: its
// calls and its watch move to a member that is left. Connect skips a member that is down.
TEST(EtcdClusterTest, CallsAndWatchesMoveToAMemberThatIsLeft) {
  if (epara::testing::FindEtcd().empty())
    GTEST_SKIP() << "etcd is not installed (scripts/setup.sh installs etcd-server)";
  std::vector<std::unique_ptr<epara::testing::EtcdProcess>> members;
  std::string error;
  ASSERT_TRUE(epara::testing::EtcdProcess::StartCluster(3, &members, &error)) << error;
  std::string list;
  for (const auto& m : members)
    list += (list.empty() ? "127.0.0.1:" : ",127.0.0.1:") + std::to_string(m->client_port());
  EtcdStoreOptions o;
  ASSERT_TRUE(ParseEtcdEndpoints(list, &o).ok());
  o.timeout = 2000ms;
  std::unique_ptr<EtcdStore> store;
  ASSERT_TRUE(EtcdStore::Connect(o, &store).ok());
  LeaseId lease = kNoLease;
  ASSERT_TRUE(store->GrantLease(3000ms, &lease).ok());
  ASSERT_TRUE(store->Put("/fail/node", "before", lease).ok());
  int64_t rev = 0;
  std::vector<KeyValue> kvs;
  ASSERT_TRUE(store->List("/fail/", &kvs, &rev).ok());
  WatchEvents events;
  std::unique_ptr<WatchHandle> watch;
  ASSERT_TRUE(store->Watch("/fail/", rev, events.callback(), &watch).ok());

  members[0]->Kill();  // the member the client and its watch talk to
  // A write goes through once the members that are left have a leader (the next sync period of a
  // node would retry the same way; bounded).
  Status put = Unavailable("not tried");
  for (auto until = std::chrono::steady_clock::now() + 15s;
       !put.ok() && std::chrono::steady_clock::now() < until;) {
    put = store->Put("/fail/node", "after", lease);
    if (!put.ok()) std::this_thread::sleep_for(100ms);  // a retry period, bounded
  }
  ASSERT_TRUE(put.ok()) << put.ToString();
  EXPECT_TRUE(store->KeepAlive(lease).ok());  // the lease lives on in the cluster
  KeyValue kv;
  ASSERT_TRUE(store->Get("/fail/node", &kv).ok());
  EXPECT_EQ(kv.value, "after");
  const auto got = events.Wait(1, 15s);  // the watch reconnected elsewhere and saw the write
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().kv.value, "after");

  // A new client whose first member is the dead one connects to the next.
  std::unique_ptr<EtcdStore> late;
  ASSERT_TRUE(EtcdStore::Connect(o, &late).ok());
  ASSERT_TRUE(late->Get("/fail/node", &kv).ok());
  EXPECT_EQ(kv.value, "after");
}

// With a cluster credential the gateway serves only clients that present it (GET /version stays
// open, as etcd's does): a node without it cannot list, put or join.
TEST(StoreGatewayCredentialTest, OnlyClientsWithTheCredentialReachTheStore) {
  EmbeddedStore embedded;
  std::unique_ptr<StoreGateway> gateway;
  ASSERT_TRUE(StoreGateway::Start(&embedded, "127.0.0.1", 0, &gateway, "cluster-secret").ok());
  auto connect = [&](const std::string& bearer) {
    EtcdStoreOptions o;
    o.port = gateway->port();
    o.bearer = bearer;
    std::unique_ptr<EtcdStore> s;
    EXPECT_TRUE(EtcdStore::Connect(o, &s).ok());
    return s;
  };
  for (const std::string& bearer : {std::string(), std::string("guess")}) {
    auto s = connect(bearer);
    ASSERT_TRUE(s);
    int64_t rev = 0;
    Status put = s->Put("/k", "v", kNoLease, &rev);
    EXPECT_EQ(put.code(), StatusCode::kUnauthenticated) << put.ToString();
    EXPECT_NE(put.message().find("cluster credential"), std::string::npos) << put.message();
    std::vector<KeyValue> kvs;
    EXPECT_EQ(s->List("/", &kvs, &rev).code(), StatusCode::kUnauthenticated);
  }
  KeyValue kv;
  EXPECT_EQ(embedded.Get("/k", &kv).code(), StatusCode::kNotFound);  // nothing was written
  auto member = connect("cluster-secret");
  ASSERT_TRUE(member);
  int64_t rev = 0;
  ASSERT_TRUE(member->Put("/k", "v", kNoLease, &rev).ok());
  ASSERT_TRUE(member->Get("/k", &kv).ok());
  EXPECT_EQ(kv.value, "v");
}

// etcd over TLS with client certificates (Debian's etcd 3.4): a client with a certificate from
// the trusted CA reads and writes; one without TLS, with another CA's certificate, or trusting
// another CA, does not get in.
TEST(EtcdTlsTest, ClientCertificatesFromTheTrustedCaAreRequired) {
  if (epara::testing::FindEtcd().empty())
    GTEST_SKIP() << "etcd is not installed (scripts/setup.sh installs etcd-server)";
  const std::string dir = ::testing::TempDir() + "/etcd_tls_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(security::CreateCa(dir + "/ca", "etcd test CA").ok());
  ASSERT_TRUE(security::CreateCa(dir + "/other", "stranger").ok());
  ASSERT_TRUE(security::IssueCertificate(dir + "/ca", "etcd", {"127.0.0.1"}, dir + "/etcd").ok());
  ASSERT_TRUE(security::IssueCertificate(dir + "/ca", "node-a", {}, dir + "/node-a").ok());
  ASSERT_TRUE(security::IssueCertificate(dir + "/other", "mallory", {}, dir + "/mallory").ok());
  epara::testing::EtcdProcess etcd;
  const epara::testing::EtcdProcess::Tls tls{dir + "/ca/ca.pem", dir + "/etcd.pem",
                                             dir + "/etcd.key"};
  std::string error;
  ASSERT_TRUE(etcd.Start(&error, &tls)) << error;
  auto options = [&](const std::string& ca, const std::string& who) {
    EtcdStoreOptions o;
    o.port = etcd.client_port();
    o.timeout = 2s;
    if (!who.empty()) {
      o.tls_ca = dir + "/" + ca + "/ca.pem";
      o.tls_cert = dir + "/" + who + ".pem";
      o.tls_key = dir + "/" + who + ".key";
    }
    return o;
  };
  std::unique_ptr<EtcdStore> store;
  ASSERT_TRUE(EtcdStore::Connect(options("ca", "node-a"), &store).ok());
  int64_t rev = 0;
  ASSERT_TRUE(store->Put("/epara/tls", "yes", kNoLease, &rev).ok());
  KeyValue kv;
  ASSERT_TRUE(store->Get("/epara/tls", &kv).ok());
  EXPECT_EQ(kv.value, "yes");
  // Watches (their own connections) go over TLS too.
  WatchEvents events;
  std::unique_ptr<WatchHandle> watch;
  ASSERT_TRUE(store->Watch("/epara/", rev, events.callback(), &watch).ok());
  ASSERT_TRUE(store->Put("/epara/tls", "still", kNoLease).ok());
  const std::vector<WatchEvent> seen = events.Wait(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kv.value, "still");
  watch.reset();
  for (auto [ca, who] :
       {std::pair{"", ""}, std::pair{"ca", "mallory"}, std::pair{"other", "node-a"}}) {
    std::unique_ptr<EtcdStore> s;
    Status st = EtcdStore::Connect(options(ca, who), &s);
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << ca << " " << who << ": " << st.ToString();
  }
  store.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace epara::cluster
