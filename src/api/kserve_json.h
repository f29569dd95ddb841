// KServe v2 / Open Inference Protocol JSON tensors, with the binary tensor data extension.
//   request:  {"id"?, "parameters"?: {"binary_data_output"?}, "inputs": [{"name", "shape",
//              "datatype", "data" | "parameters": {"binary_data_size"}}],
//              "outputs"?: [{"name", "parameters"?: {"binary_data"?}}]}
//   response: {"model_name", "model_version", "id"?, "outputs": [{"name", "shape", "datatype",
//              "data" | "parameters": {"binary_data_size"}}]}
// "data" may be flat (row-major) or nested; its element count must equal the shape's product.
//
// Binary tensor data (the extension Triton and KServe clients use by default for large tensors):
// the HTTP body is the JSON object followed by raw tensor bytes, its JSON length in the
// Inference-Header-Content-Length header. A binary tensor is little-endian, row-major, unpadded;
// BOOL is one byte (0 or 1). Binary inputs take their bytes from the tail in input order; binary
// outputs append theirs to the response in output order.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace epara::api {

// The header naming the JSON part's length in a request or response with binary tensors.
inline constexpr const char* kInferenceHeaderLength = "Inference-Header-Content-Length";

struct KServeRequestedOutput {
  std::string name;
  int binary = -1;  // parameters.binary_data: 1 true, 0 false, -1 not given (request default)
};

struct KServeInferRequest {
  std::string id;
  std::vector<NamedTensor> inputs;
  std::vector<KServeRequestedOutput> requested_outputs;  // empty = all
  bool binary_output = false;  // parameters.binary_data_output: the default for every output

  // Whether requested output `i` (or, for an unlisted output, the request default) is binary.
  bool OutputBinary(const KServeRequestedOutput* requested) const {
    return requested && requested->binary >= 0 ? requested->binary == 1 : binary_output;
  }
};

// The JSON part's length from the Inference-Header-Content-Length value: the whole body when the
// header is absent (empty); InvalidArgument when it is not a decimal count within the body.
Status ParseInferenceHeaderLength(std::string_view value, size_t body_size, size_t* json_length);

// Parses `body`, whose first `json_length` bytes are the JSON object and the rest binary tensor
// data. InvalidArgument (naming the offending input and field) for anything malformed: bad JSON,
// missing fields, negative dims, unknown datatypes, element-count mismatches, out-of-range
// integers, a binary size that does not fit the shape, binary bytes left over or missing.
Status ParseKServeInferRequest(std::string_view body, size_t json_length, KServeInferRequest* out);
// A body that is all JSON.
inline Status ParseKServeInferRequest(std::string_view body, KServeInferRequest* out) {
  return ParseKServeInferRequest(body, body.size(), out);
}

struct KServeOutput {
  std::string name;
  const Tensor* tensor = nullptr;
  bool binary = false;
};

// Serializes outputs. Sets *json_length to the JSON part's length when any output is binary (the
// response then needs the Inference-Header-Content-Length header), 0 otherwise.
std::string KServeInferResponse(const std::string& model, const std::string& version,
                                const std::string& id, const std::vector<KServeOutput>& outputs,
                                size_t* json_length = nullptr);

// Client side (benchmarks, tests, peers): a request carrying every input as binary data, asking
// for binary outputs when `binary_outputs`. Sets *json_length for the header.
std::string KServeBinaryRequest(const std::vector<NamedTensor>& inputs, bool binary_outputs,
                                size_t* json_length);
// Reads a response's outputs (JSON or binary data) into tensors.
Status ParseKServeInferResponse(std::string_view body, size_t json_length,
                                std::vector<NamedTensor>* outputs);

}  // namespace epara::api
