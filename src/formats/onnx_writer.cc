#include "formats/onnx_writer.h"

#include <cstring>
#include <fstream>

#include "formats/protobuf_writer.h"

namespace epara::formats::onnx {
namespace {

// onnx.proto field numbers.
namespace model_f {
constexpr uint32_t kIrVersion = 1, kProducerName = 2, kProducerVersion = 3, kGraph = 7,
                   kOpsetImport = 8;
}
namespace opset_f {
constexpr uint32_t kDomain = 1, kVersion = 2;
}
namespace graph_f {
constexpr uint32_t kNode = 1, kName = 2, kInitializer = 5, kInput = 11, kOutput = 12;
}
namespace node_f {
constexpr uint32_t kInput = 1, kOutput = 2, kName = 3, kOpType = 4, kAttribute = 5;
}
namespace attr_f {
constexpr uint32_t kName = 1, kF = 2, kI = 3, kS = 4, kT = 5, kInts = 8, kType = 20;
}
enum AttrType : uint64_t {
  kAttrFloat = 1,
  kAttrInt = 2,
  kAttrString = 3,
  kAttrTensor = 4,
  kAttrInts = 7
};
namespace tensor_f {
constexpr uint32_t kDims = 1, kDataType = 2, kName = 8, kRawData = 9;
}
namespace value_info_f {
constexpr uint32_t kName = 1, kType = 2;
}
constexpr uint32_t kTypeTensorType = 1;                    // TypeProto.tensor_type
constexpr uint32_t kTensorElemType = 1, kTensorShape = 2;  // TypeProto.Tensor
constexpr uint32_t kShapeDim = 1;                          // TensorShapeProto.dim
constexpr uint32_t kDimValue = 1, kDimParam = 2;           // TensorShapeProto.Dimension

std::string TensorBytes(const TensorData& t) {
  ProtoWriter w;
  w.PackedInt64(tensor_f::kDims, t.dims.data(), t.dims.size());
  w.Varint(tensor_f::kDataType, static_cast<uint64_t>(t.type));
  if (!t.name.empty()) w.Bytes(tensor_f::kName, t.name);
  w.Bytes(tensor_f::kRawData, t.raw);
  return w.Take();
}

std::string AttributeBytes(const Attribute& a) {
  ProtoWriter w;
  w.Bytes(attr_f::kName, a.name);
  switch (a.kind) {
    case Attribute::Kind::kInt:
      w.Int64(attr_f::kI, a.i);
      w.Varint(attr_f::kType, kAttrInt);
      break;
    case Attribute::Kind::kInts:
      for (int64_t v : a.ints) w.Int64(attr_f::kInts, v);
      w.Varint(attr_f::kType, kAttrInts);
      break;
    case Attribute::Kind::kFloat:
      w.Float(attr_f::kF, a.f);
      w.Varint(attr_f::kType, kAttrFloat);
      break;
    case Attribute::Kind::kString:
      w.Bytes(attr_f::kS, a.s);
      w.Varint(attr_f::kType, kAttrString);
      break;
    case Attribute::Kind::kTensor:
      w.Bytes(attr_f::kT, TensorBytes(a.t));
      w.Varint(attr_f::kType, kAttrTensor);
      break;
  }
  return w.Take();
}

std::string ValueInfoBytes(const ValueInfo& v) {
  ProtoWriter shape;
  for (size_t i = 0; i < v.dims.size(); ++i) {
    ProtoWriter dim;
    if (v.dims[i] >= 0) {
      dim.Int64(kDimValue, v.dims[i]);
    } else {
      std::string param = "d";  // appended, not "d" + ...: GCC 12 warns falsely (-Wrestrict) there
      param += std::to_string(i);
      if (i < v.dim_names.size() && !v.dim_names[i].empty()) param = v.dim_names[i];
      dim.Bytes(kDimParam, param);
    }
    shape.Bytes(kShapeDim, dim.bytes());
  }
  ProtoWriter tensor_type;
  tensor_type.Varint(kTensorElemType, static_cast<uint64_t>(v.type));
  tensor_type.Bytes(kTensorShape, shape.bytes());
  ProtoWriter type;
  type.Bytes(kTypeTensorType, tensor_type.bytes());
  ProtoWriter w;
  w.Bytes(value_info_f::kName, v.name);
  w.Bytes(value_info_f::kType, type.bytes());
  return w.Take();
}

}  // namespace

TensorData FloatTensor(std::string name, std::vector<int64_t> dims, const float* values) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  TensorData t{std::move(name), ElemType::kFloat, std::move(dims), {}};
  t.raw.assign(reinterpret_cast<const char*>(values), static_cast<size_t>(n) * sizeof(float));
  return t;
}

