// Test helpers: protobuf wire-format encoding, enough to build messages by hand in tests.
#pragma once

#include <cstdint>
#include <string>

namespace epara::formats::testing {

inline std::string Varint(uint64_t v) {
  std::string s;
  do {
    const uint8_t b = v & 0x7F;
    v >>= 7;
    s.push_back(static_cast<char>(b | (v ? 0x80 : 0)));
  } while (v);
  return s;
}
// A length-delimited field (string, bytes or embedded message).
inline std::string LenField(int field, const std::string& body) {
  return Varint((static_cast<uint64_t>(field) << 3) | 2) + Varint(body.size()) + body;
}
inline std::string VarintField(int field, uint64_t v) {
  return Varint(static_cast<uint64_t>(field) << 3) + Varint(v);
}

}  // namespace epara::formats::testing
