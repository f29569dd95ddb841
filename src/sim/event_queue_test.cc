#include "sim/event_queue.h"

#include <gtest/gtest.h>

#include <string>

namespace epara::sim {
namespace {

TEST(EventQueueTest, RunsInTimeOrderAndTiesInSchedulingOrder) {
  EventQueue q;
  std::string order;
  q.At(5, [&] { order += "c"; });
  q.At(1, [&] { order += "a"; });
  q.At(5, [&] { order += "d"; });
  q.At(2, [&] {
    order += "b";
    q.After(3, [&] { order += "e"; });  // at 5, after the two scheduled earlier
  });
  q.RunAll();
  EXPECT_EQ(order, "abcde");
  EXPECT_DOUBLE_EQ(q.now(), 5);
  EXPECT_EQ(q.processed(), 5u);
}

TEST(EventQueueTest, RunUntilStopsAtTheGivenTimeAndTheClockNeverGoesBack) {
  EventQueue q;
  int ran = 0;
  q.At(10, [&] { ++ran; });
  q.At(20, [&] { ++ran; });
  q.RunUntil(15);
  EXPECT_EQ(ran, 1);
  EXPECT_DOUBLE_EQ(q.now(), 15);
  q.At(3, [&] { ran += 10; });  // in the past: runs now
  q.RunUntil(15);
  EXPECT_EQ(ran, 11);
  EXPECT_EQ(q.pending(), 1u);
}

}  // namespace
}  // namespace epara::sim
