#include "backend/backend.h"

#include <filesystem>

namespace epara::backend {

Status FirstArtifact(const LoadSpec& spec, std::string* path) {
  if (spec.artifacts.empty()) return InvalidArgument(spec.model_name + ": no artifact to load");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(spec.artifacts.front(), ec))
    return NotFound(spec.model_name + ": artifact not found: " + spec.artifacts.front());
  *path = spec.artifacts.front();
  return Status::Ok();
}

}  // namespace epara::backend
