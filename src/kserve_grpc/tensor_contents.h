// Tensors in and out of the KServe v2 gRPC messages (grpc_predict_v2.proto): an input from its
// raw bytes or its typed contents, checked against its datatype and shape. Pure functions.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "kserve_grpc/grpc_predict_v2.pb.h"

namespace epara::kserve_grpc {

// Every input of `request` as a tensor. InvalidArgument (naming the input) for an unknown or
// unserved datatype, a negative dimension, raw contents that are not one per input or whose byte
// count does not fit the shape, typed contents in the wrong field or with the wrong count, values
// out of their type's range, or both raw and typed contents.
Status InputsFromProto(const inference::ModelInferRequest& request, std::vector<NamedTensor>* out);

// Appends `tensor` as an output named `name`: its metadata, and its bytes as raw contents.
void AddRawOutput(const std::string& name, const Tensor& tensor,
                  inference::ModelInferResponse* response);

}  // namespace epara::kserve_grpc
