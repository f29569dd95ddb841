#include "formats/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <limits>

namespace epara::formats {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t kDefaultAlignment = 32;
// GGUF metadata value types.
enum : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

// Bounds-checked little-endian cursor over the header; every failure names what it was reading.
class Cursor {
 public:
  Cursor(const uint8_t* p, size_t n, std::string file) : p_(p), n_(n), file_(std::move(file)) {}
  size_t pos() const { return pos_; }
  template <typename T>
  Status Read(const std::string& what, T* out) {
    if (n_ - pos_ < sizeof(T)) return Truncated(what);
    std::memcpy(out, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }
  Status ReadString(const std::string& what, std::string* out) {
    uint64_t len = 0;
    EPARA_RETURN_IF_ERROR(Read(what + " length", &len));
    if (len > n_ - pos_) return Truncated(what + " (" + std::to_string(len) + " bytes)");
    out->assign(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return Status::Ok();
  }
  Status Error(const std::string& message) const {
    return InvalidArgument(file_ + ": " + message + " (at byte " + std::to_string(pos_) + ")");
  }

 private:
  Status Truncated(const std::string& what) const {
    return InvalidArgument(file_ + ": file ends inside " + what + " (at byte " +
                           std::to_string(pos_) + " of " + std::to_string(n_) + ")");
  }
  const uint8_t* p_;
  size_t n_, pos_ = 0;
  std::string file_;
};

Status ReadScalar(Cursor& c, uint32_t type, const std::string& what, GgufScalar* out) {
  switch (type) {
#define EPARA_GGUF_INT(code, T, Wide)        \
  case code: {                               \
    T v{};                                   \
    EPARA_RETURN_IF_ERROR(c.Read(what, &v)); \
    *out = static_cast<Wide>(v);             \
    return Status::Ok();                     \
  }
    EPARA_GGUF_INT(kU8, uint8_t, uint64_t)
    EPARA_GGUF_INT(kU16, uint16_t, uint64_t)
    EPARA_GGUF_INT(kU32, uint32_t, uint64_t)
    EPARA_GGUF_INT(kU64, uint64_t, uint64_t)
    EPARA_GGUF_INT(kI8, int8_t, int64_t)
    EPARA_GGUF_INT(kI16, int16_t, int64_t)
    EPARA_GGUF_INT(kI32, int32_t, int64_t)
    EPARA_GGUF_INT(kI64, int64_t, int64_t)
#undef EPARA_GGUF_INT
    case kF32: {
      float v = 0;
      EPARA_RETURN_IF_ERROR(c.Read(what, &v));
      *out = static_cast<double>(v);
      return Status::Ok();
    }
    case kF64: {
      double v = 0;
      EPARA_RETURN_IF_ERROR(c.Read(what, &v));
      *out = v;
      return Status::Ok();
    }
    case kBool: {
      uint8_t v = 0;
      EPARA_RETURN_IF_ERROR(c.Read(what, &v));
      if (v > 1) return c.Error(what + ": boolean byte " + std::to_string(v));
      *out = v == 1;
      return Status::Ok();
    }
    case kString: {
      std::string s;
      EPARA_RETURN_IF_ERROR(c.ReadString(what, &s));
      *out = std::move(s);
      return Status::Ok();
    }
    default:
      return c.Error(what + ": unknown value type " + std::to_string(type));
  }
}

// Writers for the serialized header.
void PutString(std::string* o, const std::string& s) {
  const uint64_t n = s.size();
  o->append(reinterpret_cast<const char*>(&n), 8);
  o->append(s);
}
template <typename T>
void Put(std::string* o, T v) {
  o->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

}  // namespace

bool GgmlTypeKnown(uint32_t v) {
  switch (static_cast<GgmlType>(v)) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kQ4_0:
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_K:
    case GgmlType::kQ6_K:
    case GgmlType::kBF16:
      return true;
  }
  return false;
}

const char* GgmlTypeName(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
      return "F32";
    case GgmlType::kF16:
      return "F16";
    case GgmlType::kQ4_0:
      return "Q4_0";
    case GgmlType::kQ8_0:
      return "Q8_0";
    case GgmlType::kQ4_K:
      return "Q4_K";
    case GgmlType::kQ6_K:
      return "Q6_K";
    case GgmlType::kBF16:
      return "BF16";
  }
  return "?";
}

int64_t GgmlBlockElements(GgmlType t) {
  switch (t) {
    case GgmlType::kQ4_0:
    case GgmlType::kQ8_0:
      return 32;
    case GgmlType::kQ4_K:
    case GgmlType::kQ6_K:
      return 256;
    default:
      return 1;
  }
}

int64_t GgmlBlockBytes(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
      return 4;
    case GgmlType::kF16:
    case GgmlType::kBF16:
      return 2;
    case GgmlType::kQ4_0:
      return 18;  // fp16 scale + 16 bytes of 4-bit pairs
    case GgmlType::kQ8_0:
      return 34;  // fp16 scale + 32 int8
    case GgmlType::kQ4_K:
      return 144;  // fp16 d, dmin + 12 bytes of 6-bit scales + 128 bytes
    case GgmlType::kQ6_K:
      return 210;  // 128 low + 64 high bits + 16 int8 scales + fp16 d
  }
  return 0;
}

