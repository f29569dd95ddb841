#include "cluster/membership.h"

#include <gtest/gtest.h>

#include "cluster/embedded_store.h"

namespace epara::cluster {
namespace {

using namespace std::chrono_literals;

NodeRecord Node(const std::string& id) {
  NodeRecord r;
  r.id = id;
  r.api_address = "127.0.0.1:8000";
  r.peer_address = "127.0.0.1:9000";
  r.device_class = "edge-server";
  r.version = "0.4.0";
  r.devices.push_back({"cpu", "cpu", 8ll << 30, 2.0, 108.5, {"libtorch 1.13.1"}});
  r.instances.push_back({"seg-demo", "segmentation", 250, ""});
  return r;
}

TEST(NodeRecordTest, RoundTripsThroughJson) {
  const NodeRecord r = Node("n1");
  NodeRecord back;
  ASSERT_TRUE(ParseNodeRecord(NodeRecordToJson(r), &back).ok());
  EXPECT_EQ(back.id, "n1");
  EXPECT_EQ(back.peer_address, r.peer_address);
  ASSERT_EQ(back.devices.size(), 1u);
  EXPECT_EQ(back.devices[0].memory_bytes, 8ll << 30);
  EXPECT_DOUBLE_EQ(back.devices[0].speed_gflops, 108.5);
  EXPECT_EQ(back.devices[0].backends, r.devices[0].backends);
  ASSERT_EQ(back.instances.size(), 1u);
  EXPECT_EQ(back.FindInstance("seg-demo")->task, "segmentation");
  EXPECT_DOUBLE_EQ(back.FindInstance("seg-demo")->slo_ms, 250);
  EXPECT_EQ(back.FindInstance("other"), nullptr);
  EXPECT_TRUE(back.zone.empty());
  NodeRecord zoned = r;
  zoned.zone = "zone-3";
  ASSERT_TRUE(ParseNodeRecord(NodeRecordToJson(zoned), &back).ok());
  EXPECT_EQ(back.zone, "zone-3");
  // A split instance says so (the controller leaves it in place); others carry no field.
  NodeRecord split = Node("n3");
  split.instances.push_back({"seg-hd", "segmentation", 1000, "", 4});
  ASSERT_TRUE(ParseNodeRecord(NodeRecordToJson(split), &back).ok());
  EXPECT_EQ(back.instances.back().split, 4);
  EXPECT_EQ(back.instances.front().split, 0);
  EXPECT_EQ(NodeRecordToJson(Node("n4")).find("split"), std::string::npos);
  // Pipelines (issue 24): a head says where its layers continue, later stages are listed apart
  // (they are no instances), with the memory the node holds.
  NodeRecord piped = Node("n5");
  piped.instances.push_back({"llm", "llm", 1000, "", 0, 200, "n6", 4});
  piped.stages.push_back({"other-llm", 4, 8, ""});
  piped.memory_used_bytes = 123456789;
  ASSERT_TRUE(ParseNodeRecord(NodeRecordToJson(piped), &back).ok());
  EXPECT_EQ(back.instances.back().next, "n6");
  EXPECT_EQ(back.instances.back().end_layer, 4);
  EXPECT_EQ(back.instances.front().next, "");
  ASSERT_EQ(back.stages.size(), 1u);
  EXPECT_EQ(back.stages[0].model, "other-llm");
  EXPECT_EQ(back.stages[0].first_layer, 4);
  EXPECT_EQ(back.stages[0].end_layer, 8);
  EXPECT_EQ(back.memory_used_bytes, 123456789);
  EXPECT_EQ(back.FindInstance("other-llm"), nullptr);
}

TEST(NodeRecordTest, AServiceNameFindsItsVariantAndAModelNameWinsOverIt) {
  NodeRecord r = Node("n1");
  r.instances.push_back({"isnet-fp16", "segmentation", 10000, "isnet-bg"});
  r.instances.push_back({"isnet-bg", "segmentation", 5000, ""});  // a model named like the service
  NodeRecord back;
  ASSERT_TRUE(ParseNodeRecord(NodeRecordToJson(r), &back).ok());
  ASSERT_EQ(back.instances.size(), 3u);
  EXPECT_EQ(back.instances[1].service, "isnet-bg");
  EXPECT_EQ(back.instances[0].service, "");  // absent from the JSON, empty after parsing
  EXPECT_EQ(back.FindInstance("isnet-bg")->model, "isnet-bg");
  back.instances.pop_back();
  ASSERT_NE(back.FindInstance("isnet-bg"), nullptr);
  EXPECT_EQ(back.FindInstance("isnet-bg")->model, "isnet-fp16");
  EXPECT_EQ(back.FindInstance("isnet"), nullptr);
}

TEST(NodeRecordTest, MalformedRecordsNameTheField) {
  NodeRecord out;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"not json", "not a JSON object"},
      {"[1,2]", "not a JSON object"},
      {R"({"api_address":"a","peer_address":"p","device_class":"c","version":"v","devices":[]})",
       "node.id is missing"},
      {R"({"id":"","api_address":"a","peer_address":"p","device_class":"c","version":"v","devices":[]})",
       "node.id is empty"},
      {R"({"id":7,"api_address":"a","peer_address":"p","device_class":"c","version":"v","devices":[]})",
       "node.id has the wrong type"},
      {R"({"id":"n","api_address":"a","peer_address":"p","device_class":"c","version":"v","devices":{}})",
       "node.devices is not an array"},
      {R"({"id":"n","api_address":"a","peer_address":"p","device_class":"c","version":"v","devices":[{"id":"cpu"}]})",
       "node.devices[0].kind is missing"},
      {R"({"id":"n","api_address":"a","peer_address":"p","device_class":"c","version":"v","devices":[],"instances":[{"model":"m","task":"llm"}]})",
       "node.instances[0].slo_ms is missing"},
      {R"({"id":"n","api_address":"a","peer_address":"p","device_class":"c","version":"v","devices":[],"instances":[{"model":"m","task":"llm","slo_ms":1,"pipeline":{"next":"x"}}]})",
       "node.instances[0].pipeline.end_layer is missing"},
      {R"({"id":"n","api_address":"a","peer_address":"p","device_class":"c","version":"v","devices":[],"stages":[{"model":"m","first_layer":"4"}]})",
       "node.stages[0].first_layer has the wrong type"},
  };
  for (const auto& [text, message] : bad) {
    const Status s = ParseNodeRecord(text, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(s.message().find(message), std::string::npos) << s.message();
  }
}

TEST(MembershipTest, JoinHeartbeatExpireAndLeave) {
  auto now = std::chrono::steady_clock::time_point{} + 1h;
  EmbeddedStoreOptions o;
  o.now = [&] { return now; };
  o.reap_interval = 0ms;
  EmbeddedStore store(o);
  std::unique_ptr<Membership> a, b, dup;
  ASSERT_TRUE(Membership::Join(&store, Node("a"), 3000ms, &a).ok());
  ASSERT_TRUE(Membership::Join(&store, Node("b"), 3000ms, &b).ok());
  EXPECT_EQ(Membership::Join(&store, Node("a"), 3000ms, &dup).code(), StatusCode::kInvalidArgument);
  std::vector<NodeRecord> nodes;
  ASSERT_TRUE(ListNodes(&store, &nodes).ok());
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].id, "a");

  // a heartbeats, b does not: after 3 s only a is listed, and b's heartbeat says it is gone.
  now += 2000ms;
  ASSERT_TRUE(a->Heartbeat().ok());
  now += 1500ms;
  ASSERT_TRUE(ListNodes(&store, &nodes).ok());
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].id, "a");
  EXPECT_EQ(b->Heartbeat().code(), StatusCode::kNotFound);

  // Clean shutdown deregisters at once.
  ASSERT_TRUE(a->Leave().ok());
  ASSERT_TRUE(ListNodes(&store, &nodes).ok());
  EXPECT_TRUE(nodes.empty());
}

TEST(MembershipTest, ABrokenRecordIsReportedAndDoesNotHideTheOthers) {
  EmbeddedStore store;
  std::unique_ptr<Membership> a;
  ASSERT_TRUE(Membership::Join(&store, Node("a"), 3000ms, &a).ok());
  ASSERT_TRUE(store.Put(NodeKey("broken"), "{oops", kNoLease).ok());
  std::vector<NodeRecord> nodes;
  std::vector<std::string> bad;
  ASSERT_TRUE(ListNodes(&store, &nodes, &bad).ok());
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].id, "a");
  EXPECT_EQ(bad, std::vector<std::string>{NodeKey("broken")});
}

}  // namespace
}  // namespace epara::cluster
