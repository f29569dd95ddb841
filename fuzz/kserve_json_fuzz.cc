// libFuzzer harness (issue 27): the KServe v2 JSON/binary request parser, what every
// POST /v2/models/{m}/infer body goes through. The first two bytes choose the binary extension's
// JSON length (Inference-Header-Content-Length) so both forms are reached.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/kserve_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);
  epara::api::KServeInferRequest request;
  (void)epara::api::ParseKServeInferRequest(body, &request);
  const size_t length = (static_cast<size_t>(data[0]) << 8 | data[1]) % (body.size() + 2);
  size_t json_length = 0;
  if (epara::api::ParseInferenceHeaderLength(std::to_string(length), body.size(), &json_length)
          .ok()) {
    epara::api::KServeInferRequest binary;
    (void)epara::api::ParseKServeInferRequest(body, json_length, &binary);
  }
  return 0;
}
