#include "llm/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace epara::llm {

Status Checkpoint::Open(const std::string& dir, std::unique_ptr<Checkpoint>* out) {
  namespace fs = std::filesystem;
  auto c = std::make_unique<Checkpoint>();
  c->dir_ = dir;
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  std::error_code ec;
  std::vector<std::string> shards;
  if (fs::exists(index, ec)) {
    std::ifstream in(index);
    std::stringstream ss;
    ss << in.rdbuf();
    auto j = nlohmann::json::parse(ss.str(), nullptr, false);
    if (j.is_discarded() || !j.contains("weight_map") || !j["weight_map"].is_object())
      return InvalidArgument(index.string() + ": expected {\"weight_map\": {tensor: file}}");
    std::map<std::string, size_t> shard_ids;
    std::map<std::string, std::string> expected;  // tensor -> shard
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it.value().is_string())
        return InvalidArgument(index.string() + ": weight_map values must be file names");
      const std::string file = it.value().get<std::string>();
      if (file.find('/') != std::string::npos)
        return InvalidArgument(index.string() + ": shard '" + file + "' is not a plain file name");
      expected[it.key()] = file;
      if (!shard_ids.count(file)) {
        shard_ids[file] = shards.size();
        shards.push_back(file);
      }
    }
    for (const std::string& file : shards) {
      std::unique_ptr<formats::SafetensorsFile> f;
      EPARA_RETURN_IF_ERROR(formats::SafetensorsFile::Open((fs::path(dir) / file).string(), &f));
      c->files_.push_back(std::move(f));
    }
    for (const auto& [tensor, file] : expected) {
      const size_t id = shard_ids[file];
      if (!c->files_[id]->Find(tensor))
        return InvalidArgument(index.string() + ": tensor '" + tensor + "' is not in " + file);
      c->where_[tensor] = id;
    }
  } else if (fs::exists(single, ec)) {
    std::unique_ptr<formats::SafetensorsFile> f;
    EPARA_RETURN_IF_ERROR(formats::SafetensorsFile::Open(single.string(), &f));
    for (const auto& t : f->tensors()) c->where_[t.name] = 0;
    c->files_.push_back(std::move(f));
  } else {
    return NotFound(dir + ": no model.safetensors or model.safetensors.index.json");
  }
  *out = std::move(c);
  return Status::Ok();
}

Status Checkpoint::Find(const std::string& name, const formats::SafetensorsFile** file,
                        const formats::StTensorInfo** info) const {
  auto it = where_.find(name);
  if (it == where_.end()) return NotFound(dir_ + ": checkpoint has no tensor '" + name + "'");
  *file = files_[it->second].get();
  *info = (*file)->Find(name);
  return Status::Ok();
}

std::vector<std::string> Checkpoint::TensorNames() const {
  std::vector<std::string> names;
  for (const auto& [n, _] : where_) names.push_back(n);
  return names;
}

}  // namespace epara::llm
