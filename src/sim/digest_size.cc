#include "sim/digest_size.h"

#include "formats/protobuf_writer.h"

namespace epara::sim {
namespace {

void Float(formats::ProtoWriter& w, uint32_t field, double v) {
  if (static_cast<float>(v) != 0.0f) w.Float(field, static_cast<float>(v));
}
void Varint(formats::ProtoWriter& w, uint32_t field, uint64_t v) {
  if (v != 0) w.Varint(field, v);
}

}  // namespace

size_t DigestWireBytes(const cluster::LoadDigest& d) {
  formats::ProtoWriter w;
  if (!d.node_id.empty()) w.Bytes(1, d.node_id);
  Varint(w, 2, d.epoch);
  Varint(w, 3, d.sequence);
  Float(w, 4, d.cpu_utilization);
  Varint(w, 5, d.free_memory_bytes);
  for (const cluster::InstanceLoad& i : d.instances) {
    formats::ProtoWriter m;
    if (!i.model.empty()) m.Bytes(1, i.model);
    Varint(m, 2, i.queue_length);
    Varint(m, 3, i.in_flight);
    Float(m, 4, i.expected_wait_ms);
    Float(m, 5, i.service_ms);
    Float(m, 6, i.batch_occupancy);
    Varint(m, 7, i.ready ? 1 : 0);
    Varint(m, 8, i.max_batch);
    Varint(m, 9, i.queued_prompt_tokens);
    Float(m, 10, i.prefill_ms_per_token);
    Float(m, 11, i.decode_step_ms);
    w.Bytes(6, m.bytes());
  }
  return w.bytes().size() + kDigestFramingBytes;
}

}  // namespace epara::sim