Status GgmlByteSize(GgmlType t, int64_t elements, uint64_t* bytes) {
  const int64_t block = GgmlBlockElements(t);
  if (elements < 0 || elements % block != 0)
    return InvalidArgument(std::to_string(elements) + " elements are not whole " + GgmlTypeName(t) +
                           " blocks of " + std::to_string(block));
  *bytes = static_cast<uint64_t>(elements / block) * static_cast<uint64_t>(GgmlBlockBytes(t));
  return Status::Ok();
}

int64_t GgufTensorInfo::elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

Status GgufFile::Open(const std::string& path, std::unique_ptr<GgufFile>* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("cannot open " + path);
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    ::close(fd);
    return InvalidArgument(path + ": empty or unreadable file");
  }
  void* map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return Internal("cannot map " + path);
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = path;
  f->map_ = map;
  f->map_size_ = static_cast<size_t>(st.st_size);
  const auto* bytes = static_cast<const uint8_t*>(map);
  Cursor c(bytes, f->map_size_, path);

  uint32_t magic = 0;
  EPARA_RETURN_IF_ERROR(c.Read("the magic number", &magic));
  if (magic != kMagic) return InvalidArgument(path + ": not a GGUF file (bad magic number)");
  EPARA_RETURN_IF_ERROR(c.Read("the version", &f->version_));
  if (f->version_ != 2 && f->version_ != 3)
    return InvalidArgument(path + ": GGUF version " + std::to_string(f->version_) +
                           " (epara reads versions 2 and 3)");
  uint64_t n_tensors = 0, n_meta = 0;
  EPARA_RETURN_IF_ERROR(c.Read("the tensor count", &n_tensors));
  EPARA_RETURN_IF_ERROR(c.Read("the metadata count", &n_meta));
  // Each entry takes at least 12 bytes: counts beyond the file are corrupt, not huge.
  if (n_tensors > f->map_size_ / 12 || n_meta > f->map_size_ / 12)
    return c.Error("tensor count " + std::to_string(n_tensors) + " or metadata count " +
                   std::to_string(n_meta) + " exceeds what the file can hold");

  for (uint64_t i = 0; i < n_meta; ++i) {
    std::string key;
    EPARA_RETURN_IF_ERROR(c.ReadString("metadata key " + std::to_string(i), &key));
    GgufValue v;
    EPARA_RETURN_IF_ERROR(c.Read("the type of '" + key + "'", &v.type));
    if (v.type == kArray) {
      uint64_t n = 0;
      EPARA_RETURN_IF_ERROR(c.Read("the element type of '" + key + "'", &v.array_type));
      EPARA_RETURN_IF_ERROR(c.Read("the length of '" + key + "'", &n));
      if (v.array_type == kArray) return c.Error("'" + key + "': arrays of arrays are not read");
      if (n > f->map_size_) return c.Error("'" + key + "': array length " + std::to_string(n));
      v.array.reserve(static_cast<size_t>(n));
      for (uint64_t k = 0; k < n; ++k)
        EPARA_RETURN_IF_ERROR(ReadScalar(
            c, v.array_type, "'" + key + "'[" + std::to_string(k) + "]", &v.array.emplace_back()));
    } else {
      EPARA_RETURN_IF_ERROR(ReadScalar(c, v.type, "'" + key + "'", &v.scalar));
    }
    if (!f->metadata_.emplace(key, std::move(v)).second)
      return c.Error("metadata key '" + key + "' appears twice");
  }

  uint64_t alignment = kDefaultAlignment;
  if (auto it = f->metadata_.find("general.alignment"); it != f->metadata_.end()) {
    const auto* a = std::get_if<uint64_t>(&it->second.scalar);
    if (!a || *a == 0 || (*a & (*a - 1)) != 0 || *a > 65536)
      return InvalidArgument(path + ": general.alignment must be a power of two up to 65536");
    alignment = *a;
  }

  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    EPARA_RETURN_IF_ERROR(c.ReadString("tensor name " + std::to_string(i), &t.name));
    const std::string where = "tensor '" + t.name + "'";
    uint32_t dims = 0, type = 0;
    EPARA_RETURN_IF_ERROR(c.Read(where + " dimension count", &dims));
    if (dims == 0 || dims > 4) return c.Error(where + ": " + std::to_string(dims) + " dimensions");
    int64_t elements = 1;
    for (uint32_t d = 0; d < dims; ++d) {
      uint64_t ne = 0;
      EPARA_RETURN_IF_ERROR(c.Read(where + " dimension", &ne));
      if (ne == 0 || ne > (uint64_t{1} << 40) ||
          static_cast<uint64_t>(elements) > (uint64_t{1} << 42) / ne)
        return c.Error(where + ": dimension " + std::to_string(ne) + " out of range");
      t.ne.push_back(static_cast<int64_t>(ne));
      elements *= static_cast<int64_t>(ne);
    }
    EPARA_RETURN_IF_ERROR(c.Read(where + " type", &type));
    if (!GgmlTypeKnown(type))
      return c.Error(where + ": tensor type " + std::to_string(type) +
                     " is not one epara reads (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K)");
    t.type = static_cast<GgmlType>(type);
    EPARA_RETURN_IF_ERROR(c.Read(where + " offset", &t.offset));
    if (t.offset % alignment != 0)
      return c.Error(where + ": offset " + std::to_string(t.offset) + " is not aligned to " +
                     std::to_string(alignment));
    if (Status s = GgmlByteSize(t.type, elements, &t.bytes); !s.ok())
      return c.Error(where + ": " + s.message());
    if (!f->index_.emplace(t.name, f->tensors_.size()).second)
      return c.Error(where + " appears twice");
    f->tensors_.push_back(std::move(t));
  }
  const uint64_t data_start = (c.pos() + alignment - 1) / alignment * alignment;
  if (data_start > f->map_size_ && !f->tensors_.empty())
    return InvalidArgument(path + ": no data region after the header");
  const uint64_t data_size = f->map_size_ - std::min<uint64_t>(data_start, f->map_size_);
  for (const GgufTensorInfo& t : f->tensors_)
    if (t.offset > data_size || t.bytes > data_size - t.offset)
      return InvalidArgument(path + ": tensor '" + t.name + "' (" + std::to_string(t.bytes) +
                             " bytes at data offset " + std::to_string(t.offset) +
                             ") extends past the end of the file");
  f->data_ = bytes + std::min<uint64_t>(data_start, f->map_size_);
  *out = std::move(f);
  return Status::Ok();
}

