#include "core/background_pool.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

namespace epara {
namespace {

TEST(BackgroundPoolTest, RunsOnAWorkerAndReturnsAfterTheWorkFinished) {
  BackgroundPool pool(2, /*idle_class=*/false);
  const auto caller = std::this_thread::get_id();
  std::thread::id ran_on;
  int value = 0;
  pool.Run([&] {
    ran_on = std::this_thread::get_id();
    value = 42;
  });
  EXPECT_NE(ran_on, caller);
  EXPECT_EQ(value, 42);  // visible to the caller once Run returns
}

TEST(BackgroundPoolTest, IdleClassWorkersRunInSchedIdle) {
  BackgroundPool pool(1, /*idle_class=*/true);
  if (!pool.idle_class()) GTEST_SKIP() << "the kernel refused SCHED_IDLE here";
  int policy = -1;
  char name[16] = {0};
  pool.Run([&] {
    policy = sched_getscheduler(0);
    pthread_getname_np(pthread_self(), name, sizeof(name));
  });
  EXPECT_EQ(policy, SCHED_IDLE);
  EXPECT_STREQ(name, "ep-request-cpu");
  // The caller's own class is untouched.
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
}

TEST(BackgroundPoolTest, ExceptionsReachTheCaller) {
  BackgroundPool pool(1, false);
  EXPECT_THROW(pool.Run([] { throw std::runtime_error("boom"); }), std::runtime_error);
  int after = 0;
  pool.Run([&] { after = 1; });  // the worker survived
  EXPECT_EQ(after, 1);
}

TEST(BackgroundPoolTest, ManyCallersAllComplete) {
  BackgroundPool pool(2, false);
  std::atomic<int> sum{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) pool.Run([&] { sum.fetch_add(1); });
    });
  for (auto& c : callers) c.join();
  EXPECT_EQ(sum.load(), 8 * 200);
}

}  // namespace
}  // namespace epara
