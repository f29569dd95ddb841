#include "cluster/embedded_store.h"

#include "cluster/watch_events_testing.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

namespace epara::cluster {
namespace {

using namespace std::chrono_literals;

// A clock the test moves by hand: lease expiry without sleeping.
struct ManualClock {
  std::chrono::steady_clock::time_point t = std::chrono::steady_clock::time_point{} + 1h;
  std::function<std::chrono::steady_clock::time_point()> fn() {
    return [this] { return t; };
  }
};

EmbeddedStoreOptions Manual(ManualClock* c) {
  EmbeddedStoreOptions o;
  o.now = c->fn();
  o.reap_interval = 0ms;
  return o;
}

TEST(EmbeddedStoreTest, PutGetListDeleteWithRevisions) {
  EmbeddedStore s;
  int64_t r1 = 0, r2 = 0;
  ASSERT_TRUE(s.Put("/a/1", "x", kNoLease, &r1).ok());
  ASSERT_TRUE(s.Put("/a/2", "y", kNoLease, &r2).ok());
  ASSERT_TRUE(s.Put("/b/1", "z", kNoLease).ok());
  EXPECT_EQ(r2, r1 + 1);
  KeyValue kv;
  ASSERT_TRUE(s.Get("/a/2", &kv).ok());
  EXPECT_EQ(kv.value, "y");
  EXPECT_EQ(kv.mod_revision, r2);
  std::vector<KeyValue> list;
  int64_t rev = 0;
  ASSERT_TRUE(s.List("/a/", &list, &rev).ok());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].key, "/a/1");
  EXPECT_EQ(list[1].key, "/a/2");
  EXPECT_EQ(rev, s.revision());
  ASSERT_TRUE(s.Delete("/a/1").ok());
  EXPECT_EQ(s.Get("/a/1", &kv).code(), StatusCode::kNotFound);
  EXPECT_EQ(s.Delete("/a/1").code(), StatusCode::kNotFound);
  EXPECT_EQ(s.Put("", "v", kNoLease).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.Put("/k", "v", 999).code(), StatusCode::kNotFound);  // unknown lease
}

TEST(EmbeddedStoreTest, LeaseKeysLiveWhileKeptAliveAndGoWhenItExpires) {
  ManualClock clock;
  EmbeddedStore s(Manual(&clock));
  LeaseId lease = kNoLease;
  ASSERT_TRUE(s.GrantLease(3000ms, &lease).ok());
  ASSERT_TRUE(s.Put("/nodes/a", "A", lease).ok());
  ASSERT_TRUE(s.Put("/nodes/keep", "K", kNoLease).ok());
  clock.t += 2000ms;
  ASSERT_TRUE(s.KeepAlive(lease).ok());  // deadline now +3 s from here
  clock.t += 2500ms;
  EXPECT_EQ(s.ExpireLeases(), 0);
  KeyValue kv;
  EXPECT_TRUE(s.Get("/nodes/a", &kv).ok());
  clock.t += 600ms;  // 3.1 s after the last keep-alive
  // Every operation expires first: the key is gone even before the reaper runs.
  EXPECT_EQ(s.Get("/nodes/a", &kv).code(), StatusCode::kNotFound);
  EXPECT_EQ(s.KeepAlive(lease).code(), StatusCode::kNotFound);
  EXPECT_TRUE(s.Get("/nodes/keep", &kv).ok());
  EXPECT_EQ(s.GrantLease(0ms, &lease).code(), StatusCode::kInvalidArgument);
}

TEST(EmbeddedStoreTest, RevokeDeletesTheLeasesKeysOnly) {
  EmbeddedStore s;
  LeaseId a = kNoLease, b = kNoLease;
  ASSERT_TRUE(s.GrantLease(60s, &a).ok());
  ASSERT_TRUE(s.GrantLease(60s, &b).ok());
  ASSERT_TRUE(s.Put("/x", "1", a).ok());
  ASSERT_TRUE(s.Put("/y", "2", a).ok());
  ASSERT_TRUE(s.Put("/z", "3", b).ok());
  ASSERT_TRUE(s.Put("/y", "2b", b).ok());  // moved to lease b
  ASSERT_TRUE(s.RevokeLease(a).ok());
  KeyValue kv;
  EXPECT_EQ(s.Get("/x", &kv).code(), StatusCode::kNotFound);
  EXPECT_TRUE(s.Get("/y", &kv).ok());
  EXPECT_TRUE(s.Get("/z", &kv).ok());
  EXPECT_EQ(s.RevokeLease(a).code(), StatusCode::kNotFound);
}

