#include "cluster/etcd_endpoint.h"

#include <gtest/gtest.h>

namespace epara::cluster {
namespace {

TEST(EtcdEndpointTest, ParsesHostAndPortAndNamesTheFieldWhenMalformed) {
  EtcdEndpoint e;
  ASSERT_TRUE(ParseEtcdEndpoint("[::1]:2381", "f", &e).ok());
  EXPECT_EQ(e.host, "[::1]");
  EXPECT_EQ(e.port, 2381);
  for (const char* bad : {"", "host", ":2379", "a:", "a:0", "a:70000", "a:12x", "a:-1"}) {
    Status s = ParseEtcdEndpoint(bad, "store.endpoint", &e);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("store.endpoint must be host:port"), std::string::npos)
        << s.message();
  }
}

TEST(EtcdEndpointTest, ListsKeepOrderAndRejectEmptyMembers) {
  std::vector<EtcdEndpoint> all;
  ASSERT_TRUE(ParseEtcdEndpointList("10.0.0.1:2379,etcd-b:2380", &all).ok());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].host, "10.0.0.1");
  EXPECT_EQ(all[1].host, "etcd-b");
  EXPECT_EQ(all[1].port, 2380);
  for (const char* bad : {"", "a:1,", ",a:1", "a:1,,b:2", "a:1,b"})
    EXPECT_EQ(ParseEtcdEndpointList(bad, &all).code(), StatusCode::kInvalidArgument) << bad;
  EXPECT_EQ(all.size(), 2u);  // a failed parse leaves the list as it was
}

}  // namespace
}  // namespace epara::cluster
