#include "formats/protobuf_writer.h"

#include <cstring>

namespace epara::formats {

void ProtoWriter::RawVarint(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
}

void ProtoWriter::Key(uint32_t field, uint32_t wire_type) {
  RawVarint((static_cast<uint64_t>(field) << 3) | wire_type);
}

void ProtoWriter::Varint(uint32_t field, uint64_t v) {
  Key(field, 0);
  RawVarint(v);
}

void ProtoWriter::Bytes(uint32_t field, std::string_view bytes) {
  Key(field, 2);
  RawVarint(bytes.size());
  out_.append(bytes);
}

void ProtoWriter::Float(uint32_t field, float v) {
  Key(field, 5);
  char b[4];
  std::memcpy(b, &v, 4);  // little-endian hosts only (x86-64, arm64), as the reader
  out_.append(b, 4);
}

void ProtoWriter::Fixed32(uint32_t field, uint32_t v) {
  Key(field, 5);
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void ProtoWriter::Fixed64(uint32_t field, uint64_t v) {
  Key(field, 1);
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void ProtoWriter::PackedInt64(uint32_t field, const int64_t* v, size_t n) {
  ProtoWriter run;
  for (size_t i = 0; i < n; ++i) run.RawVarint(static_cast<uint64_t>(v[i]));
  Bytes(field, run.bytes());
}

}  // namespace epara::formats
