#include "api/kserve_json.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <limits>

#include "core/half.h"

namespace epara::api {
namespace {

using json = nlohmann::json;

// Walks nested arrays depth-first, appending scalars to `out`. Returns false on a non-array,
// non-scalar element.
bool Flatten(const json& j, std::vector<const json*>* out) {
  if (j.is_array()) {
    for (const auto& e : j)
      if (!Flatten(e, out)) return false;
    return true;
  }
  if (j.is_number() || j.is_boolean()) {
    out->push_back(&j);
    return true;
  }
  return false;
}

template <typename T>
Status FillIntegers(const std::vector<const json*>& values, const std::string& where, Tensor* t) {
  T* dst = t->data<T>();
  for (size_t i = 0; i < values.size(); ++i) {
    const json& v = *values[i];
    if (!v.is_number_integer())
      return InvalidArgument(where + ": element " + std::to_string(i) + " is not an integer");
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        return InvalidArgument(where + ": element " + std::to_string(i) +
                               " out of range for the datatype");
      dst[i] = static_cast<T>(u);
    } else {
      int64_t s = v.get<int64_t>();
      if (s < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          s > static_cast<int64_t>(std::numeric_limits<T>::max()))
        return InvalidArgument(where + ": element " + std::to_string(i) +
                               " out of range for the datatype");
      dst[i] = static_cast<T>(s);
    }
  }
  return Status::Ok();
}

// Numbers into T elements; `store` converts (FP16: float -> IEEE half bits).
template <typename T, typename Read = T, typename Store = T (*)(Read)>
Status FillFloats(
    const std::vector<const json*>& values, const std::string& where, Tensor* t,
    Store store = [](Read v) { return static_cast<T>(v); }) {
  T* dst = t->data<T>();
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i]->is_number())
      return InvalidArgument(where + ": element " + std::to_string(i) + " is not a number");
    dst[i] = store(values[i]->get<Read>());
  }
  return Status::Ok();
}

// Reads the tensor's "parameters.binary_data_size", if any, into *size (-1 when absent).
Status BinarySize(const json& in, const std::string& where, int64_t* size) {
  *size = -1;
  if (!in.contains("parameters")) return Status::Ok();
  const json& p = in["parameters"];
  if (!p.is_object()) return InvalidArgument(where + ": 'parameters' must be an object");
  if (!p.contains("binary_data_size")) return Status::Ok();
  if (!p["binary_data_size"].is_number_integer() || p["binary_data_size"].get<int64_t>() < 0)
    return InvalidArgument(where + ": 'binary_data_size' must be a non-negative integer");
  *size = p["binary_data_size"].get<int64_t>();
  return Status::Ok();
}

// Moves a binary tensor's bytes from the front of *binary into a new tensor, after checking that
// `size` fits the shape and the body holds that many bytes (before allocating anything).
Status TakeBinary(const std::string& where, DataType dtype, std::vector<int64_t> shape,
                  int64_t size, std::string_view* binary, Tensor* out) {
  const size_t need = static_cast<size_t>(NumElements(shape)) * DataTypeSize(dtype);
  if (static_cast<size_t>(size) != need)
    return InvalidArgument(where + ": 'binary_data_size' is " + std::to_string(size) +
                           " bytes, the shape and datatype need " + std::to_string(need));
  if (binary->size() < need)
    return InvalidArgument(where + ": the body holds " + std::to_string(binary->size()) +
                           " binary bytes, the tensor needs " + std::to_string(need));
  Tensor t = Tensor::Uninitialized(dtype, std::move(shape));
  if (need > 0) std::memcpy(t.raw(), binary->data(), need);
  binary->remove_prefix(need);
  if (dtype == DataType::kBool)
    for (int64_t i = 0; i < t.num_elements(); ++i)
      if (t.data<uint8_t>()[i] > 1)
        return InvalidArgument(where + ": BOOL binary data must be bytes 0 or 1");
  *out = std::move(t);
  return Status::Ok();
}

