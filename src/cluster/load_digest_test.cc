#include "cluster/load_digest.h"

#include <gtest/gtest.h>

namespace epara::cluster {
namespace {

LoadDigest D(const std::string& node, uint64_t epoch, uint64_t seq, uint32_t queue = 0) {
  LoadDigest d;
  d.node_id = node;
  d.epoch = epoch;
  d.sequence = seq;
  d.instances.push_back({"seg", queue});
  return d;
}

TEST(PeerTableTest, KeepsOnlyNewerDigestsPerNode) {
  PeerTable t;
  EXPECT_EQ(t.Offer(D("a", 1, 5, 3)), PeerTable::OfferResult::kAccepted);
  EXPECT_EQ(t.Offer(D("a", 1, 4, 9)), PeerTable::OfferResult::kStale);  // reordered, older
  EXPECT_EQ(t.Offer(D("a", 1, 5, 9)), PeerTable::OfferResult::kStale);  // duplicate
  EXPECT_EQ(t.Offer(D("b", 1, 1, 7)), PeerTable::OfferResult::kAccepted);
  auto snap = t.Snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(snap["a"].digest.Find("seg")->queue_length, 3u);
  EXPECT_EQ(snap["b"].digest.Find("seg")->queue_length, 7u);
  EXPECT_EQ(snap["a"].digest.Find("llm"), nullptr);
  EXPECT_EQ(t.accepted(), 2u);
  EXPECT_EQ(t.stale(), 2u);
}

TEST(PeerTableTest, ARestartedNodesNewEpochWinsWithALowerSequence) {
  PeerTable t;
  ASSERT_EQ(t.Offer(D("a", 100, 900, 1)), PeerTable::OfferResult::kAccepted);
  EXPECT_EQ(t.Offer(D("a", 200, 1, 2)), PeerTable::OfferResult::kAccepted);
  EXPECT_EQ(t.Offer(D("a", 100, 901, 3)), PeerTable::OfferResult::kStale);  // the old incarnation
  EXPECT_EQ(t.Snapshot()["a"].digest.Find("seg")->queue_length, 2u);
  t.Forget("a");
  EXPECT_TRUE(t.Snapshot().empty());
  EXPECT_EQ(t.Offer(D("a", 100, 1, 4)),
            PeerTable::OfferResult::kAccepted);  // forgotten: any is new
}

}  // namespace
}  // namespace epara::cluster
