#include "formats/onnx_fp32.h"

#include <cstring>
#include <vector>

#include "core/half.h"
#include "formats/protobuf_wire.h"
#include "formats/protobuf_writer.h"

namespace epara::formats::onnx {
namespace {

constexpr uint64_t kFloat = 1, kFloat16 = 10;

struct Field {
  uint32_t number;
  WireType type;
  uint64_t scalar = 0;     // varint, fixed32, fixed64
  std::string_view bytes;  // length-delimited
};

// Reads every field of a message, in order.
Status ReadFields(std::string_view message, size_t base, std::vector<Field>* out) {
  ProtoReader r(message, base);
  while (!r.done()) {
    Field f;
    EPARA_RETURN_IF_ERROR(r.Key(&f.number, &f.type));
    switch (f.type) {
      case WireType::kVarint:
        EPARA_RETURN_IF_ERROR(r.Varint(&f.scalar));
        break;
      case WireType::kFixed64:
        EPARA_RETURN_IF_ERROR(r.Fixed64(&f.scalar));
        break;
      case WireType::kFixed32: {
        uint32_t v = 0;
        EPARA_RETURN_IF_ERROR(r.Fixed32(&v));
        f.scalar = v;
        break;
      }
      case WireType::kLen:
        EPARA_RETURN_IF_ERROR(r.Bytes(&f.bytes));
        break;
    }
    out->push_back(f);
  }
  return Status::Ok();
}

void Copy(const Field& f, ProtoWriter* w) {
  switch (f.type) {
    case WireType::kVarint:
      w->Varint(f.number, f.scalar);
      break;
    case WireType::kFixed64:
      w->Fixed64(f.number, f.scalar);
      break;
    case WireType::kFixed32:
      w->Fixed32(f.number, static_cast<uint32_t>(f.scalar));
      break;
    case WireType::kLen:
      w->Bytes(f.number, f.bytes);
      break;
  }
}

std::string Floats(const std::vector<uint16_t>& halves) {
  std::string raw(halves.size() * sizeof(float), '\0');
  for (size_t i = 0; i < halves.size(); ++i) {
    const float f = HalfToFloat(halves[i]);
    std::memcpy(raw.data() + i * sizeof(float), &f, sizeof(float));
  }
  return raw;
}

// TensorProto: data_type 2, int32_data 5 (fp16 bits, packed or not), raw_data 9.
Status Tensor(std::string_view in, std::string* out) {
  std::vector<Field> fields;
  EPARA_RETURN_IF_ERROR(ReadFields(in, 0, &fields));
  bool half = false;
  for (const Field& f : fields)
    if (f.number == 2 && f.type == WireType::kVarint && f.scalar == kFloat16) half = true;
  ProtoWriter w;
  if (!half) {
    for (const Field& f : fields) Copy(f, &w);
    *out = w.Take();
    return Status::Ok();
  }
  std::vector<uint16_t> halves;
  for (const Field& f : fields) {
    if (f.number == 2) {
      w.Varint(2, kFloat);
    } else if (f.number == 9 && f.type == WireType::kLen) {
      std::vector<uint16_t> h(f.bytes.size() / 2);
      std::memcpy(h.data(), f.bytes.data(), h.size() * 2);
      halves.insert(halves.end(), h.begin(), h.end());
    } else if (f.number == 5 && f.type == WireType::kLen) {  // packed int32_data
      ProtoReader r(f.bytes);
      while (!r.done()) {
        uint64_t v = 0;
        EPARA_RETURN_IF_ERROR(r.Varint(&v));
        halves.push_back(static_cast<uint16_t>(v));
      }
    } else if (f.number == 5 && f.type == WireType::kVarint) {
      halves.push_back(static_cast<uint16_t>(f.scalar));
    } else {
      Copy(f, &w);
    }
  }
  w.Bytes(9, Floats(halves));
  *out = w.Take();
  return Status::Ok();
}

Status Graph(std::string_view in, std::string* out);

// TypeProto: tensor_type 1 { elem_type 1 }; other kinds copied.
Status Type(std::string_view in, std::string* out) {
  std::vector<Field> fields;
  EPARA_RETURN_IF_ERROR(ReadFields(in, 0, &fields));
  ProtoWriter w;
  for (const Field& f : fields) {
    if (f.number != 1 || f.type != WireType::kLen) {
      Copy(f, &w);
      continue;
    }
    std::vector<Field> tt;
    EPARA_RETURN_IF_ERROR(ReadFields(f.bytes, 0, &tt));
    ProtoWriter t;
    for (const Field& x : tt) {
      if (x.number == 1 && x.type == WireType::kVarint && x.scalar == kFloat16)
        t.Varint(1, kFloat);
      else
        Copy(x, &t);
    }
    w.Bytes(1, t.bytes());
  }
  *out = w.Take();
  return Status::Ok();
}

// ValueInfoProto: type 2.
Status ValueInfo(std::string_view in, std::string* out) {
  std::vector<Field> fields;
  EPARA_RETURN_IF_ERROR(ReadFields(in, 0, &fields));
  ProtoWriter w;
  for (const Field& f : fields) {
    if (f.number == 2 && f.type == WireType::kLen) {
      std::string t;
      EPARA_RETURN_IF_ERROR(Type(f.bytes, &t));
      w.Bytes(2, t);
    } else {
      Copy(f, &w);
    }
  }
  *out = w.Take();
  return Status::Ok();
}

// AttributeProto: name 1, i 3, t 5, g 6, tensors 10, graphs 11. `cast`: the node is a Cast.
Status Attribute(std::string_view in, bool cast, std::string* out) {
  std::vector<Field> fields;
  EPARA_RETURN_IF_ERROR(ReadFields(in, 0, &fields));
  bool to = false;
  for (const Field& f : fields)
    if (f.number == 1 && f.bytes == "to") to = true;
  ProtoWriter w;
  for (const Field& f : fields) {
    std::string sub;
    if (cast && to && f.number == 3 && f.type == WireType::kVarint && f.scalar == kFloat16) {
      w.Varint(3, kFloat);
    } else if ((f.number == 5 || f.number == 10) && f.type == WireType::kLen) {
      EPARA_RETURN_IF_ERROR(Tensor(f.bytes, &sub));
      w.Bytes(f.number, sub);
    } else if ((f.number == 6 || f.number == 11) && f.type == WireType::kLen) {
      EPARA_RETURN_IF_ERROR(Graph(f.bytes, &sub));
      w.Bytes(f.number, sub);
    } else {
      Copy(f, &w);
    }
  }
  *out = w.Take();
  return Status::Ok();
}

// NodeProto: op_type 4, attribute 5.
Status Node(std::string_view in, std::string* out) {
  std::vector<Field> fields;
  EPARA_RETURN_IF_ERROR(ReadFields(in, 0, &fields));
  bool cast = false;
  for (const Field& f : fields)
    if (f.number == 4 && f.bytes == "Cast") cast = true;
  ProtoWriter w;
  for (const Field& f : fields) {
    if (f.number == 5 && f.type == WireType::kLen) {
      std::string a;
      EPARA_RETURN_IF_ERROR(Attribute(f.bytes, cast, &a));
      w.Bytes(5, a);
    } else {
      Copy(f, &w);
    }
  }
  *out = w.Take();
  return Status::Ok();
}

// GraphProto: node 1, initializer 5, input 11, output 12, value_info 13.
Status Graph(std::string_view in, std::string* out) {
  std::vector<Field> fields;
  EPARA_RETURN_IF_ERROR(ReadFields(in, 0, &fields));
  ProtoWriter w;
  for (const Field& f : fields) {
    std::string sub;
    if (f.type != WireType::kLen) {
      Copy(f, &w);
      continue;
    }
    switch (f.number) {
      case 1:
        EPARA_RETURN_IF_ERROR(Node(f.bytes, &sub));
        break;
      case 5:
        EPARA_RETURN_IF_ERROR(Tensor(f.bytes, &sub));
        break;
      case 11:
      case 12:
      case 13:
        EPARA_RETURN_IF_ERROR(ValueInfo(f.bytes, &sub));
        break;
      default:
        Copy(f, &w);
        continue;
    }
    w.Bytes(f.number, sub);
  }
  *out = w.Take();
  return Status::Ok();
}

}  // namespace

Status ConvertFp16ModelToFp32(std::string_view model, std::string* out) {
  std::vector<Field> fields;
  EPARA_RETURN_IF_ERROR(ReadFields(model, 0, &fields));
  ProtoWriter w;
  for (const Field& f : fields) {
    if (f.number == 7 && f.type == WireType::kLen) {  // graph
      std::string g;
      EPARA_RETURN_IF_ERROR(Graph(f.bytes, &g));
      w.Bytes(7, g);
    } else {
      Copy(f, &w);
    }
  }
  *out = w.Take();
  return Status::Ok();
}

}  // namespace epara::formats::onnx
