#include "node/cluster_config.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>

#include "core/yaml_field.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace epara::node {
namespace {

const DeviceClassProfile kProfiles[] = {
    {"edge-server", 0, 1.0, 8192},
    {"embedded", 1, 0.5, 2048},
    {"microcomputer", 1, 0.25, 1024},
};

}  // namespace

Status FindDeviceClass(const std::string& name, DeviceClassProfile* out) {
  for (const DeviceClassProfile& p : kProfiles)
    if (p.name == name) {
      *out = p;
      return Status::Ok();
    }
  return NotFound("unknown device class '" + name + "' (edge-server, embedded or microcomputer)");
}

Status ParseClusterConfig(const std::string& yaml, const std::string& source,
                          const std::string& base_dir, int store_port, ClusterConfig* out) {
  const std::string at = source + ": ";
  YAML::Node root;
  EPARA_RETURN_IF_ERROR(ParseYamlMapping(yaml, at, "the cluster config", &root));
  ClusterConfig c;
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "models", at, &c.models_dir));
  if (c.models_dir.empty()) return InvalidArgument(at + "models is missing");
  if (std::filesystem::path(c.models_dir).is_relative())
    c.models_dir = (std::filesystem::path(base_dir) / c.models_dir).lexically_normal().string();
  if (const YAML::Node plan = root["plan"]) {
    if (!plan.IsMap()) return InvalidArgument(at + "plan is not a mapping");
    EPARA_RETURN_IF_ERROR(ReadOptional(plan, "profiles", at + "plan.", &c.plan_profiles));
    if (c.plan_profiles.empty()) return InvalidArgument(at + "plan.profiles is missing");
    if (std::filesystem::path(c.plan_profiles).is_relative())
      c.plan_profiles =
          (std::filesystem::path(base_dir) / c.plan_profiles).lexically_normal().string();
    EPARA_RETURN_IF_ERROR(ReadOptional(plan, "rates", at + "plan.", &c.plan_rates));
  }
  // Settings every node shares go through the node parser, so they are checked the same way.
  YAML::Node shared(YAML::NodeType::Map);
  for (const char* key : {"sync_interval_ms", "down_after_ms", "admission", "admission_slo_share",
                          "admission_adaptive", "routing", "route_peers"})
    if (root[key]) shared[key] = root[key];
  int zone_size = 0;  // sync_zone_size: runs of this many nodes (in file order) form a zone
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "sync_zone_size", at, &zone_size));
  if (zone_size < 0) return InvalidArgument(at + "sync_zone_size must not be negative");
  const YAML::Node nodes = root["nodes"];
  if (!nodes || !nodes.IsSequence() || nodes.size() == 0)
    return InvalidArgument(at + "nodes (a non-empty list) is missing");
  std::set<std::string> ids;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const std::string where = at + "nodes[" + std::to_string(i) + "].";
    const YAML::Node n = nodes[i];
    if (!n.IsMap()) return InvalidArgument(where + " is not a mapping");
    std::string id, cls = "edge-server";
    std::vector<std::string> serve;
    int api_port = 0, grpc_port = -1;
    EPARA_RETURN_IF_ERROR(ReadOptional(n, "id", where, &id));
    EPARA_RETURN_IF_ERROR(ReadOptional(n, "class", where, &cls));
    EPARA_RETURN_IF_ERROR(ReadOptional(n, "serve", where, &serve));
    EPARA_RETURN_IF_ERROR(ReadOptional(n, "api_port", where, &api_port));
    EPARA_RETURN_IF_ERROR(ReadOptional(n, "grpc_port", where, &grpc_port));
    if (id.empty()) return InvalidArgument(where + "id is missing");
    if (!ids.insert(id).second) return InvalidArgument(where + "id '" + id + "' is used twice");
    DeviceClassProfile p;
    if (Status s = FindDeviceClass(cls, &p); !s.ok())
      return InvalidArgument(where + "class: " + s.message());
    EPARA_RETURN_IF_ERROR(ReadOptional(n, "cpu_threads", where, &p.cpu_threads));
    EPARA_RETURN_IF_ERROR(ReadOptional(n, "cpu_quota", where, &p.cpu_quota));
    EPARA_RETURN_IF_ERROR(ReadOptional(n, "memory_mb", where, &p.memory_mb));
    YAML::Node node_yaml = YAML::Clone(shared);
    node_yaml["id"] = id;
    node_yaml["device_class"] = cls;
    if (zone_size > 0) node_yaml["sync_zone"] = "zone-" + std::to_string(i / zone_size);
    node_yaml["api"]["host"] = "127.0.0.1";
    node_yaml["api"]["port"] = api_port;
    if (grpc_port >= 0) node_yaml["api"]["grpc_port"] = grpc_port;
    node_yaml["models"]["dir"] = c.models_dir;
    if (!serve.empty()) node_yaml["models"]["serve"] = serve;
    YAML::Node dev;
    dev["id"] = "cpu";
    dev["kind"] = "cpu";
    dev["cpu_threads"] = p.cpu_threads;
    dev["cpu_quota"] = p.cpu_quota;
    dev["memory_mb"] = p.memory_mb;
    node_yaml["devices"].push_back(dev);
    node_yaml["store"]["kind"] = "etcd";
    node_yaml["store"]["endpoint"] = "127.0.0.1:" + std::to_string(store_port);
    std::stringstream text;
    text << node_yaml;
    NodeConfig nc;
    if (Status s = ParseNodeConfig(text.str(), source + " (node " + id + ")", &nc); !s.ok())
      return s;
    c.nodes.push_back(std::move(nc));
  }
  if (const YAML::Node ctl = root["controller"]) {
    if (!ctl.IsMap()) return InvalidArgument(at + "controller is not a mapping");
    c.controller_period_s = 10;
    EPARA_RETURN_IF_ERROR(
        ReadOptional(ctl, "period_s", at + "controller.", &c.controller_period_s));
    EPARA_RETURN_IF_ERROR(
        ReadOptional(ctl, "grace_ms", at + "controller.", &c.controller_grace_ms));
    EPARA_RETURN_IF_ERROR(
        ReadOptional(ctl, "burst_headroom", at + "controller.", &c.controller_burst_headroom));
    EPARA_RETURN_IF_ERROR(ReadOptional(ctl, "twin", at + "controller.", &c.controller_twin));
    EPARA_RETURN_IF_ERROR(
        ReadOptional(ctl, "llm_modes", at + "controller.", &c.controller_llm_modes));
    EPARA_RETURN_IF_ERROR(
        ReadOptional(ctl, "llm_expand", at + "controller.", &c.controller_llm_expand));
    if (!(c.controller_burst_headroom >= 0))
      return InvalidArgument(at + "controller.burst_headroom must be >= 0");
    if (!(c.controller_period_s >= 0.1))
      return InvalidArgument(at + "controller.period_s must be at least 0.1");
  }
  if (const YAML::Node pipelines = root["pipelines"]) {
    if (!pipelines.IsMap()) return InvalidArgument(at + "pipelines is not a mapping");
    for (const auto& kv : pipelines) {
      std::string model;
      EPARA_RETURN_IF_ERROR(MapKey(kv.first, at + "pipelines", &model));
      const std::string where = at + "pipelines." + model + ".";
      if (!kv.second.IsMap()) return InvalidArgument(where + " is not a mapping");
      ClusterConfig::Pipeline p;
      EPARA_RETURN_IF_ERROR(ReadOptional(kv.second, "stages", where, &p.stages));
      EPARA_RETURN_IF_ERROR(ReadOptional(kv.second, "layers", where, &p.layers));
      EPARA_RETURN_IF_ERROR(ReadOptional(kv.second, "depth", where, &p.depth));
      if (p.stages.empty()) return InvalidArgument(where + "stages (node ids) is missing");
      std::set<std::string> seen;
      for (const std::string& s : p.stages) {
        if (!ids.count(s)) return InvalidArgument(where + "stages: no node '" + s + "'");
        if (!seen.insert(s).second)
          return InvalidArgument(where + "stages: node '" + s + "' appears twice");
      }
      if (!p.layers.empty() && p.layers.size() != p.stages.size())
        return InvalidArgument(where + "layers needs one count per stage");
      for (int l : p.layers)
        if (l < 1) return InvalidArgument(where + "layers: every stage needs at least one");
      if (p.depth < 0) return InvalidArgument(where + "depth must not be negative");
      c.pipelines[model] = p;
    }
  }
  *out = std::move(c);
  return Status::Ok();
}

