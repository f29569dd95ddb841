#include "backend/libtorch/torch_tensor_convert.h"

#include <cstring>

namespace epara::backend {
namespace {

at::ScalarType ToScalarType(DataType d) {
  switch (d) {
    case DataType::kBool:
      return at::kBool;
    case DataType::kUInt8:
      return at::kByte;
    case DataType::kInt8:
      return at::kChar;
    case DataType::kInt32:
      return at::kInt;
    case DataType::kInt64:
      return at::kLong;
    case DataType::kFp16:
      return at::kHalf;
    case DataType::kFp32:
      return at::kFloat;
    case DataType::kFp64:
      return at::kDouble;
  }
  return at::kFloat;
}

}  // namespace

at::Tensor ToTorch(const Tensor& t) {
  return at::from_blob(const_cast<std::byte*>(t.raw()), t.shape(),
                       at::TensorOptions().dtype(ToScalarType(t.dtype())));
}

Status FromTorch(const at::Tensor& src, Tensor* out) {
  at::Tensor t = src;
  DataType dtype;
  switch (t.scalar_type()) {
    case at::kBool:
      dtype = DataType::kBool;
      break;
    case at::kByte:
      dtype = DataType::kUInt8;
      break;
    case at::kChar:
      dtype = DataType::kInt8;
      break;
    case at::kInt:
      dtype = DataType::kInt32;
      break;
    case at::kLong:
      dtype = DataType::kInt64;
      break;
    case at::kFloat:
      dtype = DataType::kFp32;
      break;
    case at::kDouble:
      dtype = DataType::kFp64;
      break;
    case at::kHalf:
    case at::kBFloat16:
      dtype = DataType::kFp32;
      t = t.to(at::kFloat);
      break;
    default:
      return InvalidArgument(std::string("unsupported output dtype ") +
                             c10::toString(t.scalar_type()));
  }
  auto owner = std::make_shared<at::Tensor>(t.to(at::kCPU).contiguous());
  auto* data = static_cast<std::byte*>(owner->data_ptr());
  *out = Tensor::Wrap(dtype, owner->sizes().vec(), owner, data);
  return Status::Ok();
}

}  // namespace epara::backend
