// Reading optional and required fields of model-folder JSON files (config.json, tokenizer.json)
// without letting a wrong type escape as an exception: errors are InvalidArgument naming the file
// and the field path ("<origin>: field 'model.ignore_merges' has the wrong type").
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

#include "core/status.h"

namespace epara::llm {

// "<origin>: field '<path>': <what>".
inline Status FieldError(const std::string& origin, const std::string& path,
                         const std::string& what) {
  return InvalidArgument(origin + ": field '" + path + "': " + what);
}

// Whether a JSON number fits integer type T (nlohmann's get<T>() converts with a cast, undefined
// for a double outside T's range: found by fuzz/config_fuzz.cc). True for non-numbers and for
// non-integer T (get<T>() judges those).
template <typename T>
bool InRange(const nlohmann::json& v) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // Both bounds are powers of two, exact in a double: lo <= x < hi.
    const double lo = static_cast<double>(std::numeric_limits<T>::min());
    const double hi = std::is_signed_v<T>
                          ? -lo
                          : 2.0 * static_cast<double>(std::numeric_limits<T>::max() / 2 + 1);
    if (v.is_number_float()) {
      const double d = v.get<double>();
      return d >= lo && d < hi;
    }
    if (v.is_number_unsigned())
      return v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    if (v.is_number_integer()) {
      const int64_t i = v.get<int64_t>();
      return std::is_signed_v<T>
                 ? i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                       (sizeof(T) >= sizeof(int64_t) ||
                        i <= static_cast<int64_t>(std::numeric_limits<T>::max()))
                 : i >= 0 && (sizeof(T) >= sizeof(int64_t) ||
                              static_cast<uint64_t>(i) <=
                                  static_cast<uint64_t>(std::numeric_limits<T>::max()));
    }
  }
  return true;
}

// Reads j[key] into *out. Absent or null: *out is left as is (InvalidArgument if `required`); a
// number outside an integer T's range: InvalidArgument "... is out of range".
// `parent` is the path of `j` in the file ("" at the top).
template <typename T>
Status GetField(const nlohmann::json& j, const char* key, const std::string& origin,
                const std::string& parent, T* out, bool required = false) {
  const std::string path = parent.empty() ? std::string(key) : parent + "." + key;
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) {
    if (required) return InvalidArgument(origin + ": field '" + path + "' missing");
    return Status::Ok();
  }
  if (!InRange<T>(j[key]))
    return InvalidArgument(origin + ": field '" + path + "' is out of range");
  try {
    *out = j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    return InvalidArgument(origin + ": field '" + path + "' has the wrong type");
  }
  return Status::Ok();
}

}  // namespace epara::llm
