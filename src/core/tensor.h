// Tensor: a dense, owning, row-major host buffer with a KServe v2 datatype and a shape. This is the
// only tensor type outside src/backend and src/models, so the rest of epara never includes
// LibTorch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace epara {

enum class DataType { kBool, kUInt8, kInt8, kInt32, kInt64, kFp16, kFp32, kFp64 };

// KServe v2 names: "BOOL", "UINT8", "INT8", "INT32", "INT64", "FP16", "FP32", "FP64". FP16 elements
// are IEEE binary16 bit patterns (uint16_t; core/half.h converts).
std::string_view DataTypeName(DataType dtype);
// Parses a KServe v2 datatype name; InvalidArgument for unknown or unsupported names.
Status ParseDataType(std::string_view name, DataType* out);
size_t DataTypeSize(DataType dtype);

// Product of dims; 1 for a scalar shape. REQUIRES: every dim >= 0.
int64_t NumElements(std::span<const int64_t> shape);
std::string ShapeToString(std::span<const int64_t> shape);

// Copies share storage (like at::Tensor): copying a Tensor is cheap and both copies see writes.
// Deep-copy with Clone().
class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor. REQUIRES: every dim >= 0.
  Tensor(DataType dtype, std::vector<int64_t> shape);
  // A tensor whose contents the caller will overwrite entirely (no zero-fill).
  static Tensor Uninitialized(DataType dtype, std::vector<int64_t> shape);
  // Wraps memory owned elsewhere; `owner` keeps it alive and `data` points at the first element.
  // REQUIRES: `data` holds NumElements(shape) * DataTypeSize(dtype) bytes.
  static Tensor Wrap(DataType dtype, std::vector<int64_t> shape, std::shared_ptr<void> owner,
                     std::byte* data);

  DataType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t num_elements() const { return NumElements(shape_); }
  size_t byte_size() const { return bytes_; }

  std::byte* raw() { return data_.get(); }
  const std::byte* raw() const { return data_.get(); }
  // Typed views. REQUIRES: sizeof(T) == DataTypeSize(dtype()).
  template <typename T>
  T* data() {
    return reinterpret_cast<T*>(data_.get());
  }
  template <typename T>
  const T* data() const {
    return reinterpret_cast<const T*>(data_.get());
  }

  // Rows [begin, end) along dim 0, as a view sharing this tensor's storage (no copy).
  // REQUIRES: rank >= 1, 0 <= begin <= end <= shape[0].
  Tensor SliceRows(int64_t begin, int64_t end) const;
  // The same storage with another shape of equal element count. InvalidArgument otherwise.
  Status Reshape(std::vector<int64_t> shape, Tensor* out) const;
  // A deep copy with its own storage.
  Tensor Clone() const;

 private:
  DataType dtype_ = DataType::kFp32;
  std::vector<int64_t> shape_;
  std::shared_ptr<std::byte> data_;  // aliasing pointer: owner's lifetime, first element's address
  size_t bytes_ = 0;
};

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

// Concatenates tensors along dim 0. All parts must share dtype and trailing dims.
Status ConcatRows(const std::vector<const Tensor*>& parts, Tensor* out);

}  // namespace epara
