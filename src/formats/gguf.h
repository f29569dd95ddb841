// Reader and writer for GGUF (version 3), the file format of llama.cpp and its quantized models:
//   "GGUF" u32 version, u64 tensor count, u64 metadata count,
//   metadata: (string key, u32 value type, value)*,
//   tensor infos: (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset)*,
//   padding to general.alignment (default 32), the data region (each tensor at its offset,
//   aligned).
// Strings are u64 length + bytes; everything is little-endian. ne[0] is the innermost (contiguous)
// dimension: a [rows, cols] row-major matrix has ne = {cols, rows}.
//
// The reader memory-maps the file and validates every header field before handing out pointers:
// a malformed file is an InvalidArgument naming the file, the field and the problem, never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"

namespace epara::formats {

// Tensor element types (ggml_type values as stored in the file) that epara reads or writes.
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ8_0 = 8,
  kQ4_K = 12,
  kQ6_K = 14,
  kBF16 = 30,
};
// "F32", "Q8_0", ...; false for a type value epara does not know.
bool GgmlTypeKnown(uint32_t value);
const char* GgmlTypeName(GgmlType t);
// Elements per block and bytes per block (1 and the element size for unquantized types).
int64_t GgmlBlockElements(GgmlType t);
int64_t GgmlBlockBytes(GgmlType t);
// Bytes of `elements` elements; InvalidArgument unless `elements` is a whole number of blocks.
Status GgmlByteSize(GgmlType t, int64_t elements, uint64_t* bytes);

// A metadata value: scalars, strings, and arrays of either (arrays of arrays are not read).
using GgufScalar = std::variant<uint64_t, int64_t, double, bool, std::string>;
struct GgufValue {
  uint32_t type = 0;  // the GGUF value type as stored (4: u32, 6: f32, 8: string, 9: array, ...)
  GgufScalar scalar;
  uint32_t array_type = 0;  // element type when type == 9
  std::vector<GgufScalar> array;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // innermost first
  GgmlType type = GgmlType::kF32;
  uint64_t offset = 0;  // in the data region
  uint64_t bytes = 0;
  int64_t elements() const;
};

class GgufFile {
 public:
  // Maps and validates `path`: NotFound when it cannot be opened, InvalidArgument (naming the
  // field) when malformed or of a version or tensor type epara does not read.
  static Status Open(const std::string& path, std::unique_ptr<GgufFile>* out);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* FindTensor(const std::string& name) const;
  const uint8_t* Data(const GgufTensorInfo& t) const { return data_ + t.offset; }

  // Typed metadata lookups: NotFound when absent, InvalidArgument (naming the key) when the value
  // has another type. Integers of any width and sign convert when the value fits.
  Status GetString(const std::string& key, std::string* out) const;
  Status GetUint(const std::string& key, uint64_t* out) const;
  Status GetFloat(const std::string& key, double* out) const;
  Status GetStringArray(const std::string& key, std::vector<std::string>* out) const;
  Status GetFloatArray(const std::string& key, std::vector<float>* out) const;
  Status GetIntArray(const std::string& key, std::vector<int64_t>* out) const;

 private:
  GgufFile() = default;
  std::string path_;
  uint32_t version_ = 0;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> index_;
};

// Builds a GGUF file in memory and writes it. Metadata keys keep insertion order.
class GgufWriter {
 public:
  void AddString(const std::string& key, const std::string& value);
  void AddUint32(const std::string& key, uint32_t value);
  void AddFloat32(const std::string& key, float value);
  void AddBool(const std::string& key, bool value);
  void AddStringArray(const std::string& key, const std::vector<std::string>& values);
  void AddFloat32Array(const std::string& key, const std::vector<float>& values);
  void AddInt32Array(const std::string& key, const std::vector<int32_t>& values);
  // `bytes` must hold the tensor in `type`'s layout: InvalidArgument otherwise, or for a name
  // already added.
  Status AddTensor(const std::string& name, std::vector<int64_t> ne, GgmlType type,
                   std::vector<uint8_t> bytes);
  Status Write(const std::string& path) const;

 private:
  // Starts a metadata entry: its key and value type; the caller appends the value.
  void BeginEntry(const std::string& key, uint32_t type);
  std::string meta_;  // serialized key/value pairs
  uint64_t meta_count_ = 0;
  struct Tensor {
    std::string name;
    std::vector<int64_t> ne;
    GgmlType type;
    std::vector<uint8_t> bytes;
  };
  std::vector<Tensor> tensors_;
};

}  // namespace epara::formats
