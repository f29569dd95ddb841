// A bounds-checked reader for the protobuf wire format (varint, fixed32, fixed64,
// length-delimited), enough to read a known message schema by field number without generated code
// or libprotobuf. epara reads SentencePiece's tokenizer.model with it: Debian's libsentencepiece
// embeds protobuf symbols that collide with LibTorch's at load time (docs/ARCHITECTURE.md,
// "Measured, not assumed").
//
// Contract: no read goes past the buffer; a truncated or malformed buffer gives InvalidArgument
// naming the byte offset, never a crash or an endless loop. Groups (wire types 3/4) are rejected.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace epara::formats {

enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

class ProtoReader {
 public:
  explicit ProtoReader(std::string_view bytes, size_t base_offset = 0)
      : data_(bytes), base_(base_offset) {}

  bool done() const { return pos_ >= data_.size(); }
  // Reads the next field key.
  Status Key(uint32_t* field, WireType* type);
  Status Varint(uint64_t* v);
  Status Fixed32(uint32_t* v);
  Status Fixed64(uint64_t* v);
  // A length-delimited payload (string, bytes, or an embedded message: read it with a child
  // reader built from `*v` and `offset()` before the call for error positions).
  Status Bytes(std::string_view* v);
  // Skips the value of a field of wire type `type`.
  Status Skip(WireType type);
  // Absolute offset of the next byte (for error messages).
  size_t offset() const { return base_ + pos_; }

  // Conveniences over the primitives.
  Status Float(float* v);
  Status Int32(int32_t* v);  // int32 is sign-extended to 10 bytes on the wire
  Status Bool(bool* v);

 private:
  Status Error(std::string what) const;

  std::string_view data_;
  size_t base_ = 0;
  size_t pos_ = 0;
};

}  // namespace epara::formats