GgufFile::~GgufFile() {
  if (map_) munmap(map_, map_size_);
}

const GgufTensorInfo* GgufFile::FindTensor(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

Status Lookup(const std::map<std::string, GgufValue>& m, const std::string& path,
              const std::string& key, const GgufValue** out) {
  auto it = m.find(key);
  if (it == m.end()) return NotFound(path + ": metadata '" + key + "' is missing");
  *out = &it->second;
  return Status::Ok();
}

bool ScalarToUint(const GgufScalar& s, uint64_t* out) {
  if (const auto* u = std::get_if<uint64_t>(&s)) return *out = *u, true;
  if (const auto* i = std::get_if<int64_t>(&s); i && *i >= 0)
    return *out = static_cast<uint64_t>(*i), true;
  return false;
}

bool ScalarToDouble(const GgufScalar& s, double* out) {
  if (const auto* d = std::get_if<double>(&s)) return *out = *d, true;
  if (const auto* u = std::get_if<uint64_t>(&s)) return *out = static_cast<double>(*u), true;
  if (const auto* i = std::get_if<int64_t>(&s)) return *out = static_cast<double>(*i), true;
  return false;
}

}  // namespace

Status GgufFile::GetString(const std::string& key, std::string* out) const {
  const GgufValue* v = nullptr;
  EPARA_RETURN_IF_ERROR(Lookup(metadata_, path_, key, &v));
  const auto* s = std::get_if<std::string>(&v->scalar);
  if (v->type != kString || !s) return InvalidArgument(path_ + ": '" + key + "' is not a string");
  *out = *s;
  return Status::Ok();
}

