#include "core/tensor.h"

#include <algorithm>
#include <sstream>

namespace epara {

std::string_view DataTypeName(DataType dtype) {
  switch (dtype) {
    case DataType::kBool:
      return "BOOL";
    case DataType::kUInt8:
      return "UINT8";
    case DataType::kInt8:
      return "INT8";
    case DataType::kInt32:
      return "INT32";
    case DataType::kInt64:
      return "INT64";
    case DataType::kFp16:
      return "FP16";
    case DataType::kFp32:
      return "FP32";
    case DataType::kFp64:
      return "FP64";
  }
  return "UNKNOWN";
}

Status ParseDataType(std::string_view name, DataType* out) {
  static constexpr DataType kAll[] = {DataType::kBool,  DataType::kUInt8, DataType::kInt8,
                                      DataType::kInt32, DataType::kInt64, DataType::kFp16,
                                      DataType::kFp32, DataType::kFp64};
  for (DataType d : kAll) {
    if (DataTypeName(d) == name) {
      *out = d;
      return Status::Ok();
    }
  }
  return InvalidArgument("unsupported datatype '" + std::string(name) +
                         "' (supported: BOOL, UINT8, INT8, INT32, INT64, FP16, FP32, FP64)");
}

size_t DataTypeSize(DataType dtype) {
  switch (dtype) {
    case DataType::kBool:
    case DataType::kUInt8:
    case DataType::kInt8:
      return 1;
    case DataType::kFp16:
      return 2;
    case DataType::kInt32:
    case DataType::kFp32:
      return 4;
    case DataType::kInt64:
    case DataType::kFp64:
      return 8;
  }
  return 0;
}

int64_t NumElements(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeToString(std::span<const int64_t> shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

Tensor::Tensor(DataType dtype, std::vector<int64_t> shape)
    : Tensor(Uninitialized(dtype, std::move(shape))) {
  if (bytes_ > 0) std::memset(data_.get(), 0, bytes_);
}

Tensor Tensor::Uninitialized(DataType dtype, std::vector<int64_t> shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.bytes_ = static_cast<size_t>(NumElements(t.shape_)) * DataTypeSize(dtype);
  std::shared_ptr<std::byte[]> buffer(new std::byte[std::max<size_t>(t.bytes_, 1)]);
  t.data_ = std::shared_ptr<std::byte>(buffer, buffer.get());
  return t;
}

Tensor Tensor::Wrap(DataType dtype, std::vector<int64_t> shape, std::shared_ptr<void> owner,
                    std::byte* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.bytes_ = static_cast<size_t>(NumElements(t.shape_)) * DataTypeSize(dtype);
  t.data_ = std::shared_ptr<std::byte>(std::move(owner), data);
  return t;
}

Tensor Tensor::SliceRows(int64_t begin, int64_t end) const {
  Tensor out;
  out.dtype_ = dtype_;
  out.shape_ = shape_;
  out.shape_[0] = end - begin;
  const size_t row_bytes = shape_[0] == 0 ? 0 : bytes_ / static_cast<size_t>(shape_[0]);
  out.bytes_ = row_bytes * static_cast<size_t>(end - begin);
  out.data_ =
      std::shared_ptr<std::byte>(data_, data_.get() + static_cast<size_t>(begin) * row_bytes);
  return out;
}

Status Tensor::Reshape(std::vector<int64_t> shape, Tensor* out) const {
  for (int64_t d : shape)
    if (d < 0) return InvalidArgument("negative dimension in reshape");
  if (NumElements(shape) != num_elements())
    return InvalidArgument("cannot reshape " + ShapeToString(shape_) + " to " +
                           ShapeToString(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  *out = std::move(t);
  return Status::Ok();
}

Tensor Tensor::Clone() const {
  Tensor t = Uninitialized(dtype_, shape_);
  if (bytes_ > 0) std::memcpy(t.raw(), raw(), bytes_);
  return t;
}

Status ConcatRows(const std::vector<const Tensor*>& parts, Tensor* out) {
  if (parts.empty()) return InvalidArgument("nothing to concatenate");
  const Tensor& first = *parts.front();
  if (first.shape().empty()) return InvalidArgument("cannot concatenate scalars along dim 0");
  int64_t rows = 0;
  for (const Tensor* p : parts) {
    if (p->dtype() != first.dtype() || p->shape().size() != first.shape().size() ||
        !std::equal(p->shape().begin() + 1, p->shape().end(), first.shape().begin() + 1)) {
      return InvalidArgument("cannot batch tensors of shapes " + ShapeToString(first.shape()) +
                             " and " + ShapeToString(p->shape()));
    }
    rows += p->shape()[0];
  }
  std::vector<int64_t> shape = first.shape();
  shape[0] = rows;
  Tensor result = Tensor::Uninitialized(first.dtype(), std::move(shape));
  size_t offset = 0;
  for (const Tensor* p : parts) {
    if (p->byte_size() > 0) std::memcpy(result.raw() + offset, p->raw(), p->byte_size());
    offset += p->byte_size();
  }
  *out = std::move(result);
  return Status::Ok();
}

}  // namespace epara
