#include "backend/backend_registry.h"

namespace epara::backend {

Status BackendRegistry::Register(std::unique_ptr<Backend> backend) {
  const ApiVersion v = backend->version();
  if (v.major != kBackendApiMajor)
    return FailedPrecondition("backend '" + backend->name() + "' implements API " +
                              std::to_string(v.major) + "." + std::to_string(v.minor) +
                              ", epara requires major version " + std::to_string(kBackendApiMajor));
  std::string name = backend->name();
  if (!backends_.emplace(name, std::move(backend)).second)
    return InvalidArgument("backend '" + name + "' registered twice");
  return Status::Ok();
}

Backend* BackendRegistry::Get(const std::string& name) const {
  auto it = backends_.find(name);
  return it == backends_.end() ? nullptr : it->second.get();
}

std::vector<std::string> BackendRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [n, _] : backends_) names.push_back(n);
  return names;
}

}  // namespace epara::backend
