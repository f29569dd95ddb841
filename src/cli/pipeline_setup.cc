#include "cli/pipeline_setup.h"

#include <algorithm>
#include <thread>

#include "llm/llama_config.h"
#include "repo/model_repository.h"

namespace epara::cli {

std::map<std::string, node::LlmShape> PipelineShapes(const node::ClusterConfig& config) {
  std::map<std::string, node::LlmShape> shapes = LlmShapes(config.models_dir);
  std::erase_if(shapes, [&](const auto& kv) { return !config.pipelines.count(kv.first); });
  return shapes;
}

std::map<std::string, node::LlmShape> LlmShapes(const std::string& models_dir) {
  RepositoryScan scan;
  (void)ScanModelRepository(models_dir, &scan);
  std::map<std::string, node::LlmShape> shapes;
  for (const ModelDescriptor& d : scan.models) {
    llm::LlamaConfig c;
    if (d.task != TaskType::kLlm || !llm::LoadLlamaConfig(d.directory + "/config.json", &c).ok())
      continue;
    shapes[d.name] = node::LlmShapeOf(c, d.llm.kv_cache_mb);
  }
  return shapes;
}

Status PlanClusterPipelines(node::ClusterConfig* config, std::vector<std::string>* lines) {
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return node::PlanPipelines(PipelineShapes(*config), threads, config, lines);
}

}  // namespace epara::cli
