// libFuzzer harness (issue 27): the event-driven HTTP server's request parsing (api/http_wire.h),
// what every byte a client sends to a plain-HTTP port goes through: the request head, then a
// chunked body after it. The first byte picks the limits so that the 431/413 paths are reached.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/http_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t max_head = 64 + (data[0] & 0x0f) * 256;
  const int64_t max_body = (data[0] >> 4) * 64;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  epara::api::WireRequest req;
  size_t head = 0;
  int status = 0;
  std::string why;
  if (epara::api::ParseRequestHead(bytes, max_head, max_body, &req, &head, &status, &why) ==
      epara::api::WireParse::kOk) {
    std::string body;
    size_t used = 0;
    (void)epara::api::DecodeChunkedBody(bytes.substr(head), max_body, &body, &used, &status, &why);
  }
  (void)epara::api::UrlDecode(bytes, true);
  return 0;
}
