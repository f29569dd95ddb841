#include "node/node_config.h"

#include <gtest/gtest.h>

#include "node/cluster_config.h"

namespace epara::node {
namespace {

TEST(NodeConfigTest, ParsesEveryField) {
  NodeConfig c;
  Status s = ParseNodeConfig(R"(
id: node-a
device_class: embedded
api: {host: 127.0.0.1, port: 8001}
peer: {port: 9001}
models: {dir: /srv/models, serve: [seg-demo, llama-demo]}
devices:
  - {id: cpu, kind: cpu, cpu_threads: 1, memory_mb: 1024, cpu_quota: 0.5}
store: {kind: etcd, endpoint: "127.0.0.1:23790"}
sync_interval_ms: 100
down_after_ms: 2000
admission: reject-early
admission_slo_share: 0.8
)",
                             "node.yaml", &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.id, "node-a");
  EXPECT_EQ(c.device_class, "embedded");
  EXPECT_EQ(c.api_port, 8001);
  EXPECT_EQ(c.peer_port, 9001);
  EXPECT_EQ(c.serve_models, (std::vector<std::string>{"seg-demo", "llama-demo"}));
  ASSERT_EQ(c.devices.size(), 1u);
  EXPECT_EQ(c.devices[0].cpu_threads, 1);
  EXPECT_EQ(c.devices[0].memory_mb, 1024);
  EXPECT_DOUBLE_EQ(c.devices[0].cpu_quota, 0.5);
  EXPECT_EQ(c.store_kind, "etcd");
  EXPECT_EQ(c.store_port, 23790);
  EXPECT_EQ(c.sync_interval.count(), 100);
  EXPECT_EQ(c.down_after.count(), 2000);
  EXPECT_EQ(c.admission, router::Admission::kRejectEarly);
  EXPECT_DOUBLE_EQ(c.admission_slo_share, 0.8);
}

TEST(NodeConfigTest, DefaultsForAMinimalConfig) {
  NodeConfig c;
  ASSERT_TRUE(ParseNodeConfig("id: n\nmodels: {dir: /m}\n", "x.yaml", &c).ok());
  EXPECT_EQ(c.store_kind, "embedded");
  EXPECT_EQ(c.sync_interval.count(), 200);
  EXPECT_EQ(c.down_after.count(), 3000);
  ASSERT_EQ(c.devices.size(), 1u);
  EXPECT_EQ(c.devices[0].kind, "cpu");
  EXPECT_EQ(c.admission, router::Admission::kBestEffort);
  EXPECT_DOUBLE_EQ(c.admission_slo_share, 1.0);
}

TEST(NodeConfigTest, ErrorsNameTheFileAndField) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"models: {dir: /m}", "x.yaml: id is missing"},
      {"id: a/b\nmodels: {dir: /m}", "must not contain '/'"},
      {"id: n", "models (a mapping with dir) is missing"},
      {"id: n\nmodels: {dir: /m}\napi: {port: many}", "x.yaml: api.port has the wrong type"},
      {"id: n\nmodels: {dir: /m}\ndevices: [{kind: tpu}]", "devices[0].kind must be cpu or cuda"},
      {"id: n\nmodels: {dir: /m}\ndevices: [{cpu_quota: 0}]",
       "devices[0].cpu_quota must be in (0, 1]"},
      {"id: n\nmodels: {dir: /m}\nstore: {kind: etcd, endpoint: nowhere}",
       "store.endpoint must be host:port"},
      {"id: n\nmodels: {dir: /m}\nstore: {kind: zookeeper}", "store.kind must be"},
      {"id: n\nmodels: {dir: /m}\nsync_interval_ms: 500\ndown_after_ms: 600", "at least twice"},
      {"id: n\nmodels: {dir: /m}\nadmission: maybe", "admission must be"},
      {"id: n\nmodels: {dir: /m}\nadmission_slo_share: 0", "admission_slo_share must be in"},
      {"id: n\nmodels: {dir: /m}\nadmission_slo_share: 1.5", "admission_slo_share must be in"},
      {"id: [unclosed", "not valid YAML"},
      {"id: n\nmodels: {dir: /m}\npipeline: {l: {stage: 1, layers: [4]}}",
       "pipeline.l.layers must be [first, end)"},
      {"id: n\nmodels: {dir: /m}\npipeline: {l: {stage: 0, layers: [2, 4]}}",
       "the head (stage 0) starts at layer 0"},
      {"id: n\nmodels: {dir: /m}\npipeline: {l: {stage: 0, layers: [0, 4], depth: 0}}",
       "depth at least 1"},
      // Lists where names or mappings belong: errors, not yaml-cpp's exceptions (fuzz/config_fuzz).
      {"id: n\nmodels: {dir: /m}\nsecurity: {[a]: 1}", "security keys must be names"},
      {"id: n\nmodels: {dir: /m}\npipeline: {[l]: {stage: 0}}", "pipeline keys must be names"},
      {"id: n\nmodels: {dir: /m}\napi: 5", "api is not a mapping"},
      {"id: n\nmodels: {dir: /m}\nroute_peers: -1", "route_peers must not be negative"},
  };
  for (const auto& [text, message] : bad) {
    NodeConfig c;
    const Status s = ParseNodeConfig(text, "x.yaml", &c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(s.message().find(message), std::string::npos) << s.message();
  }
}