// One tensor object of a request's "inputs" (or a response's "outputs"; `kind` names which).
// Binary tensors take their bytes from the front of *binary.
Status ParseTensor(const json& in, const char* kind, size_t index, std::string_view* binary,
                   NamedTensor* out) {
  std::string where = std::string(kind) + "s[" + std::to_string(index) + "]";
  if (!in.is_object()) return InvalidArgument(where + ": expected an object");
  if (!in.contains("name") || !in["name"].is_string())
    return InvalidArgument(where + ".name: expected a string");
  out->name = in["name"].get<std::string>();
  where = std::string(kind) + " '" + out->name + "'";
  if (!in.contains("datatype") || !in["datatype"].is_string())
    return InvalidArgument(where + ": 'datatype' must be a string");
  DataType dtype;
  if (Status s = ParseDataType(in["datatype"].get<std::string>(), &dtype); !s.ok())
    return InvalidArgument(where + ": " + s.message());
  if (!in.contains("shape") || !in["shape"].is_array())
    return InvalidArgument(where + ": 'shape' must be an array");
  std::vector<int64_t> shape;
  for (const auto& d : in["shape"]) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0)
      return InvalidArgument(where + ": 'shape' must hold non-negative integers");
    shape.push_back(d.get<int64_t>());
  }
  if (shape.size() > 8) return InvalidArgument(where + ": more than 8 dimensions");
  // Overflow-safe element count (bytes too: at most 8 per element).
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / 8 / d)
      return InvalidArgument(where + ": shape too large");
    n *= d;
  }
  int64_t binary_size = -1;
  EPARA_RETURN_IF_ERROR(BinarySize(in, where, &binary_size));
  if (binary_size >= 0) {
    if (in.contains("data"))
      return InvalidArgument(where + ": both 'data' and 'binary_data_size' are given");
    return TakeBinary(where, dtype, std::move(shape), binary_size, binary, &out->tensor);
  }
  if (!in.contains("data")) return InvalidArgument(where + ": 'data' is missing");
  std::vector<const json*> values;
  if (!Flatten(in["data"], &values))
    return InvalidArgument(where + ": 'data' must hold numbers or booleans");
  if (static_cast<int64_t>(values.size()) != n)
    return InvalidArgument(where + ": 'data' has " + std::to_string(values.size()) +
                           " elements, shape " + ShapeToString(shape) + " needs " +
                           std::to_string(n));
  Tensor t(dtype, shape);
  switch (dtype) {
    case DataType::kBool: {
      auto* dst = t.data<uint8_t>();
      for (size_t i = 0; i < values.size(); ++i) {
        if (!values[i]->is_boolean())
          return InvalidArgument(where + ": BOOL data must be true/false");
        dst[i] = values[i]->get<bool>() ? 1 : 0;
      }
      break;
    }
    case DataType::kUInt8:
      EPARA_RETURN_IF_ERROR(FillIntegers<uint8_t>(values, where, &t));
      break;
    case DataType::kInt8:
      EPARA_RETURN_IF_ERROR(FillIntegers<int8_t>(values, where, &t));
      break;
    case DataType::kInt32:
      EPARA_RETURN_IF_ERROR(FillIntegers<int32_t>(values, where, &t));
      break;
    case DataType::kInt64:
      EPARA_RETURN_IF_ERROR(FillIntegers<int64_t>(values, where, &t));
      break;
    case DataType::kFp16:
      EPARA_RETURN_IF_ERROR((FillFloats<uint16_t, float>(values, where, &t, &FloatToHalf)));
      break;
    case DataType::kFp32:
      EPARA_RETURN_IF_ERROR(FillFloats<float>(values, where, &t));
      break;
    case DataType::kFp64:
      EPARA_RETURN_IF_ERROR(FillFloats<double>(values, where, &t));
      break;
  }
  out->tensor = std::move(t);
  return Status::Ok();
}

