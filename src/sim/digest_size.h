// The bytes one load digest takes on the wire between two nodes (issue 23's sync-cost study):
// the protobuf encoding of peer.proto's LoadDigest (proto3: fields at their default are not
// written), plus gRPC's 5-byte message prefix and one HTTP/2 DATA frame header (9 bytes) of the
// stream that carries it (peer/peer_client.cc streams digests). TCP/IP headers are not counted
// (several digests share a segment when they are sent together).
#pragma once

#include <cstddef>

#include "cluster/load_digest.h"

namespace epara::sim {

inline constexpr size_t kDigestFramingBytes = 5 + 9;

size_t DigestWireBytes(const cluster::LoadDigest& digest);

}  // namespace epara::sim
