// Reading optional and required fields of model-folder JSON files (config.json, tokenizer.json)
// without letting a wrong type escape as an exception: errors are InvalidArgument naming the file
// and the field path ("<origin>: field 'model.ignore_merges' has the wrong type").
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace epara::llm {

// "<origin>: field '<path>': <what>".
inline Status FieldError(const std::string& origin, const std::string& path,
                         const std::string& what) {
  return InvalidArgument(origin + ": field '" + path + "': " + what);
}

// Reads j[key] into *out. Absent or null: *out is left as is (InvalidArgument if `required`).
// `parent` is the path of `j` in the file ("" at the top).
template <typename T>
Status GetField(const nlohmann::json& j, const char* key, const std::string& origin,
                const std::string& parent, T* out, bool required = false) {
  const std::string path = parent.empty() ? std::string(key) : parent + "." + key;
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) {
    if (required) return InvalidArgument(origin + ": field '" + path + "' missing");
    return Status::Ok();
  }
  try {
    *out = j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    return InvalidArgument(origin + ": field '" + path + "' has the wrong type");
  }
  return Status::Ok();
}

}  // namespace epara::llm
