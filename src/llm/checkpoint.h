// A Hugging Face checkpoint folder's weights: `model.safetensors`, or shards listed by
// `model.safetensors.index.json` ({"weight_map": {tensor: file}}).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "formats/safetensors.h"

namespace epara::llm {

class Checkpoint {
 public:
  // NotFound when the folder has neither file; InvalidArgument for a malformed index or shard.
  static Status Open(const std::string& dir, std::unique_ptr<Checkpoint>* out);
  // NotFound naming the tensor when absent.
  Status Find(const std::string& name, const formats::SafetensorsFile** file,
              const formats::StTensorInfo** info) const;
  std::vector<std::string> TensorNames() const;

 private:
  std::vector<std::unique_ptr<formats::SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor -> files_ index
  std::string dir_;
};

}  // namespace epara::llm