TEST(EmbeddedStoreTest, WatchSeesChangesUnderItsPrefixInOrderIncludingExpiry) {
  ManualClock clock;
  EmbeddedStore s(Manual(&clock));
  WatchEvents events;
  std::unique_ptr<WatchHandle> watch;
  ASSERT_TRUE(s.Watch("/nodes/", s.revision(), events.callback(), &watch).ok());
  LeaseId lease = kNoLease;
  ASSERT_TRUE(s.GrantLease(1000ms, &lease).ok());
  ASSERT_TRUE(s.Put("/nodes/a", "A", lease).ok());
  ASSERT_TRUE(s.Put("/other", "ignored", kNoLease).ok());
  ASSERT_TRUE(s.Put("/nodes/a", "A2", lease).ok());
  clock.t += 1500ms;
  EXPECT_EQ(s.ExpireLeases(), 1);
  const auto got = events.Wait(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].type, WatchEvent::Type::kPut);
  EXPECT_EQ(got[0].kv.value, "A");
  EXPECT_EQ(got[1].kv.value, "A2");
  EXPECT_EQ(got[2].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(got[2].kv.key, "/nodes/a");
  EXPECT_LT(got[0].kv.mod_revision, got[1].kv.mod_revision);
  EXPECT_LT(got[1].kv.mod_revision, got[2].kv.mod_revision);
}

TEST(EmbeddedStoreTest, WatchFromAnEarlierRevisionReplaysWhatItMissed) {
  EmbeddedStore s;
  std::vector<KeyValue> list;
  int64_t rev = 0;
  ASSERT_TRUE(s.Put("/n/a", "1", kNoLease).ok());
  ASSERT_TRUE(s.List("/n/", &list, &rev).ok());
  ASSERT_TRUE(s.Put("/n/b", "2", kNoLease).ok());  // between List and Watch
  WatchEvents events;
  std::unique_ptr<WatchHandle> watch;
  ASSERT_TRUE(s.Watch("/n/", rev, events.callback(), &watch).ok());
  ASSERT_TRUE(s.Put("/n/c", "3", kNoLease).ok());
  const auto got = events.Wait(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].kv.key, "/n/b");
  EXPECT_EQ(got[1].kv.key, "/n/c");
}

TEST(EmbeddedStoreTest, AWatchOlderThanTheHistoryIsRefused) {
  EmbeddedStoreOptions o;
  o.history = 2;
  EmbeddedStore s(o);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(s.Put("/k" + std::to_string(i), "v", kNoLease).ok());
  std::unique_ptr<WatchHandle> watch;
  EXPECT_EQ(s.Watch(
                 "/", 1, [](const WatchEvent&) {}, &watch)
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(s.Watch(
                   "/", 3, [](const WatchEvent&) {}, &watch)
                  .ok());
}

TEST(EmbeddedStoreTest, NoCallbackRunsAfterTheHandleIsDestroyed) {
  EmbeddedStore s;
  std::atomic<int> calls{0};
  std::atomic<bool> destroyed{false}, late{false};
  std::unique_ptr<WatchHandle> watch;
  ASSERT_TRUE(s.Watch(
                   "/", s.revision(),
                   [&](const WatchEvent&) {
                     calls++;
                     if (destroyed.load()) late = true;
                   },
                   &watch)
                  .ok());
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(s.Put("/k", std::to_string(i), kNoLease).ok());
  watch.reset();
  destroyed = true;
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(s.Put("/k", std::to_string(i), kNoLease).ok());
  // A final watch proves the dispatcher has passed every earlier event.
  WatchEvents fence;
  std::unique_ptr<WatchHandle> w2;
  ASSERT_TRUE(s.Watch("/fence", s.revision(), fence.callback(), &w2).ok());
  ASSERT_TRUE(s.Put("/fence", "1", kNoLease).ok());
  ASSERT_EQ(fence.Wait(1).size(), 1u);
  EXPECT_FALSE(late.load());
  EXPECT_LE(calls.load(), 200);
}

TEST(EmbeddedStoreTest, TheReaperExpiresLeasesWithoutAnyOperation) {
  EmbeddedStoreOptions o;
  o.reap_interval = 5ms;
  EmbeddedStore s(o);
  WatchEvents events;
  std::unique_ptr<WatchHandle> watch;
  ASSERT_TRUE(s.Watch("/", s.revision(), events.callback(), &watch).ok());
  LeaseId lease = kNoLease;
  ASSERT_TRUE(s.GrantLease(20ms, &lease).ok());
  ASSERT_TRUE(s.Put("/n", "1", lease).ok());
  const auto got = events.Wait(2);  // the put, then the reaper's deletion
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].type, WatchEvent::Type::kDelete);
}

}  // namespace
}  // namespace epara::cluster
