// KServe v2 / Open Inference Protocol JSON tensors.
//   request:  {"id"?, "inputs": [{"name", "shape", "datatype", "data"}], "outputs"?: [{"name"}]}
//   response: {"model_name", "model_version", "id"?, "outputs": [{"name", "shape", "datatype",
//   "data"}]}
// "data" may be flat (row-major) or nested; its element count must equal the shape's product.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace epara::api {

struct KServeInferRequest {
  std::string id;
  std::vector<NamedTensor> inputs;
  std::vector<std::string> requested_outputs;  // empty = all
};

// InvalidArgument (naming the offending input and field) for anything malformed: bad JSON, missing
// fields, negative dims, unknown datatypes, element-count mismatches, out-of-range integers.
Status ParseKServeInferRequest(const std::string& body, KServeInferRequest* out);

// Serializes outputs. `names` and `tensors` are parallel.
std::string KServeInferResponse(const std::string& model, const std::string& version,
                                const std::string& id, const std::vector<std::string>& names,
                                const std::vector<const Tensor*>& tensors);

}  // namespace epara::api
