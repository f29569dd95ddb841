// Conversions between epara's plain types and peer.proto's messages. Only the peer library's
// sources include this (it pulls in the generated protobuf code).
#pragma once

#include "api/http_types.h"
#include "cluster/load_digest.h"
#include "core/status.h"
#include "peer/peer.pb.h"

namespace epara::peer {

void ToProto(const cluster::LoadDigest& in, v1::LoadDigest* out);
// InvalidArgument when the digest names no node or an instance no model.
Status FromProto(const v1::LoadDigest& in, cluster::LoadDigest* out);

void ToProto(const std::string& origin, const api::HttpRequest& in, v1::ForwardRequest* out);
// InvalidArgument when the method is empty or the path does not start with '/'.
Status FromProto(const v1::ForwardRequest& in, api::HttpRequest* out);

}  // namespace epara::peer
