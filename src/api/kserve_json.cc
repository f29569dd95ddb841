#include "api/kserve_json.h"

#include <nlohmann/json.hpp>

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

Status ParseInput(const json& in, size_t index, NamedTensor* out) {
  std::string where = "inputs[" + std::to_string(index) + "]";
  if (!in.is_object()) return InvalidArgument(where + ": expected an object");
  if (!in.contains("name") || !in["name"].is_string())
    return InvalidArgument(where + ".name: expected a string");
  out->name = in["name"].get<std::string>();
  where = "input '" + out->name + "'";
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
  if (!in.contains("data")) return InvalidArgument(where + ": 'data' is missing");
  std::vector<const json*> values;
  if (!Flatten(in["data"], &values))
    return InvalidArgument(where + ": 'data' must hold numbers or booleans");
  // Overflow-safe element count.
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      return InvalidArgument(where + ": shape too large");
    n *= d;
  }
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

template <typename T>
json DataArray(const Tensor& t) {
  const T* p = t.data<T>();
  json a = json::array();
  a.get_ref<json::array_t&>().reserve(static_cast<size_t>(t.num_elements()));
  for (int64_t i = 0; i < t.num_elements(); ++i) a.push_back(p[i]);
  return a;
}

}  // namespace

Status ParseKServeInferRequest(const std::string& body, KServeInferRequest* out) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("request body is not valid JSON");
  if (!j.is_object()) return InvalidArgument("request body must be a JSON object");
  KServeInferRequest r;
  if (j.contains("id")) {
    if (!j["id"].is_string()) return InvalidArgument("'id' must be a string");
    r.id = j["id"].get<std::string>();
  }
  if (!j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].empty())
    return InvalidArgument("'inputs' must be a non-empty array");
  for (size_t i = 0; i < j["inputs"].size(); ++i) {
    NamedTensor nt;
    EPARA_RETURN_IF_ERROR(ParseInput(j["inputs"][i], i, &nt));
    r.inputs.push_back(std::move(nt));
  }
  if (j.contains("outputs")) {
    if (!j["outputs"].is_array()) return InvalidArgument("'outputs' must be an array");
    for (const auto& o : j["outputs"]) {
      if (!o.is_object() || !o.contains("name") || !o["name"].is_string())
        return InvalidArgument("'outputs' entries need a string 'name'");
      r.requested_outputs.push_back(o["name"].get<std::string>());
    }
  }
  *out = std::move(r);
  return Status::Ok();
}

std::string KServeInferResponse(const std::string& model, const std::string& version,
                                const std::string& id, const std::vector<std::string>& names,
                                const std::vector<const Tensor*>& tensors) {
  json j = {{"model_name", model}, {"model_version", version}};
  if (!id.empty()) j["id"] = id;
  json outs = json::array();
  for (size_t i = 0; i < names.size(); ++i) {
    const Tensor& t = *tensors[i];
    json o = {{"name", names[i]}, {"datatype", DataTypeName(t.dtype())}, {"shape", t.shape()}};
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
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace epara::api