// Parses the JSON part of a body; InvalidArgument unless it is an object.
Status ParseJsonPart(std::string_view body, size_t json_length, json* j) {
  if (json_length > body.size()) return InvalidArgument("the JSON part's length exceeds the body");
  *j = json::parse(body.substr(0, json_length), nullptr, /*allow_exceptions=*/false);
  if (j->is_discarded()) return InvalidArgument("request body is not valid JSON");
  if (!j->is_object()) return InvalidArgument("request body must be a JSON object");
  return Status::Ok();
}

// Reads a boolean parameter of `obj` ("parameters": {key: bool}) into *value (-1 when absent).
Status BoolParameter(const json& obj, const char* key, const std::string& where, int* value) {
  *value = -1;
  if (!obj.contains("parameters")) return Status::Ok();
  const json& p = obj["parameters"];
  if (!p.is_object()) return InvalidArgument(where + "'parameters' must be an object");
  if (!p.contains(key)) return Status::Ok();
  if (!p[key].is_boolean()) return InvalidArgument(where + "'" + key + "' must be a boolean");
  *value = p[key].get<bool>() ? 1 : 0;
  return Status::Ok();
}

template <typename T>
json DataArray(const Tensor& t) {
  const T* p = t.data<T>();
  json a = json::array();
  a.get_ref<json::array_t&>().reserve(static_cast<size_t>(t.num_elements()));
  for (int64_t i = 0; i < t.num_elements(); ++i) a.push_back(p[i]);
  return a;
}

}  // namespace

Status ParseInferenceHeaderLength(std::string_view value, size_t body_size, size_t* json_length) {
  if (value.empty()) {
    *json_length = body_size;
    return Status::Ok();
  }
  size_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9' || n > body_size)
      return InvalidArgument(std::string(kInferenceHeaderLength) + " must be a decimal byte count");
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  if (n > body_size)
    return InvalidArgument(std::string(kInferenceHeaderLength) + " is " + std::to_string(n) +
                           ", beyond the body's " + std::to_string(body_size) + " bytes");
  *json_length = n;
  return Status::Ok();
}

Status ParseKServeInferRequest(std::string_view body, size_t json_length, KServeInferRequest* out) {
  json j;
  EPARA_RETURN_IF_ERROR(ParseJsonPart(body, json_length, &j));
  std::string_view binary = body.substr(json_length);
  KServeInferRequest r;
  if (j.contains("id")) {
    if (!j["id"].is_string()) return InvalidArgument("'id' must be a string");
    r.id = j["id"].get<std::string>();
  }
  int binary_output = -1;
  EPARA_RETURN_IF_ERROR(BoolParameter(j, "binary_data_output", "", &binary_output));
  r.binary_output = binary_output == 1;
  if (!j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].empty())
    return InvalidArgument("'inputs' must be a non-empty array");
  for (size_t i = 0; i < j["inputs"].size(); ++i) {
    NamedTensor nt;
    EPARA_RETURN_IF_ERROR(ParseTensor(j["inputs"][i], "input", i, &binary, &nt));
    r.inputs.push_back(std::move(nt));
  }
  if (!binary.empty())
    return InvalidArgument(std::to_string(binary.size()) +
                           " bytes of binary data follow the JSON that no input claims");
  if (j.contains("outputs")) {
    if (!j["outputs"].is_array()) return InvalidArgument("'outputs' must be an array");
    for (const auto& o : j["outputs"]) {
      if (!o.is_object() || !o.contains("name") || !o["name"].is_string())
        return InvalidArgument("'outputs' entries need a string 'name'");
      KServeRequestedOutput ro{o["name"].get<std::string>()};
      EPARA_RETURN_IF_ERROR(
          BoolParameter(o, "binary_data", "output '" + ro.name + "': ", &ro.binary));
      r.requested_outputs.push_back(std::move(ro));
    }
  }
  *out = std::move(r);
  return Status::Ok();
}

