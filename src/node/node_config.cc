#include "node/node_config.h"

#include <yaml-cpp/yaml.h>

#include "cluster/etcd_endpoint.h"
#include "core/yaml_field.h"

#include <fstream>
#include <sstream>

namespace epara::node {
namespace {

// `parent`'s optional `tls: {ca, cert, key}` (all three, or the field absent); `where` names it.
Status ReadTls(const YAML::Node& parent, const std::string& where, std::string* ca,
               std::string* cert, std::string* key) {
  const YAML::Node tls = parent["tls"];
  if (!tls) return Status::Ok();
  if (!tls.IsMap()) return InvalidArgument(where + " is not a mapping");
  EPARA_RETURN_IF_ERROR(ReadOptional(tls, "ca", where + ".", ca));
  EPARA_RETURN_IF_ERROR(ReadOptional(tls, "cert", where + ".", cert));
  EPARA_RETURN_IF_ERROR(ReadOptional(tls, "key", where + ".", key));
  if (ca->empty() || cert->empty() || key->empty())
    return InvalidArgument(where + " needs ca, cert and key");
  return Status::Ok();
}

Status Parse(const YAML::Node& root, const std::string& src, NodeConfig* c) {
  const std::string at = src + ": ";
  if (!root.IsMap()) return InvalidArgument(at + "the node config is not a mapping");
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "id", at, &c->id));
  if (c->id.empty()) return InvalidArgument(at + "id is missing");
  if (c->id.find('/') != std::string::npos) return InvalidArgument(at + "id must not contain '/'");
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "device_class", at, &c->device_class));
  if (const YAML::Node api = root["api"]) {
    if (!api.IsMap()) return InvalidArgument(at + "api is not a mapping");
    EPARA_RETURN_IF_ERROR(ReadOptional(api, "host", at + "api.", &c->api_host));
    EPARA_RETURN_IF_ERROR(ReadOptional(api, "port", at + "api.", &c->api_port));
    EPARA_RETURN_IF_ERROR(ReadOptional(api, "grpc_port", at + "api.", &c->grpc_port));
    if (c->grpc_port < -1 || c->grpc_port > 65535)
      return InvalidArgument(at + "api.grpc_port must be -1 (off) or a port");
  }
  if (const YAML::Node peer = root["peer"]) {
    if (!peer.IsMap()) return InvalidArgument(at + "peer is not a mapping");
    EPARA_RETURN_IF_ERROR(ReadOptional(peer, "host", at + "peer.", &c->peer_host));
    EPARA_RETURN_IF_ERROR(ReadOptional(peer, "port", at + "peer.", &c->peer_port));
  }
  if (c->api_port < 0 || c->api_port > 65535 || c->peer_port < 0 || c->peer_port > 65535)
    return InvalidArgument(at + "port out of range");
  const YAML::Node models = root["models"];
  if (!models || !models.IsMap())
    return InvalidArgument(at + "models (a mapping with dir) is missing");
  EPARA_RETURN_IF_ERROR(ReadOptional(models, "dir", at + "models.", &c->models_dir));
  if (c->models_dir.empty()) return InvalidArgument(at + "models.dir is missing");
  EPARA_RETURN_IF_ERROR(ReadOptional(models, "serve", at + "models.", &c->serve_models));
  if (const YAML::Node batching = models["batching"]) {
    if (!batching.IsMap()) return InvalidArgument(at + "models.batching is not a mapping");
    for (const auto& kv : batching) {
      std::string model;
      EPARA_RETURN_IF_ERROR(MapKey(kv.first, at + "models.batching", &model));
      const std::string where = at + "models.batching." + model + ".";
      if (!kv.second.IsMap()) return InvalidArgument(where + " is not a mapping");
      BatchingConfig b;
      double delay_ms = 0;
      EPARA_RETURN_IF_ERROR(ReadOptional(kv.second, "max_batch_size", where, &b.max_batch_size));
      EPARA_RETURN_IF_ERROR(ReadOptional(kv.second, "max_queue_delay_ms", where, &delay_ms));
      EPARA_RETURN_IF_ERROR(ReadOptional(kv.second, "max_queue_size", where, &b.max_queue_size));
      EPARA_RETURN_IF_ERROR(ReadOptional(kv.second, "slo_aware", where, &b.slo_aware));
      if (b.max_batch_size < 0 || delay_ms < 0 || b.max_queue_size < 1)
        return InvalidArgument(where + "sizes and delays must not be negative");
      b.max_queue_delay_us = static_cast<int64_t>(delay_ms * 1000);
      c->batching[model] = b;
    }
  }
  EPARA_RETURN_IF_ERROR(ReadOptional(models, "split", at + "models.", &c->split));
  EPARA_RETURN_IF_ERROR(ReadOptional(models, "split_fit", at + "models.", &c->split_fit));
  for (const auto& [model, tiles] : c->split)
    if (tiles < 1 || tiles > 64)
      return InvalidArgument(at + "models.split." + model + " must be in [1, 64]");
  if (const YAML::Node devices = root["devices"]) {
    if (!devices.IsSequence()) return InvalidArgument(at + "devices is not a list");
    for (size_t i = 0; i < devices.size(); ++i) {
      const std::string where = at + "devices[" + std::to_string(i) + "].";
      if (!devices[i].IsMap()) return InvalidArgument(where + " is not a mapping");
      DeviceConfig d;
      EPARA_RETURN_IF_ERROR(ReadOptional(devices[i], "id", where, &d.id));
      EPARA_RETURN_IF_ERROR(ReadOptional(devices[i], "kind", where, &d.kind));
      EPARA_RETURN_IF_ERROR(ReadOptional(devices[i], "cpu_threads", where, &d.cpu_threads));
      EPARA_RETURN_IF_ERROR(ReadOptional(devices[i], "memory_mb", where, &d.memory_mb));
      EPARA_RETURN_IF_ERROR(ReadOptional(devices[i], "cpu_quota", where, &d.cpu_quota));
      if (!(d.cpu_quota > 0 && d.cpu_quota <= 1))
        return InvalidArgument(where + "cpu_quota must be in (0, 1]");
      if (d.kind != "cpu" && d.kind != "cuda")
        return InvalidArgument(where + "kind must be cpu or cuda, got '" + d.kind + "'");
      if (d.cpu_threads < 0 || d.memory_mb < 0)
        return InvalidArgument(where + "cpu_threads and memory_mb must not be negative");
      c->devices.push_back(d);
    }
  }
  if (c->devices.empty()) c->devices.push_back(DeviceConfig{});
  if (const YAML::Node store = root["store"]) {
    if (!store.IsMap()) return InvalidArgument(at + "store is not a mapping");
    EPARA_RETURN_IF_ERROR(ReadOptional(store, "kind", at + "store.", &c->store_kind));
    if (c->store_kind == "etcd") {
      std::string endpoint = "127.0.0.1:2379";
      EPARA_RETURN_IF_ERROR(ReadOptional(store, "endpoint", at + "store.", &endpoint));
      cluster::EtcdEndpoint first;
      EPARA_RETURN_IF_ERROR(cluster::ParseEtcdEndpoint(endpoint, at + "store.endpoint", &first));
      if (const YAML::Node members = store["endpoints"]) {
        if (!members.IsSequence() || members.size() == 0)
          return InvalidArgument(at + "store.endpoints must be a list of host:port");
        if (store["endpoint"])
          return InvalidArgument(at + "store: give endpoint or endpoints, not both");
        for (size_t i = 0; i < members.size(); ++i) {
          const std::string where = at + "store.endpoints[" + std::to_string(i) + "]";
          if (!members[i].IsScalar()) return InvalidArgument(where + " must be host:port");
          cluster::EtcdEndpoint member;
          EPARA_RETURN_IF_ERROR(cluster::ParseEtcdEndpoint(members[i].Scalar(), where, &member));
          if (i == 0) first = member;
          c->store_endpoints.push_back(member);
        }
      }
      c->store_host = first.host;
      c->store_port = first.port;
      EPARA_RETURN_IF_ERROR(ReadOptional(store, "credential", at + "store.", &c->store_credential));
      EPARA_RETURN_IF_ERROR(ReadTls(store, at + "store.tls", &c->store_tls_ca, &c->store_tls_cert,
                                    &c->store_tls_key));
    } else if (c->store_kind != "embedded") {
      return InvalidArgument(at + "store.kind must be embedded or etcd, got '" + c->store_kind +
                             "'");
    }
  }
  if (const YAML::Node pipeline = root["pipeline"]) {
    if (!pipeline.IsMap()) return InvalidArgument(at + "pipeline is not a mapping");
    for (const auto& kv : pipeline) {
      std::string model;
      EPARA_RETURN_IF_ERROR(MapKey(kv.first, at + "pipeline", &model));
      const std::string where = at + "pipeline." + model + ".";
      if (!kv.second.IsMap()) return InvalidArgument(where + " is not a mapping");
      PipelineStageConfig p;
      std::vector<int> layers;
      EPARA_RETURN_IF_ERROR(ReadOptional(kv.second, "stage", where, &p.stage));
      EPARA_RETURN_IF_ERROR(ReadOptional(kv.second, "layers", where, &layers));
      EPARA_RETURN_IF_ERROR(ReadOptional(kv.second, "next", where, &p.next));
      EPARA_RETURN_IF_ERROR(ReadOptional(kv.second, "depth", where, &p.depth));
      if (layers.size() != 2 || layers[0] < 0 || layers[1] <= layers[0])
        return InvalidArgument(where + "layers must be [first, end) with first < end");
      p.first_layer = layers[0];
      p.end_layer = layers[1];
      if (p.stage < 0 || p.depth < 1)
        return InvalidArgument(where + "stage must not be negative and depth at least 1");
      if (p.stage == 0 && p.first_layer != 0)
        return InvalidArgument(where + "the head (stage 0) starts at layer 0");
      c->pipeline[model] = p;
    }
  }
  if (const YAML::Node sec = root["security"]) {
    if (!sec.IsMap()) return InvalidArgument(at + "security is not a mapping");
    for (const auto& kv : sec) {
      std::string k;
      EPARA_RETURN_IF_ERROR(MapKey(kv.first, at + "security", &k));
      if (k != "api_keys" && k != "cluster_token_file" && k != "public_metrics" &&
          k != "insecure" && k != "tls")
        return InvalidArgument(at + "security." + k + " is not a known field");
    }
    EPARA_RETURN_IF_ERROR(ReadOptional(sec, "api_keys", at + "security.", &c->api_keys_file));
    EPARA_RETURN_IF_ERROR(
        ReadOptional(sec, "cluster_token_file", at + "security.", &c->cluster_token_file));
    EPARA_RETURN_IF_ERROR(
        ReadOptional(sec, "public_metrics", at + "security.", &c->public_metrics));
    EPARA_RETURN_IF_ERROR(ReadOptional(sec, "insecure", at + "security.", &c->insecure));
    EPARA_RETURN_IF_ERROR(ReadTls(sec, at + "security.tls", &c->tls_ca, &c->tls_cert, &c->tls_key));
  }
  if (c->store_credential && c->cluster_token_file.empty())
    return InvalidArgument(at + "store.credential needs security.cluster_token_file");
  int sync_ms = static_cast<int>(c->sync_interval.count());
  int down_ms = static_cast<int>(c->down_after.count());
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "sync_interval_ms", at, &sync_ms));
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "down_after_ms", at, &down_ms));
  if (sync_ms < 10) return InvalidArgument(at + "sync_interval_ms must be at least 10");
  if (down_ms < 2 * sync_ms)
    return InvalidArgument(at + "down_after_ms must be at least twice sync_interval_ms");
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "sync_zone", at, &c->sync_zone));
  c->sync_interval = std::chrono::milliseconds(sync_ms);
  c->down_after = std::chrono::milliseconds(down_ms);
  std::string admission = "best-effort";
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "admission", at, &admission));
  if (admission == "best-effort")
    c->admission = router::Admission::kBestEffort;
  else if (admission == "reject-early")
    c->admission = router::Admission::kRejectEarly;
  else
    return InvalidArgument(at + "admission must be best-effort or reject-early, got '" + admission +
                           "'");
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "admission_slo_share", at, &c->admission_slo_share));
  if (!(c->admission_slo_share > 0 && c->admission_slo_share <= 1))
    return InvalidArgument(at + "admission_slo_share must be in (0, 1]");
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "admission_adaptive", at, &c->admission_adaptive));
  std::string routing = router::RouteModeName(c->routing);
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "routing", at, &routing));
  if (!router::ParseRouteMode(routing, &c->routing))
    return InvalidArgument(at +
                           "routing must be slo-aware, round-robin, least-outstanding or "
                           "local-only, got '" +
                           routing + "'");
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "route_peers", at, &c->route_peers));
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "observe", at, &c->observe));
  if (c->route_peers < 0) return InvalidArgument(at + "route_peers must not be negative");
  return Status::Ok();
}

}  // namespace

Status ParseNodeConfig(const std::string& yaml, const std::string& source, NodeConfig* out) {
  NodeConfig c;
  try {
    EPARA_RETURN_IF_ERROR(Parse(YAML::Load(yaml), source, &c));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ": not valid YAML: " + e.what());
  }
  *out = std::move(c);
  return Status::Ok();
}

Status LoadNodeConfig(const std::string& path, NodeConfig* out) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read node config " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseNodeConfig(ss.str(), path, out);
}

}  // namespace epara::node