TensorData Int64Tensor(std::string name, std::vector<int64_t> dims, std::vector<int64_t> values) {
  TensorData t{std::move(name), ElemType::kInt64, std::move(dims), {}};
  t.raw.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(int64_t));
  return t;
}

namespace {
Attribute Named(std::string name, Attribute::Kind kind) {
  Attribute a;
  a.name = std::move(name);
  a.kind = kind;
  return a;
}
}  // namespace

Attribute Attribute::Int(std::string name, int64_t v) {
  Attribute a = Named(std::move(name), Kind::kInt);
  a.i = v;
  return a;
}
Attribute Attribute::Ints(std::string name, std::vector<int64_t> v) {
  Attribute a = Named(std::move(name), Kind::kInts);
  a.ints = std::move(v);
  return a;
}
Attribute Attribute::Float(std::string name, float v) {
  Attribute a = Named(std::move(name), Kind::kFloat);
  a.f = v;
  return a;
}
Attribute Attribute::String(std::string name, std::string v) {
  Attribute a = Named(std::move(name), Kind::kString);
  a.s = std::move(v);
  return a;
}
Attribute Attribute::Tensor(std::string name, TensorData v) {
  Attribute a = Named(std::move(name), Kind::kTensor);
  a.t = std::move(v);
  return a;
}

std::string SerializeModel(const Graph& graph, int64_t opset) {
  ProtoWriter g;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    ProtoWriter w;
    for (const auto& in : n.inputs) w.Bytes(node_f::kInput, in);
    for (const auto& out : n.outputs) w.Bytes(node_f::kOutput, out);
    w.Bytes(node_f::kName, n.name.empty() ? n.op_type + "_" + std::to_string(i) : n.name);
    w.Bytes(node_f::kOpType, n.op_type);
    for (const auto& a : n.attributes) w.Bytes(node_f::kAttribute, AttributeBytes(a));
    g.Bytes(graph_f::kNode, w.bytes());
  }
  g.Bytes(graph_f::kName, graph.name);
  for (const auto& t : graph.initializers) g.Bytes(graph_f::kInitializer, TensorBytes(t));
  for (const auto& v : graph.inputs) g.Bytes(graph_f::kInput, ValueInfoBytes(v));
  for (const auto& v : graph.outputs) g.Bytes(graph_f::kOutput, ValueInfoBytes(v));

  ProtoWriter opset_id;
  opset_id.Bytes(opset_f::kDomain, "");
  opset_id.Int64(opset_f::kVersion, opset);
  ProtoWriter m;
  m.Int64(model_f::kIrVersion, 8);
  m.Bytes(model_f::kProducerName, "epara");
  m.Bytes(model_f::kProducerVersion, "1");
  m.Bytes(model_f::kGraph, g.bytes());
  m.Bytes(model_f::kOpsetImport, opset_id.bytes());
  return m.Take();
}

Status WriteModel(const Graph& graph, const std::string& path, int64_t opset) {
  const std::string bytes = SerializeModel(graph, opset);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) return Internal("cannot write " + path);
  return Status::Ok();
}

}  // namespace epara::formats::onnx
