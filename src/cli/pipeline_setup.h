// The pipelines of a cluster file planned onto its nodes, as `epara up` starts them and `epara sim`
// simulates them (one function, so the simulated twin has the real stages).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "node/cluster_config.h"
#include "node/cluster_plan.h"

namespace epara::cli {

// The shape of every pipelined LLM of `config`, from its config.json (models that fail to load are
// left out; PlanPipelines then names them).
std::map<std::string, node::LlmShape> PipelineShapes(const node::ClusterConfig& config);
// The shape of every LLM in `models_dir` with a readable config.json (safetensors folders; GGUF
// files have none and are left out).
std::map<std::string, node::LlmShape> LlmShapes(const std::string& models_dir);

// node::PlanPipelines over PipelineShapes with this host's thread count; one line per pipeline.
Status PlanClusterPipelines(node::ClusterConfig* config, std::vector<std::string>* lines);

}  // namespace epara::cli
