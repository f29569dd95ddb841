#include "peer/proto_convert.h"

#include <algorithm>

namespace epara::peer {

void ToProto(const cluster::LoadDigest& in, v1::LoadDigest* out) {
  out->Clear();
  out->set_node_id(in.node_id);
  out->set_epoch(in.epoch);
  out->set_sequence(in.sequence);
  out->set_cpu_utilization(static_cast<float>(in.cpu_utilization));
  out->set_free_memory_bytes(in.free_memory_bytes);
  for (const cluster::InstanceLoad& i : in.instances) {
    v1::InstanceLoad* p = out->add_instances();
    p->set_model(i.model);
    p->set_queue_length(i.queue_length);
    p->set_in_flight(i.in_flight);
    p->set_expected_wait_ms(static_cast<float>(i.expected_wait_ms));
    p->set_service_ms(static_cast<float>(i.service_ms));
    p->set_batch_occupancy(static_cast<float>(i.batch_occupancy));
    p->set_ready(i.ready);
    p->set_max_batch(i.max_batch);
  }
}

Status FromProto(const v1::LoadDigest& in, cluster::LoadDigest* out) {
  if (in.node_id().empty()) return InvalidArgument("load digest without a node id");
  out->node_id = in.node_id();
  out->epoch = in.epoch();
  out->sequence = in.sequence();
  out->cpu_utilization = in.cpu_utilization();
  out->free_memory_bytes = in.free_memory_bytes();
  out->instances.clear();
  for (const v1::InstanceLoad& p : in.instances()) {
    if (p.model().empty())
      return InvalidArgument("load digest from " + in.node_id() +
                             " has an instance without a model");
    cluster::InstanceLoad i;
    i.model = p.model();
    i.queue_length = p.queue_length();
    i.in_flight = p.in_flight();
    i.expected_wait_ms = p.expected_wait_ms();
    i.service_ms = p.service_ms();
    i.batch_occupancy = p.batch_occupancy();
    i.ready = p.ready();
    i.max_batch = std::max<uint32_t>(1, p.max_batch());
    out->instances.push_back(std::move(i));
  }
  return Status::Ok();
}

void ToProto(const std::string& origin, const api::HttpRequest& in, v1::ForwardRequest* out) {
  out->set_origin_node(origin);
  out->set_method(in.method);
  out->set_path(in.path);
  for (const auto& [k, v] : in.query) out->mutable_query()->insert({k, v});
  for (const auto& [k, v] : in.headers) out->mutable_headers()->insert({k, v});
  out->set_body(in.body);
}

Status FromProto(const v1::ForwardRequest& in, api::HttpRequest* out) {
  if (in.method().empty()) return InvalidArgument("forwarded request without a method");
  if (in.path().empty() || in.path()[0] != '/')
    return InvalidArgument("forwarded request path must start with '/'");
  out->method = in.method();
  out->path = in.path();
  out->body = in.body();
  for (const auto& [k, v] : in.query()) out->query.emplace(k, v);
  for (const auto& [k, v] : in.headers()) out->headers.emplace(k, v);
  return Status::Ok();
}

}  // namespace epara::peer
