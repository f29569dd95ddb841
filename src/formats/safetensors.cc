#include "formats/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

namespace epara::formats {
namespace {

using json = nlohmann::json;
constexpr uint64_t kMaxHeader = 100ull << 20;  // the format's own limit

struct DtypeEntry {
  const char* name;
  StDtype dtype;
  size_t size;
};
constexpr DtypeEntry kDtypes[] = {{"F64", StDtype::kF64, 8}, {"F32", StDtype::kF32, 4},
                                  {"F16", StDtype::kF16, 2}, {"BF16", StDtype::kBF16, 2},
                                  {"I64", StDtype::kI64, 8}, {"I32", StDtype::kI32, 4},
                                  {"I16", StDtype::kI16, 2}, {"I8", StDtype::kI8, 1},
                                  {"U8", StDtype::kU8, 1},   {"BOOL", StDtype::kBool, 1}};

std::string ShapeStr(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ffu, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

bool ParseStDtype(const std::string& name, StDtype* out) {
  for (const auto& e : kDtypes)
    if (name == e.name) {
      *out = e.dtype;
      return true;
    }
  return false;
}

const char* StDtypeName(StDtype d) {
  for (const auto& e : kDtypes)
    if (e.dtype == d) return e.name;
  return "?";
}

size_t StDtypeSize(StDtype d) {
  for (const auto& e : kDtypes)
    if (e.dtype == d) return e.size;
  return 0;
}

Status SafetensorsFile::Open(const std::string& path, std::unique_ptr<SafetensorsFile>* out) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  auto bad = [&](const std::string& what) { return InvalidArgument(path + ": " + what); };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound(path + ": cannot open");
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return bad("not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    return bad("file of " + std::to_string(size) + " bytes is too small for a safetensors header");
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return Internal(path + ": mmap failed");
  f->map_ = map;
  f->map_size_ = size;
  const auto* bytes = static_cast<const uint8_t*>(map);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > kMaxHeader)
    return bad("header length " + std::to_string(n) + " exceeds the format's 100 MB limit");
  if (n > size - 8) return bad("header length " + std::to_string(n) + " exceeds the file");
  const uint64_t data_size = size - 8 - n;
  f->data_ = bytes + 8 + n;

  json header = json::parse(bytes + 8, bytes + 8 + n, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) return bad("header is not valid JSON");
  if (!header.is_object()) return bad("header is not a JSON object");
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) return bad("__metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          return bad("__metadata__ value '" + m.key() + "' is not a string");
        f->metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!v.is_object()) return bad(where + ": entry is not an object");
    StTensorInfo t;
    t.name = name;
    if (!v.contains("dtype") || !v["dtype"].is_string()) return bad(where + ": missing dtype");
    if (!ParseStDtype(v["dtype"].get<std::string>(), &t.dtype))
      return bad(where + ": unknown dtype '" + v["dtype"].get<std::string>() + "'");
    if (!v.contains("shape") || !v["shape"].is_array()) return bad(where + ": missing shape");
    uint64_t elements = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) return bad(where + ": shape must hold non-negative integers");
      const uint64_t dim = d.get<uint64_t>();
      if (dim != 0 && elements > std::numeric_limits<uint64_t>::max() / 16 / dim)
        return bad(where + ": shape too large");
      elements *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    const json& off = v.contains("data_offsets") ? v["data_offsets"] : json();
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
        !off[1].is_number_unsigned())
      return bad(where + ": data_offsets must be [begin, end]");
    t.begin = off[0].get<uint64_t>();
    t.end = off[1].get<uint64_t>();
    if (t.begin > t.end || t.end > data_size)
      return bad(where + ": data_offsets [" + std::to_string(t.begin) + ", " +
                 std::to_string(t.end) + "] out of range (data region is " +
                 std::to_string(data_size) + " bytes)");
    const uint64_t expected = elements * StDtypeSize(t.dtype);
    if (t.end - t.begin != expected)
      return bad(where + ": data_offsets [" + std::to_string(t.begin) + ", " +
                 std::to_string(t.end) + "] do not match shape " + ShapeStr(t.shape) + " x " +
                 StDtypeName(t.dtype) + " = " + std::to_string(expected) + " bytes");
    f->tensors_.push_back(std::move(t));
  }
  // The data region must be covered exactly.
  std::vector<const StTensorInfo*> order;
  for (const auto& t : f->tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) {
    return a->begin < b->begin || (a->begin == b->begin && a->end < b->end);
  });
  uint64_t cursor = 0;
  for (const StTensorInfo* t : order) {
    if (t->begin < cursor) return bad("tensor '" + t->name + "' overlaps another tensor's bytes");
    if (t->begin > cursor) return bad("data region has a hole at byte " + std::to_string(cursor));
    cursor = t->end;
  }
  if (cursor != data_size)
    return bad("data region has " + std::to_string(data_size - cursor) +
               " unindexed trailing bytes");
  for (size_t i = 0; i < f->tensors_.size(); ++i) f->index_[f->tensors_[i].name] = i;
  *out = std::move(f);
  return Status::Ok();
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) munmap(map_, map_size_);
}

const StTensorInfo* SafetensorsFile::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Status ToFloat32(StDtype dtype, const uint8_t* src, size_t count, float* dst) {
  switch (dtype) {
    case StDtype::kF32:
      std::memcpy(dst, src, count * 4);
      return Status::Ok();
    case StDtype::kF16:
      for (size_t i = 0; i < count; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = HalfToFloat(h);
      }
      return Status::Ok();
    case StDtype::kBF16:
      for (size_t i = 0; i < count; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        const uint32_t bits = static_cast<uint32_t>(h) << 16;
        std::memcpy(&dst[i], &bits, 4);
      }
      return Status::Ok();
    default:
      return InvalidArgument(std::string("cannot convert ") + StDtypeName(dtype) + " to F32");
  }
}

Status WriteSafetensors(const std::string& path, const std::vector<StWriteTensor>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    uint64_t elements = 1;
    for (int64_t d : t.shape) elements *= static_cast<uint64_t>(d);
    if (elements * StDtypeSize(t.dtype) != t.bytes.size())
      return InvalidArgument("tensor '" + t.name + "': " + std::to_string(t.bytes.size()) +
                             " bytes for shape " + ShapeStr(t.shape));
    header[t.name] = {{"dtype", StDtypeName(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0)
    text += ' ';  // align the data region to 8 bytes, as writers do
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  uint8_t len[8];
  for (int i = 0; i < 8; ++i)
    len[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& t : tensors)
    out.write(reinterpret_cast<const char*>(t.bytes.data()),
              static_cast<std::streamsize>(t.bytes.size()));
  if (!out) return Internal("cannot write " + path);
  return Status::Ok();
}

}  // namespace epara::formats
