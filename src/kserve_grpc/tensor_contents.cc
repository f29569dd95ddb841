#include "kserve_grpc/tensor_contents.h"

#include <cstring>
#include <limits>

namespace epara::kserve_grpc {
namespace {

using Input = inference::ModelInferRequest::InferInputTensor;

// The count of the typed field `dtype` uses, or -1 when the dtype has none (FP16).
int64_t TypedCount(const inference::InferTensorContents& c, DataType dtype) {
  switch (dtype) {
    case DataType::kBool:
      return c.bool_contents_size();
    case DataType::kInt8:
    case DataType::kInt32:
      return c.int_contents_size();
    case DataType::kInt64:
      return c.int64_contents_size();
    case DataType::kUInt8:
      return c.uint_contents_size();
    case DataType::kFp32:
      return c.fp32_contents_size();
    case DataType::kFp64:
      return c.fp64_contents_size();
    case DataType::kFp16:
      return -1;
  }
  return -1;
}

int64_t AllTypedCounts(const inference::InferTensorContents& c) {
  return c.bool_contents_size() + c.int_contents_size() + c.int64_contents_size() +
         c.uint_contents_size() + c.uint64_contents_size() + c.fp32_contents_size() +
         c.fp64_contents_size() + c.bytes_contents_size();
}

template <typename T, typename Src>
Status CopyRanged(const Src& src, Tensor* t, const std::string& what) {
  T* out = t->data<T>();
  for (int i = 0; i < src.size(); ++i) {
    const auto v = src.Get(i);
    const long double x = static_cast<long double>(v);  // exact for every 64-bit integer
    if (x < static_cast<long double>(std::numeric_limits<T>::lowest()) ||
        x > static_cast<long double>(std::numeric_limits<T>::max()))
      return InvalidArgument(what + ": element " + std::to_string(i) + " (" + std::to_string(v) +
                             ") is out of range");
    out[i] = static_cast<T>(v);
  }
  return Status::Ok();
}

Status FromTyped(const Input& in, Tensor* t, const std::string& what) {
  const inference::InferTensorContents& c = in.contents();
  switch (t->dtype()) {
    case DataType::kBool:
      for (int i = 0; i < c.bool_contents_size(); ++i)
        t->data<uint8_t>()[i] = c.bool_contents(i) ? 1 : 0;
      return Status::Ok();
    case DataType::kInt8:
      return CopyRanged<int8_t>(c.int_contents(), t, what);
    case DataType::kInt32:
      return CopyRanged<int32_t>(c.int_contents(), t, what);
    case DataType::kInt64:
      return CopyRanged<int64_t>(c.int64_contents(), t, what);
    case DataType::kUInt8:
      return CopyRanged<uint8_t>(c.uint_contents(), t, what);
    case DataType::kFp32:
      std::memcpy(t->raw(), c.fp32_contents().data(), t->byte_size());
      return Status::Ok();
    case DataType::kFp64:
      std::memcpy(t->raw(), c.fp64_contents().data(), t->byte_size());
      return Status::Ok();
    case DataType::kFp16:
      break;
  }
  return InvalidArgument(what + ": FP16 data must come as raw_input_contents");
}

}  // namespace

Status InputsFromProto(const inference::ModelInferRequest& request, std::vector<NamedTensor>* out) {
  out->clear();
  const bool raw = request.raw_input_contents_size() > 0;
  if (raw && request.raw_input_contents_size() != request.inputs_size())
    return InvalidArgument("raw_input_contents has " +
                           std::to_string(request.raw_input_contents_size()) + " entries for " +
                           std::to_string(request.inputs_size()) + " inputs");
  for (int i = 0; i < request.inputs_size(); ++i) {
    const Input& in = request.inputs(i);
    const std::string what = "input '" + in.name() + "'";
    if (in.name().empty()) return InvalidArgument("input " + std::to_string(i) + " has no name");
    DataType dtype;
    if (Status s = ParseDataType(in.datatype(), &dtype); !s.ok())
      return InvalidArgument(what + ": " + s.message());
    std::vector<int64_t> shape(in.shape().begin(), in.shape().end());
    for (int64_t d : shape)
      if (d < 0) return InvalidArgument(what + ": dimension " + std::to_string(d) + " is negative");
    if (shape.size() > 16) return InvalidArgument(what + ": more than 16 dimensions");
    // The element count, guarded against overflow before anything is allocated.
    int64_t n = 1;
    for (int64_t d : shape) {
      if (d != 0 && n > (int64_t{1} << 40) / d)
        return InvalidArgument(what + ": shape is too large");
      n *= d;
    }
    const int64_t bytes = n * static_cast<int64_t>(DataTypeSize(dtype));
    if (raw) {
      if (in.has_contents() && AllTypedCounts(in.contents()) > 0)
        return InvalidArgument(what + ": both raw_input_contents and typed contents");
      const std::string& data = request.raw_input_contents(i);
      if (static_cast<int64_t>(data.size()) != bytes)
        return InvalidArgument(what + ": raw contents hold " + std::to_string(data.size()) +
                               " bytes; shape and datatype need " + std::to_string(bytes));
      Tensor t = Tensor::Uninitialized(dtype, shape);
      if (bytes > 0) std::memcpy(t.raw(), data.data(), data.size());
      out->push_back({in.name(), std::move(t)});
      continue;
    }
    const int64_t count = TypedCount(in.contents(), dtype);
    if (count < 0) return InvalidArgument(what + ": FP16 data must come as raw_input_contents");
    if (count != n || AllTypedCounts(in.contents()) != n)
      return InvalidArgument(what + ": " + std::string(DataTypeName(dtype)) + " needs " +
                             std::to_string(n) + " elements in its contents field, got " +
                             std::to_string(AllTypedCounts(in.contents())));
    Tensor t = Tensor::Uninitialized(dtype, shape);
    EPARA_RETURN_IF_ERROR(FromTyped(in, &t, what));
    out->push_back({in.name(), std::move(t)});
  }
  return Status::Ok();
}

void AddRawOutput(const std::string& name, const Tensor& tensor,
                  inference::ModelInferResponse* response) {
  auto* o = response->add_outputs();
  o->set_name(name);
  o->set_datatype(std::string(DataTypeName(tensor.dtype())));
  for (int64_t d : tensor.shape()) o->add_shape(d);
  response->add_raw_output_contents(reinterpret_cast<const char*>(tensor.raw()),
                                    tensor.byte_size());
}

}  // namespace epara::kserve_grpc
