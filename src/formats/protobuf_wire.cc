#include "formats/protobuf_wire.h"

#include <cstring>
#include <string>

namespace epara::formats {

Status ProtoReader::Error(std::string what) const {
  return InvalidArgument(what + " at byte " + std::to_string(offset()));
}

Status ProtoReader::Key(uint32_t* field, WireType* type) {
  uint64_t key = 0;
  if (Status s = Varint(&key); !s.ok()) return s;
  const uint64_t wire = key & 7;
  if (wire != 0 && wire != 1 && wire != 2 && wire != 5)
    return Error("unsupported protobuf wire type " + std::to_string(wire));
  if ((key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF) return Error("invalid protobuf field number");
  *field = static_cast<uint32_t>(key >> 3);
  *type = static_cast<WireType>(wire);
  return Status::Ok();
}

Status ProtoReader::Varint(uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (pos_ >= data_.size()) return Error("truncated varint");
    const auto b = static_cast<uint8_t>(data_[pos_++]);
    result |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) {
      *v = result;
      return Status::Ok();
    }
  }
  return Error("varint longer than 10 bytes");
}

Status ProtoReader::Fixed32(uint32_t* v) {
  if (data_.size() - pos_ < 4) return Error("truncated fixed32");
  uint8_t b[4];
  std::memcpy(b, data_.data() + pos_, 4);
  *v = b[0] | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
  pos_ += 4;
  return Status::Ok();
}

Status ProtoReader::Fixed64(uint64_t* v) {
  uint32_t lo = 0, hi = 0;
  if (data_.size() - pos_ < 8) return Error("truncated fixed64");
  (void)Fixed32(&lo);
  (void)Fixed32(&hi);
  *v = lo | (uint64_t{hi} << 32);
  return Status::Ok();
}

Status ProtoReader::Bytes(std::string_view* v) {
  uint64_t n = 0;
  if (Status s = Varint(&n); !s.ok()) return s;
  if (n > data_.size() - pos_)
    return Error("length " + std::to_string(n) + " runs past the end of the message");
  *v = data_.substr(pos_, n);
  pos_ += n;
  return Status::Ok();
}

Status ProtoReader::Skip(WireType type) {
  uint64_t u = 0;
  std::string_view b;
  switch (type) {
    case WireType::kVarint:
      return Varint(&u);
    case WireType::kFixed64:
      return Fixed64(&u);
    case WireType::kFixed32: {
      uint32_t x = 0;
      return Fixed32(&x);
    }
    case WireType::kLen:
      return Bytes(&b);
  }
  return Error("unsupported protobuf wire type");
}

Status ProtoReader::Float(float* v) {
  uint32_t bits = 0;
  if (Status s = Fixed32(&bits); !s.ok()) return s;
  std::memcpy(v, &bits, 4);
  return Status::Ok();
}

Status ProtoReader::Int32(int32_t* v) {
  uint64_t u = 0;
  if (Status s = Varint(&u); !s.ok()) return s;
  *v = static_cast<int32_t>(static_cast<uint32_t>(u));
  return Status::Ok();
}

Status ProtoReader::Bool(bool* v) {
  uint64_t u = 0;
  if (Status s = Varint(&u); !s.ok()) return s;
  *v = u != 0;
  return Status::Ok();
}

}  // namespace epara::formats