Status GgufFile::GetUint(const std::string& key, uint64_t* out) const {
  const GgufValue* v = nullptr;
  EPARA_RETURN_IF_ERROR(Lookup(metadata_, path_, key, &v));
  if (v->type == kArray || !ScalarToUint(v->scalar, out))
    return InvalidArgument(path_ + ": '" + key + "' is not a non-negative integer");
  return Status::Ok();
}

Status GgufFile::GetFloat(const std::string& key, double* out) const {
  const GgufValue* v = nullptr;
  EPARA_RETURN_IF_ERROR(Lookup(metadata_, path_, key, &v));
  if (v->type == kArray || !ScalarToDouble(v->scalar, out))
    return InvalidArgument(path_ + ": '" + key + "' is not a number");
  return Status::Ok();
}

Status GgufFile::GetStringArray(const std::string& key, std::vector<std::string>* out) const {
  const GgufValue* v = nullptr;
  EPARA_RETURN_IF_ERROR(Lookup(metadata_, path_, key, &v));
  if (v->type != kArray || v->array_type != kString)
    return InvalidArgument(path_ + ": '" + key + "' is not an array of strings");
  out->clear();
  for (const GgufScalar& s : v->array) out->push_back(std::get<std::string>(s));
  return Status::Ok();
}

Status GgufFile::GetFloatArray(const std::string& key, std::vector<float>* out) const {
  const GgufValue* v = nullptr;
  EPARA_RETURN_IF_ERROR(Lookup(metadata_, path_, key, &v));
  if (v->type != kArray || v->array_type == kString || v->array_type == kBool)
    return InvalidArgument(path_ + ": '" + key + "' is not an array of numbers");
  out->clear();
  for (const GgufScalar& s : v->array) {
    double d = 0;
    ScalarToDouble(s, &d);
    out->push_back(static_cast<float>(d));
  }
  return Status::Ok();
}

Status GgufFile::GetIntArray(const std::string& key, std::vector<int64_t>* out) const {
  const GgufValue* v = nullptr;
  EPARA_RETURN_IF_ERROR(Lookup(metadata_, path_, key, &v));
  if (v->type != kArray || v->array_type == kString || v->array_type == kBool ||
      v->array_type == kF32 || v->array_type == kF64)
    return InvalidArgument(path_ + ": '" + key + "' is not an array of integers");
  out->clear();
  for (const GgufScalar& s : v->array) {
    if (const auto* u = std::get_if<uint64_t>(&s)) {
      if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return InvalidArgument(path_ + ": '" + key + "' holds an integer beyond int64");
      out->push_back(static_cast<int64_t>(*u));
    } else {
      out->push_back(std::get<int64_t>(s));
    }
  }
  return Status::Ok();
}

void GgufWriter::BeginEntry(const std::string& key, uint32_t type) {
  PutString(&meta_, key);
  Put<uint32_t>(&meta_, type);
  ++meta_count_;
}

