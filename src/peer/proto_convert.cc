#include "peer/proto_convert.h"

#include <algorithm>
#include <bit>
#include <cstring>

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
    p->set_queued_prompt_tokens(i.queued_prompt_tokens);
    p->set_prefill_ms_per_token(static_cast<float>(i.prefill_ms_per_token));
    p->set_decode_step_ms(static_cast<float>(i.decode_step_ms));
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
    i.queued_prompt_tokens = p.queued_prompt_tokens();
    i.prefill_ms_per_token = std::max(0.0f, p.prefill_ms_per_token());
    i.decode_step_ms = std::max(0.0f, p.decode_step_ms());
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

namespace {

static_assert(std::endian::native == std::endian::little,
              "peer.proto packs floats little-endian; this host would need byte swaps");

std::string PackFloats(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

Status UnpackFloats(const std::string& bytes, const char* what, std::vector<float>* out) {
  if (bytes.size() % sizeof(float) != 0)
    return InvalidArgument(std::string(what) + " of " + std::to_string(bytes.size()) +
                           " bytes is not a whole number of floats");
  out->resize(bytes.size() / sizeof(float));
  std::memcpy(out->data(), bytes.data(), bytes.size());
  return Status::Ok();
}

}  // namespace

void ToProto(const std::string& origin, const std::string& model, const llm::StageStep& in,
             v1::StageStep* out) {
  out->set_origin_node(origin);
  out->set_model(model);
  out->set_step_id(in.step_id);
  for (const llm::StageStep::Seq& s : in.seqs) {
    v1::StageSeq* p = out->add_seqs();
    p->set_id(s.id);
    p->set_start(static_cast<uint32_t>(s.start));
    p->set_capacity(static_cast<uint32_t>(s.capacity));
    p->mutable_tokens()->Add(s.tokens.begin(), s.tokens.end());
  }
  out->set_hidden(PackFloats(in.hidden));
  out->set_all_positions(in.all_positions);
  out->mutable_release()->Add(in.release.begin(), in.release.end());
}

Status FromProto(const v1::StageStep& in, llm::StageStep* out) {
  out->step_id = in.step_id();
  out->seqs.clear();
  for (const v1::StageSeq& p : in.seqs()) {
    if (p.tokens().empty())
      return InvalidArgument("pipeline step " + std::to_string(in.step_id()) + ": sequence " +
                             std::to_string(p.id()) + " has no tokens");
    if (p.start() > (1u << 30) || p.capacity() > (1u << 30))
      return InvalidArgument("pipeline step " + std::to_string(in.step_id()) +
                             ": position or capacity out of range");
    out->seqs.push_back({p.id(), static_cast<int>(p.start()), static_cast<int>(p.capacity()),
                         std::vector<int32_t>(p.tokens().begin(), p.tokens().end())});
  }
  EPARA_RETURN_IF_ERROR(UnpackFloats(in.hidden(), "hidden states", &out->hidden));
  out->all_positions = in.all_positions();
  out->release.assign(in.release().begin(), in.release().end());
  return Status::Ok();
}

void ToProto(const llm::StageResult& in, v1::StageReply* out) {
  out->set_step_id(in.step_id);
  out->set_code(static_cast<int32_t>(in.status.code()));
  out->set_message(in.status.message());
  if (in.status.ok()) out->set_logits(PackFloats(in.logits));
}

Status FromProto(const v1::StageReply& in, llm::StageResult* out) {
  out->step_id = in.step_id();
  if (in.code() < 0 || in.code() > static_cast<int32_t>(StatusCode::kInternal))
    return InvalidArgument("pipeline reply with unknown status code " + std::to_string(in.code()));
  out->status = Status(static_cast<StatusCode>(in.code()), in.message());
  return UnpackFloats(in.logits(), "logits", &out->logits);
}

}  // namespace epara::peer
