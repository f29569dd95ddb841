// Writes ONNX models (ModelProto, IR version 8, default-domain opset 17) from a small graph
// description, without libonnx or libprotobuf: epara generates its demo and test models with it
// (the demo UNet in ONNX form, test graphs for every datatype the ONNX Runtime backend serves).
// Only what those need is covered: nodes with int/ints/float/string/tensor attributes,
// initializers as raw little-endian data, inputs/outputs with fixed or symbolic dims.
// Field numbers follow onnx/onnx.proto.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace epara::formats::onnx {

// TensorProto.DataType values.
enum class ElemType : int32_t {
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
};

// A graph input or output. A dim < 0 is symbolic (dim_param `dim_names[i]`, or "d<i>").
struct ValueInfo {
  ValueInfo() = default;
  ValueInfo(std::string n, ElemType t, std::vector<int64_t> d, std::vector<std::string> names = {})
      : name(std::move(n)), type(t), dims(std::move(d)), dim_names(std::move(names)) {}
  std::string name;
  ElemType type = ElemType::kFloat;
  std::vector<int64_t> dims;
  std::vector<std::string> dim_names;  // optional, for dims < 0
};

// A constant tensor (initializer or Constant's value). `raw` holds the elements little-endian.
struct TensorData {
  std::string name;
  ElemType type = ElemType::kFloat;
  std::vector<int64_t> dims;
  std::string raw;
};
TensorData FloatTensor(std::string name, std::vector<int64_t> dims, const float* values);
TensorData Int64Tensor(std::string name, std::vector<int64_t> dims, std::vector<int64_t> values);

struct Attribute {
  enum class Kind { kInt, kInts, kFloat, kString, kTensor };
  std::string name;
  Kind kind = Kind::kInt;
  int64_t i = 0;
  std::vector<int64_t> ints;
  float f = 0;
  std::string s;
  TensorData t;

  static Attribute Int(std::string name, int64_t v);
  static Attribute Ints(std::string name, std::vector<int64_t> v);
  static Attribute Float(std::string name, float v);
  static Attribute String(std::string name, std::string v);
  static Attribute Tensor(std::string name, TensorData v);
};

struct Node {
  Node() = default;
  Node(std::string op, std::vector<std::string> in, std::vector<std::string> out,
       std::vector<Attribute> attrs = {}, std::string node_name = {})
      : op_type(std::move(op)),
        inputs(std::move(in)),
        outputs(std::move(out)),
        attributes(std::move(attrs)),
        name(std::move(node_name)) {}
  std::string op_type;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<Attribute> attributes;
  std::string name;  // optional; defaults to "<op_type>_<index>"
};

struct Graph {
  std::string name = "epara";
  std::vector<Node> nodes;
  std::vector<TensorData> initializers;
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
};

// The serialized ModelProto.
std::string SerializeModel(const Graph& graph, int64_t opset = 17);
// Serializes and writes to `path`. Internal on an I/O error.
Status WriteModel(const Graph& graph, const std::string& path, int64_t opset = 17);

}  // namespace epara::formats::onnx
