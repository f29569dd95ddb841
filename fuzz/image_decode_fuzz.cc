// libFuzzer harness (issue 27): PNG/JPEG decoding of request images (/v1/segment, KServe BYTES),
// with the server's kind of limits (a small pixel budget so that the fuzzer does not spend its
// time on allocating large images).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "image/image_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  epara::DecodeLimits limits;
  limits.max_side = 4096;
  limits.max_pixels = 1 << 20;
  epara::Image image;
  (void)epara::DecodeImage(std::string_view(reinterpret_cast<const char*>(data), size), &image,
                           limits);
  return 0;
}