std::string KServeInferResponse(const std::string& model, const std::string& version,
                                const std::string& id, const std::vector<KServeOutput>& outputs,
                                size_t* json_length) {
  json j = {{"model_name", model}, {"model_version", version}};
  if (!id.empty()) j["id"] = id;
  json outs = json::array();
  size_t binary_bytes = 0;
  for (const KServeOutput& out : outputs) {
    const Tensor& t = *out.tensor;
    json o = {{"name", out.name}, {"datatype", DataTypeName(t.dtype())}, {"shape", t.shape()}};
    if (out.binary) {
      o["parameters"] = {{"binary_data_size", t.byte_size()}};
      binary_bytes += t.byte_size();
      outs.push_back(std::move(o));
      continue;
    }
    switch (t.dtype()) {
      case DataType::kBool: {
        json a = json::array();
        for (int64_t k = 0; k < t.num_elements(); ++k) a.push_back(t.data<uint8_t>()[k] != 0);
        o["data"] = std::move(a);
        break;
      }
      case DataType::kUInt8:
        o["data"] = DataArray<uint8_t>(t);
        break;
      case DataType::kInt8:
        o["data"] = DataArray<int8_t>(t);
        break;
      case DataType::kInt32:
        o["data"] = DataArray<int32_t>(t);
        break;
      case DataType::kInt64:
        o["data"] = DataArray<int64_t>(t);
        break;
      case DataType::kFp16: {
        json a = json::array();
        for (int64_t k = 0; k < t.num_elements(); ++k)
          a.push_back(HalfToFloat(t.data<uint16_t>()[k]));
        o["data"] = std::move(a);
        break;
      }
      case DataType::kFp32:
        o["data"] = DataArray<float>(t);
        break;
      case DataType::kFp64:
        o["data"] = DataArray<double>(t);
        break;
    }
    outs.push_back(std::move(o));
  }
  j["outputs"] = std::move(outs);
  std::string body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (json_length) *json_length = binary_bytes > 0 ? body.size() : 0;
  if (binary_bytes == 0) return body;
  body.reserve(body.size() + binary_bytes);
  for (const KServeOutput& out : outputs)
    if (out.binary)
      body.append(reinterpret_cast<const char*>(out.tensor->raw()), out.tensor->byte_size());
  return body;
}

std::string KServeBinaryRequest(const std::vector<NamedTensor>& inputs, bool binary_outputs,
                                size_t* json_length) {
  json j = json::object();
  if (binary_outputs) j["parameters"] = {{"binary_data_output", true}};
  json ins = json::array();
  size_t bytes = 0;
  for (const NamedTensor& in : inputs) {
    ins.push_back({{"name", in.name},
                   {"datatype", DataTypeName(in.tensor.dtype())},
                   {"shape", in.tensor.shape()},
                   {"parameters", {{"binary_data_size", in.tensor.byte_size()}}}});
    bytes += in.tensor.byte_size();
  }
  j["inputs"] = std::move(ins);
  std::string body = j.dump();
  *json_length = body.size();
  body.reserve(body.size() + bytes);
  for (const NamedTensor& in : inputs)
    body.append(reinterpret_cast<const char*>(in.tensor.raw()), in.tensor.byte_size());
  return body;
}

Status ParseKServeInferResponse(std::string_view body, size_t json_length,
                                std::vector<NamedTensor>* outputs) {
  json j;
  EPARA_RETURN_IF_ERROR(ParseJsonPart(body, json_length, &j));
  if (!j.contains("outputs") || !j["outputs"].is_array())
    return InvalidArgument("response has no 'outputs' array");
  std::string_view binary = body.substr(json_length);
  outputs->clear();
  for (size_t i = 0; i < j["outputs"].size(); ++i)
    EPARA_RETURN_IF_ERROR(
        ParseTensor(j["outputs"][i], "output", i, &binary, &outputs->emplace_back()));
  if (!binary.empty()) return InvalidArgument("binary data left over after the outputs");
  return Status::Ok();
}

}  // namespace epara::api
