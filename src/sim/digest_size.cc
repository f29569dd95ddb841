#include "sim/digest_size.h"

namespace epara::sim {
namespace {

// Bytes of a proto3 field: key (field numbers here are < 16: one byte) + payload; nothing at the
// default value. Computed, not serialized: the simulator counts every digest it sends.
size_t VarintBytes(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
size_t Varint(uint64_t v) { return v ? 1 + VarintBytes(v) : 0; }
size_t Float(double v) { return static_cast<float>(v) != 0.0f ? 1 + 4 : 0; }
size_t Bytes(size_t len) { return len ? 1 + VarintBytes(len) + len : 0; }

}  // namespace

size_t DigestWireBytes(const cluster::LoadDigest& d) {
  size_t n = Bytes(d.node_id.size()) + Varint(d.epoch) + Varint(d.sequence) +
             Float(d.cpu_utilization) + Varint(d.free_memory_bytes);
  for (const cluster::InstanceLoad& i : d.instances) {
    const size_t m = Bytes(i.model.size()) + Varint(i.queue_length) + Varint(i.in_flight) +
                     Float(i.expected_wait_ms) + Float(i.service_ms) + Float(i.batch_occupancy) +
                     Varint(i.ready ? 1 : 0) + Varint(i.max_batch) +
                     Varint(i.queued_prompt_tokens) + Float(i.prefill_ms_per_token) +
                     Float(i.decode_step_ms);
    n += 1 + VarintBytes(m) + m;  // an embedded message is written even when empty
  }
  return n + kDigestFramingBytes;
}

}  // namespace epara::sim
