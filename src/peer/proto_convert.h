// Conversions between epara's plain types and peer.proto's messages. Only the peer library's
// sources include this (it pulls in the generated protobuf code).
#pragma once

#include "api/http_types.h"
#include "cluster/load_digest.h"
#include "core/status.h"
#include "llm/pipeline_stage.h"
#include "peer/peer.pb.h"

namespace epara::peer {

void ToProto(const cluster::LoadDigest& in, v1::LoadDigest* out);
// InvalidArgument when the digest names no node or an instance no model.
Status FromProto(const v1::LoadDigest& in, cluster::LoadDigest* out);

void ToProto(const std::string& origin, const api::HttpRequest& in, v1::ForwardRequest* out);
// InvalidArgument when the method is empty or the path does not start with '/'.
Status FromProto(const v1::ForwardRequest& in, api::HttpRequest* out);

void ToProto(const std::string& origin, const std::string& model, const llm::StageStep& in,
             v1::StageStep* out);
// InvalidArgument when the hidden bytes are not whole floats or a sequence has no tokens.
Status FromProto(const v1::StageStep& in, llm::StageStep* out);

void ToProto(const llm::StageResult& in, v1::StageReply* out);
// InvalidArgument when the logits are not whole floats or the code is unknown.
Status FromProto(const v1::StageReply& in, llm::StageResult* out);

}  // namespace epara::peer
