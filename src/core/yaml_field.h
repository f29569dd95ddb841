// Reading YAML config files with errors that name the file and field (node and cluster configs,
// workload specs). Header-only; its users link yaml-cpp.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "core/status.h"

namespace epara {

// Parses `yaml` into *root, which must be a mapping. InvalidArgument "<at>not valid YAML: ..." or
// "<at><what> is not a mapping" otherwise.
inline Status ParseYamlMapping(const std::string& yaml, const std::string& at, const char* what,
                               YAML::Node* root) {
  try {
    *root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(at + "not valid YAML: " + e.what());
  }
  if (!root->IsMap()) return InvalidArgument(at + what + " is not a mapping");
  return Status::Ok();
}

// Reads `n[key]` into *out when present (absent: *out keeps its default). InvalidArgument
// "<where><key> has the wrong type" when it does not convert.
template <typename T>
Status ReadOptional(const YAML::Node& n, const char* key, const std::string& where, T* out) {
  const YAML::Node v = n[key];
  if (!v) return Status::Ok();
  try {
    *out = v.as<T>();
  } catch (const YAML::Exception&) {
    return InvalidArgument(where + key + " has the wrong type");
  }
  return Status::Ok();
}

}  // namespace epara
