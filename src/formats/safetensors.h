// Reader and writer for the safetensors format (Hugging Face):
//   [u64 little-endian N][N bytes of JSON header][data]
//   header: {"__metadata__": {str: str}?, "<name>": {"dtype": "F32", "shape": [..], "data_offsets":
//   [b, e]}}
// Offsets are relative to the data region, which must be covered exactly: no holes, no overlaps.
//
// The reader memory-maps the file and validates the whole header before handing out pointers, so a
// malformed file is an InvalidArgument naming the file and the problem, never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace epara::formats {

enum class StDtype { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

// "F32" etc.; false for names epara does not read.
bool ParseStDtype(const std::string& name, StDtype* out);
const char* StDtypeName(StDtype d);
size_t StDtypeSize(StDtype d);

struct StTensorInfo {
  std::string name;
  StDtype dtype = StDtype::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets in the data region
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. Errors: NotFound (cannot open), InvalidArgument (malformed: the
  // message says what, e.g. "header length 999 exceeds the file", "tensor 'w': data_offsets
  // [0, 12] do not match shape [2, 2] x F32 = 16 bytes", "data region has a hole at byte 16").
  static Status Open(const std::string& path, std::unique_ptr<SafetensorsFile>* out);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<StTensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // nullptr when absent.
  const StTensorInfo* Find(const std::string& name) const;
  // The tensor's bytes inside the mapping (valid while this object lives).
  const uint8_t* Data(const StTensorInfo& t) const { return data_ + t.begin; }

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;
  std::vector<StTensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Converts `count` elements of F32, F16 or BF16 to float. InvalidArgument for other dtypes.
Status ToFloat32(StDtype dtype, const uint8_t* src, size_t count, float* dst);

struct StWriteTensor {
  std::string name;
  StDtype dtype = StDtype::kF32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // row-major, NumElements(shape) * StDtypeSize(dtype)
};

// Writes a safetensors file (tensors in the given order). InvalidArgument on size mismatches.
Status WriteSafetensors(const std::string& path, const std::vector<StWriteTensor>& tensors,
                        const std::map<std::string, std::string>& metadata = {});

}  // namespace epara::formats