Status LoadClusterConfig(const std::string& path, int store_port, ClusterConfig* out) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read cluster config " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string base = std::filesystem::absolute(path).parent_path().string();
  return ParseClusterConfig(ss.str(), path, base, store_port, out);
}

std::string NodeConfigToYaml(const NodeConfig& c) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "id" << YAML::Value << c.id;
  e << YAML::Key << "device_class" << YAML::Value << c.device_class;
  e << YAML::Key << "api" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "host"
    << YAML::Value << c.api_host << YAML::Key << "port" << YAML::Value << c.api_port;
  if (c.grpc_port >= 0) e << YAML::Key << "grpc_port" << YAML::Value << c.grpc_port;
  e << YAML::EndMap;
  e << YAML::Key << "peer" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "host"
    << YAML::Value << c.peer_host << YAML::Key << "port" << YAML::Value << c.peer_port
    << YAML::EndMap;
  e << YAML::Key << "models" << YAML::Value << YAML::BeginMap << YAML::Key << "dir" << YAML::Value
    << c.models_dir;
  if (!c.serve_models.empty())
    e << YAML::Key << "serve" << YAML::Value << YAML::Flow << c.serve_models;
  if (!c.batching.empty()) {
    e << YAML::Key << "batching" << YAML::Value << YAML::BeginMap;
    for (const auto& [model, b] : c.batching)
      e << YAML::Key << model << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
        << "max_batch_size" << YAML::Value << b.max_batch_size << YAML::Key << "max_queue_delay_ms"
        << YAML::Value << b.max_queue_delay_us / 1000.0 << YAML::Key << "max_queue_size"
        << YAML::Value << b.max_queue_size << YAML::Key << "slo_aware" << YAML::Value << b.slo_aware
        << YAML::EndMap;
    e << YAML::EndMap;
  }
  if (!c.split.empty()) e << YAML::Key << "split" << YAML::Value << YAML::Flow << c.split;
  if (!c.split_fit) e << YAML::Key << "split_fit" << YAML::Value << false;
  e << YAML::EndMap;
  e << YAML::Key << "devices" << YAML::Value << YAML::BeginSeq;
  for (const DeviceConfig& d : c.devices)
    e << YAML::Flow << YAML::BeginMap << YAML::Key << "id" << YAML::Value << d.id << YAML::Key
      << "kind" << YAML::Value << d.kind << YAML::Key << "cpu_threads" << YAML::Value
      << d.cpu_threads << YAML::Key << "cpu_quota" << YAML::Value << d.cpu_quota << YAML::Key
      << "memory_mb" << YAML::Value << d.memory_mb << YAML::EndMap;
  e << YAML::EndSeq;
  e << YAML::Key << "store" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "kind"
    << YAML::Value << c.store_kind;
  if (c.store_kind == "etcd" && !c.store_endpoints.empty()) {
    std::vector<std::string> members;
    for (const cluster::EtcdEndpoint& m : c.store_endpoints) members.push_back(m.ToString());
    e << YAML::Key << "endpoints" << YAML::Value << YAML::Flow << members;
  } else if (c.store_kind == "etcd")
    e << YAML::Key << "endpoint" << YAML::Value
      << (c.store_host + ":" + std::to_string(c.store_port));
  if (c.store_credential) e << YAML::Key << "credential" << YAML::Value << true;
  if (!c.store_tls_cert.empty())
    e << YAML::Key << "tls" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "ca"
      << YAML::Value << c.store_tls_ca << YAML::Key << "cert" << YAML::Value << c.store_tls_cert
      << YAML::Key << "key" << YAML::Value << c.store_tls_key << YAML::EndMap;
  e << YAML::EndMap;
  if (!c.api_keys_file.empty() || !c.cluster_token_file.empty() || c.public_metrics || c.insecure ||
      !c.tls_cert.empty()) {
    e << YAML::Key << "security" << YAML::Value << YAML::BeginMap;
    if (!c.api_keys_file.empty()) e << YAML::Key << "api_keys" << YAML::Value << c.api_keys_file;
    if (!c.cluster_token_file.empty())
      e << YAML::Key << "cluster_token_file" << YAML::Value << c.cluster_token_file;
    e << YAML::Key << "public_metrics" << YAML::Value << c.public_metrics;
    e << YAML::Key << "insecure" << YAML::Value << c.insecure;
    if (!c.tls_cert.empty())
      e << YAML::Key << "tls" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "ca"
        << YAML::Value << c.tls_ca << YAML::Key << "cert" << YAML::Value << c.tls_cert << YAML::Key
        << "key" << YAML::Value << c.tls_key << YAML::EndMap;
    e << YAML::EndMap;
  }
  e << YAML::Key << "sync_interval_ms" << YAML::Value << c.sync_interval.count();
  e << YAML::Key << "down_after_ms" << YAML::Value << c.down_after.count();
  if (!c.sync_zone.empty()) e << YAML::Key << "sync_zone" << YAML::Value << c.sync_zone;
  e << YAML::Key << "admission" << YAML::Value
    << (c.admission == router::Admission::kRejectEarly ? "reject-early" : "best-effort");
  e << YAML::Key << "admission_slo_share" << YAML::Value << c.admission_slo_share;
  e << YAML::Key << "admission_adaptive" << YAML::Value << c.admission_adaptive;
  e << YAML::Key << "routing" << YAML::Value << router::RouteModeName(c.routing);
  e << YAML::Key << "route_peers" << YAML::Value << c.route_peers;
  if (!c.pipeline.empty()) {
    e << YAML::Key << "pipeline" << YAML::Value << YAML::BeginMap;
    for (const auto& [model, p] : c.pipeline) {
      e << YAML::Key << model << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "stage"
        << YAML::Value << p.stage << YAML::Key << "layers" << YAML::Value << YAML::Flow
        << std::vector<int>{p.first_layer, p.end_layer} << YAML::Key << "depth" << YAML::Value
        << p.depth;
      if (!p.next.empty()) e << YAML::Key << "next" << YAML::Value << p.next;
      e << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

int NodesServing(const ClusterConfig& config, const std::string& model) {
  int n = 0;
  for (const NodeConfig& node : config.nodes)
    n += node.serve_models.empty() ||
         std::count(node.serve_models.begin(), node.serve_models.end(), model) > 0;
  return n;
}

}  // namespace epara::node
