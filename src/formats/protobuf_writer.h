// ProtoWriter: appends protobuf wire-format fields to a byte string, enough to write a known
// message schema by field number without generated code or libprotobuf (the counterpart of
// protobuf_wire.h's reader). Embedded messages are written by serializing the child into its own
// ProtoWriter and adding its bytes as a length-delimited field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace epara::formats {

class ProtoWriter {
 public:
  void Varint(uint32_t field, uint64_t v);  // int32/int64/uint/enum/bool (negative: 10 bytes)
  void Int64(uint32_t field, int64_t v) { Varint(field, static_cast<uint64_t>(v)); }
  void Bytes(uint32_t field, std::string_view bytes);  // string, bytes or an embedded message
  void Float(uint32_t field, float v);                 // fixed32
  void Fixed32(uint32_t field, uint32_t v);
  void Fixed64(uint32_t field, uint64_t v);
  // A packed repeated int64 field (one length-delimited run of varints).
  void PackedInt64(uint32_t field, const int64_t* v, size_t n);

  const std::string& bytes() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Key(uint32_t field, uint32_t wire_type);
  void RawVarint(uint64_t v);
  std::string out_;
};

}  // namespace epara::formats