TEST(NodeConfigTest, EveryEtcdMemberIsKeptAndRoundTrips) {
  NodeConfig c;
  ASSERT_TRUE(ParseNodeConfig("id: n\nmodels: {dir: /m}\nstore: {kind: etcd, endpoints: "
                              "[\"10.0.0.1:2379\", \"10.0.0.2:2379\", \"10.0.0.3:2380\"]}",
                              "x.yaml", &c)
                  .ok());
  EXPECT_EQ(c.store_host, "10.0.0.1");
  EXPECT_EQ(c.store_port, 2379);
  EXPECT_EQ(c.store_endpoints, (std::vector<cluster::EtcdEndpoint>{
                                   {"10.0.0.1", 2379}, {"10.0.0.2", 2379}, {"10.0.0.3", 2380}}));
  NodeConfig back;
  ASSERT_TRUE(ParseNodeConfig(NodeConfigToYaml(c), "round trip", &back).ok());
  EXPECT_EQ(back.store_endpoints, c.store_endpoints);
  for (const auto& [yaml, message] : std::vector<std::pair<std::string, std::string>>{
           {"store: {kind: etcd, endpoints: []}", "store.endpoints must be a list"},
           {"store: {kind: etcd, endpoints: \"a:1\"}", "store.endpoints must be a list"},
           {"store: {kind: etcd, endpoints: [\"a:1\", nowhere]}",
            "store.endpoints[1] must be host:port"},
           {"store: {kind: etcd, endpoint: \"a:1\", endpoints: [\"b:2\"]}", "not both"}}) {
    Status s = ParseNodeConfig("id: n\nmodels: {dir: /m}\n" + yaml, "x.yaml", &c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << yaml;
    EXPECT_NE(s.message().find(message), std::string::npos) << s.message();
  }
}

TEST(NodeConfigTest, SecurityAndStoreTlsParseAndRoundTrip) {
  const std::string yaml = R"(
id: node-a
models: {dir: /srv/models}
store: {kind: etcd, endpoint: "10.0.0.2:2379", credential: true,
        tls: {ca: /etc/epara/etcd-ca.pem, cert: /etc/epara/a.pem, key: /etc/epara/a.key}}
security:
  api_keys: /etc/epara/keys.yaml
  cluster_token_file: /etc/epara/cluster.token
  public_metrics: true
  tls: {ca: /etc/epara/ca.pem, cert: /etc/epara/node-a.pem, key: /etc/epara/node-a.key}
)";
  NodeConfig c;
  ASSERT_TRUE(ParseNodeConfig(yaml, "node.yaml", &c).ok());
  EXPECT_EQ(c.api_keys_file, "/etc/epara/keys.yaml");
  EXPECT_EQ(c.cluster_token_file, "/etc/epara/cluster.token");
  EXPECT_TRUE(c.public_metrics);
  EXPECT_FALSE(c.insecure);
  EXPECT_TRUE(c.store_credential);
  EXPECT_EQ(c.tls_cert, "/etc/epara/node-a.pem");
  EXPECT_EQ(c.store_tls_key, "/etc/epara/a.key");
  NodeConfig back;
  ASSERT_TRUE(ParseNodeConfig(NodeConfigToYaml(c), "round trip", &back).ok());
  EXPECT_EQ(back.api_keys_file, c.api_keys_file);
  EXPECT_EQ(back.cluster_token_file, c.cluster_token_file);
  EXPECT_EQ(back.public_metrics, c.public_metrics);
  EXPECT_EQ(back.store_credential, c.store_credential);
  EXPECT_EQ(back.tls_ca, c.tls_ca);
  EXPECT_EQ(back.tls_key, c.tls_key);
  EXPECT_EQ(back.store_tls_ca, c.store_tls_ca);
  EXPECT_EQ(back.store_tls_cert, c.store_tls_cert);
  for (auto [bad, expect] : {
           std::pair{"security: {tls: {ca: x}}", "security.tls needs ca, cert and key"},
           std::pair{"security: {token: x}", "security.token is not a known field"},
           std::pair{"store: {kind: etcd, credential: true}", "needs security.cluster_token_file"},
           std::pair{"store: {kind: etcd, tls: {cert: x}}", "store.tls needs ca, cert and key"},
       }) {
    Status s = ParseNodeConfig(std::string("id: n\nmodels: {dir: /m}\n") + bad, "node.yaml", &c);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find(expect), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace epara::node
