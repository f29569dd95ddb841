// The simulator counts sync bytes with DigestWireBytes: it must equal what the real peer code
// serializes (peer/proto_convert.h + libprotobuf) plus the stream's framing.
#include "sim/digest_size.h"

#include <gtest/gtest.h>

#include "peer/proto_convert.h"

namespace epara::sim {
namespace {

TEST(DigestSizeTest, EqualsTheRealProtobufEncodingPlusFraming) {
  cluster::LoadDigest d;
  d.node_id = "microcomputer-417";
  d.epoch = 1764806400123456;
  d.sequence = 90210;
  d.cpu_utilization = 0.37;
  d.free_memory_bytes = 512ull << 20;
  EXPECT_EQ(DigestWireBytes(d), [&] {
    peer::v1::LoadDigest p;
    peer::ToProto(d, &p);
    return p.ByteSizeLong() + kDigestFramingBytes;
  }());
  for (int i = 0; i < 3; ++i) {
    cluster::InstanceLoad l;
    l.model = "seg-demo-" + std::to_string(i);
    l.queue_length = 3 * i;
    l.in_flight = i;
    l.expected_wait_ms = 12.5 * i;
    l.service_ms = 177;
    l.batch_occupancy = 0.25 * i;
    l.ready = i != 1;
    l.max_batch = 8;
    l.queued_prompt_tokens = 1000 * i;
    l.prefill_ms_per_token = i == 2 ? 0.4 : 0;
    l.decode_step_ms = i == 2 ? 12 : 0;
    d.instances.push_back(l);
  }
  peer::v1::LoadDigest p;
  peer::ToProto(d, &p);
  EXPECT_EQ(DigestWireBytes(d), p.ByteSizeLong() + kDigestFramingBytes);
}

}  // namespace
}  // namespace epara::sim
