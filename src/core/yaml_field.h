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

// A mapping's key as a name: InvalidArgument "<where> keys must be names" for a key that is a
// list or a mapping (yaml-cpp would throw on as<std::string>(); found by fuzz/config_fuzz.cc).
inline Status MapKey(const YAML::Node& key, const std::string& where, std::string* out) {
  if (!key.IsScalar()) return InvalidArgument(where + " keys must be names");
  *out = key.Scalar();
  return Status::Ok();
}

// Reads `n[key]` into *out when present (absent: *out keeps its default). InvalidArgument
// "<where><key> has the wrong type" when it does not convert, and "<where><key>: ... is not a
// mapping" when `n` is a scalar or a sequence (yaml-cpp would throw on the subscript: found by
// fuzz/config_fuzz.cc, e.g. `slo: 5` in a workload file).
template <typename T>
Status ReadOptional(const YAML::Node& n, const char* key, const std::string& where, T* out) {
  if (!n || n.IsNull()) return Status::Ok();
  if (!n.IsMap())
    return InvalidArgument(where + key + ": the field that should hold it is not a mapping");
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
