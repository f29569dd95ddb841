#include "router/peer_sample.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace epara::router {
namespace {

std::vector<int> Hosts(int n) {
  std::vector<int> h;
  for (int i = 0; i < n; ++i) h.push_back(100 + i);
  return h;
}

TEST(PeerSampleTest, FewHostsOrNoBoundWeighsEveryHost) {
  std::vector<size_t> picked;
  PickPeers(Hosts(5), std::vector<double>(5, 1), {}, 8, 3, &picked);
  EXPECT_EQ(picked, (std::vector<size_t>{0, 1, 2, 3, 4}));
  PickPeers(Hosts(20), std::vector<double>(20, 1), {}, 0, 9, &picked);
  EXPECT_EQ(picked.size(), 20u);
}

TEST(PeerSampleTest, ManyHostsWeighAtMostMaxSpreadOverTheList) {
  std::vector<size_t> picked;
  for (uint64_t turn = 0; turn < 50; ++turn) {
    PickPeers(Hosts(51), std::vector<double>(51, 1), {}, 8, turn, &picked);
    EXPECT_EQ(picked.size(), 8u);  // equal speeds: 8 distinct hosts, one per 51/8 of the list
    for (size_t k = 1; k < picked.size(); ++k) {
      EXPECT_GT(picked[k], picked[k - 1]);
      EXPECT_LE(picked[k] - picked[k - 1], 7u);
    }
  }
}

TEST(PeerSampleTest, FastHostsAreWeighedInProportionToTheirSpeed) {
  // 40 hosts: 2 fast (speed 10), 38 slow (speed 1). Fast ones hold 20/58 of the capacity: each is
  // in a sample of 8 about 8 x 10/58 = 1.4 times per turn, capped at every turn.
  std::vector<double> speeds(40, 1);
  speeds[7] = speeds[30] = 10;
  std::vector<int> seen(40, 0);
  std::vector<size_t> picked;
  const int turns = 1000;
  for (uint64_t turn = 0; turn < turns; ++turn) {
    PickPeers(Hosts(40), speeds, {}, 8, turn, &picked);
    for (size_t k : picked) seen[k]++;
  }
  EXPECT_EQ(seen[7], turns);
  EXPECT_EQ(seen[30], turns);
  // A slow host: 8 x 1/58 = 14% of turns.
  for (int k : {0, 12, 39}) {
    EXPECT_GT(seen[k], turns * 0.10) << k;
    EXPECT_LT(seen[k], turns * 0.18) << k;
  }
}

TEST(PeerSampleTest, RememberedPeersComeFirstAndStayBounded) {
  std::vector<std::string> memory;
  for (const char* id : {"a", "b", "c", "b"}) RememberPeer(&memory, std::string(id), 8);
  EXPECT_EQ(memory, (std::vector<std::string>{"b", "c", "a"}));
  RememberPeer(&memory, std::string("d"), 8);
  RememberPeer(&memory, std::string("e"), 8);
  EXPECT_EQ(memory, (std::vector<std::string>{"e", "d", "b", "c"}));  // max / 2 kept
  std::vector<std::string> hosts;
  for (char c = 'a'; c <= 'z'; ++c) hosts.push_back(std::string(1, c));
  std::vector<size_t> picked;
  PickPeers(hosts, std::vector<double>(hosts.size(), 1), memory, 8, 5, &picked);
  ASSERT_LE(picked.size(), 8u);
  EXPECT_EQ(picked[0], 4u);                   // "e"
  EXPECT_EQ(picked[1], 3u);                   // "d"
  for (size_t k = 4; k < picked.size(); ++k)  // the sample does not repeat a remembered one
    for (size_t r = 0; r < 4; ++r) EXPECT_NE(picked[k], picked[r]);
}

}  // namespace
}  // namespace epara::router
