#include "core/pending_compute.h"

#include <gtest/gtest.h>

namespace epara {
namespace {

TEST(PendingComputeTest, CountsAddsAndScopes) {
  const int before = PendingCompute();
  AddPendingCompute(3);
  EXPECT_EQ(PendingCompute(), before + 3);
  {
    ScopedPendingCompute step;
    EXPECT_EQ(PendingCompute(), before + 4);
  }
  AddPendingCompute(-3);
  EXPECT_EQ(PendingCompute(), before);
}

}  // namespace
}  // namespace epara
