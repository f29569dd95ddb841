// BackendRegistry: backends by name ("libtorch"). Registration checks the API major version.
// Thread-safe after start-up: Register() is called before serving, Get() from any thread.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "backend/backend.h"

namespace epara::backend {

class BackendRegistry {
 public:
  // FailedPrecondition when the backend's major API version differs; InvalidArgument on a
  // duplicate name. On success the registry owns the backend.
  Status Register(std::unique_ptr<Backend> backend);
  // nullptr if no backend has that name.
  Backend* Get(const std::string& name) const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, std::unique_ptr<Backend>> backends_;
};

}  // namespace epara::backend
