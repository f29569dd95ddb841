// RunRequestWork: inline while no model work is pending, on the background pool otherwise.
#include <gtest/gtest.h>

#include <thread>

#include "api/server_context.h"
#include "core/pending_compute.h"

namespace epara::api {
namespace {

TEST(RequestWorkTest, RunsInlineWhenNoModelComputesAndOnThePoolWhenOneDoes) {
  BackgroundPool pool(1, /*idle_class=*/false);
  ServerContext ctx;
  ctx.request_cpu = &pool;
  const auto caller = std::this_thread::get_id();
  std::thread::id ran_on;
  const auto work = [&] {
    ran_on = std::this_thread::get_id();
    return InvalidArgument("from the work");
  };
  ASSERT_EQ(PendingCompute(), 0);
  EXPECT_EQ(RunRequestWork(ctx, work).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ran_on, caller);
  {
    ScopedPendingCompute computing;
    const Status s = RunRequestWork(ctx, work);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);  // the work's status comes back
    EXPECT_EQ(s.message(), "from the work");
    EXPECT_NE(ran_on, caller);
  }
}

}  // namespace
}  // namespace epara::api
