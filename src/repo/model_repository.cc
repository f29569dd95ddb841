#include "repo/model_repository.h"

#include <algorithm>
#include <filesystem>
#include <set>

namespace epara {

Status ScanModelRepository(const std::string& root, RepositoryScan* out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    return NotFound("model repository '" + root + "' is not a directory");
  std::vector<fs::path> folders;
  for (const auto& entry : fs::directory_iterator(root, ec))
    if (entry.is_directory() && fs::exists(entry.path() / "model.yaml"))
      folders.push_back(entry.path());
  std::sort(folders.begin(), folders.end());
  RepositoryScan scan;
  std::set<std::string> names;
  for (const fs::path& folder : folders) {
    ModelDescriptor d;
    Status s = LoadModelDescriptor((folder / "model.yaml").string(), &d);
    if (!s.ok()) {
      scan.errors.push_back(s);
      continue;
    }
    if (!names.insert(d.name).second) {
      scan.errors.push_back(InvalidArgument((folder / "model.yaml").string() +
                                            ": field 'name': duplicate model name '" + d.name +
                                            "'"));
      continue;
    }
    scan.models.push_back(std::move(d));
  }
  std::sort(scan.models.begin(), scan.models.end(),
            [](const ModelDescriptor& a, const ModelDescriptor& b) { return a.name < b.name; });
  *out = std::move(scan);
  return Status::Ok();
}

}  // namespace epara
