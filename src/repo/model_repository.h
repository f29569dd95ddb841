// ModelRepository: a directory with one folder per model, each holding `model.yaml` and its
// artifacts. Scanning validates every descriptor; invalid ones are reported by file and field.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "repo/model_descriptor.h"

namespace epara {

struct RepositoryScan {
  std::vector<ModelDescriptor> models;  // valid descriptors, sorted by name
  std::vector<Status> errors;           // one per rejected folder
};

// Reads every `<root>/<folder>/model.yaml`. Folders without model.yaml are ignored. Duplicate model
// names are errors. Returns NotFound if `root` is not a directory; otherwise OK with `out` filled.
Status ScanModelRepository(const std::string& root, RepositoryScan* out);

}  // namespace epara
