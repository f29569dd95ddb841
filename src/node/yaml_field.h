// Reading optional YAML fields with errors that name them (node and cluster configs).
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "core/status.h"

namespace epara::node {

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

}  // namespace epara::node