void GgufWriter::AddString(const std::string& key, const std::string& value) {
  BeginEntry(key, kString);
  PutString(&meta_, value);
}

void GgufWriter::AddUint32(const std::string& key, uint32_t value) {
  BeginEntry(key, kU32);
  Put(&meta_, value);
}

void GgufWriter::AddFloat32(const std::string& key, float value) {
  BeginEntry(key, kF32);
  Put(&meta_, value);
}

void GgufWriter::AddBool(const std::string& key, bool value) {
  BeginEntry(key, kBool);
  Put<uint8_t>(&meta_, value ? 1 : 0);
}

void GgufWriter::AddStringArray(const std::string& key, const std::vector<std::string>& values) {
  BeginEntry(key, kArray);
  Put<uint32_t>(&meta_, kString);
  Put<uint64_t>(&meta_, values.size());
  for (const std::string& v : values) PutString(&meta_, v);
}

void GgufWriter::AddFloat32Array(const std::string& key, const std::vector<float>& values) {
  BeginEntry(key, kArray);
  Put<uint32_t>(&meta_, kF32);
  Put<uint64_t>(&meta_, values.size());
  for (float v : values) Put(&meta_, v);
}

void GgufWriter::AddInt32Array(const std::string& key, const std::vector<int32_t>& values) {
  BeginEntry(key, kArray);
  Put<uint32_t>(&meta_, kI32);
  Put<uint64_t>(&meta_, values.size());
  for (int32_t v : values) Put(&meta_, v);
}

Status GgufWriter::AddTensor(const std::string& name, std::vector<int64_t> ne, GgmlType type,
                             std::vector<uint8_t> bytes) {
  for (const Tensor& t : tensors_)
    if (t.name == name) return InvalidArgument("GGUF tensor '" + name + "' added twice");
  int64_t elements = 1;
  for (int64_t d : ne) {
    if (d <= 0)
      return InvalidArgument("GGUF tensor '" + name + "': dimension " + std::to_string(d));
    elements *= d;
  }
  uint64_t need = 0;
  if (Status s = GgmlByteSize(type, elements, &need); !s.ok())
    return InvalidArgument("GGUF tensor '" + name + "': " + s.message());
  if (bytes.size() != need)
    return InvalidArgument("GGUF tensor '" + name + "': " + std::to_string(bytes.size()) +
                           " bytes, " + GgmlTypeName(type) + " needs " + std::to_string(need));
  tensors_.push_back({name, std::move(ne), type, std::move(bytes)});
  return Status::Ok();
}

Status GgufWriter::Write(const std::string& path) const {
  std::string head;
  Put<uint32_t>(&head, kMagic);
  Put<uint32_t>(&head, 3);
  Put<uint64_t>(&head, tensors_.size());
  Put<uint64_t>(&head, meta_count_);
  head += meta_;
  uint64_t offset = 0;
  std::vector<uint64_t> offsets;
  for (const Tensor& t : tensors_) {
    PutString(&head, t.name);
    Put<uint32_t>(&head, static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) Put<uint64_t>(&head, static_cast<uint64_t>(d));
    Put<uint32_t>(&head, static_cast<uint32_t>(t.type));
    Put<uint64_t>(&head, offset);
    offsets.push_back(offset);
    offset =
        (offset + t.bytes.size() + kDefaultAlignment - 1) / kDefaultAlignment * kDefaultAlignment;
  }
  head.resize((head.size() + kDefaultAlignment - 1) / kDefaultAlignment * kDefaultAlignment, '\0');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Internal("cannot write " + path);
  out.write(head.data(), static_cast<std::streamsize>(head.size()));
  uint64_t written = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const std::string pad(offsets[i] - written, '\0');
    out.write(pad.data(), static_cast<std::streamsize>(pad.size()));
    out.write(reinterpret_cast<const char*>(tensors_[i].bytes.data()),
              static_cast<std::streamsize>(tensors_[i].bytes.size()));
    written = offsets[i] + tensors_[i].bytes.size();
  }
  if (!out) return Internal("error writing " + path);
  return Status::Ok();
}

}  // namespace epara::formats
