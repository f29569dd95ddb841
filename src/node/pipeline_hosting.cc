// NodeAgent's part in pipeline parallelism (issue 5): heads link to their next stage, later
// stages are loaded here and answer the pipeline streams of the stage before them.
#include <algorithm>

#include "llm/pipeline_stage.h"
#include "node/node_agent.h"
#include "node/node_agent_internal.h"
#include "peer/stage_link_client.h"
#include "repo/model_repository.h"

namespace epara::node {

Status NodeAgent::PreparePipeline(api::ServerOptions* options) {
  if (config_.pipeline.empty()) return Status::Ok();
  for (const auto& [model, p] : config_.pipeline)
    if (p.stage > 0) options->skip_models.push_back(model);
  auto base = options->llm_loader;
  if (!base) return Status::Ok();
  options->llm_loader = [this, base](const ModelDescriptor& d,
                                     std::unique_ptr<llm::LlmEngine>* out) {
    auto it = config_.pipeline.find(d.name);
    if (it == config_.pipeline.end()) return base(d, out);
    ModelDescriptor head = d;
    head.llm.first_layer = 0;
    head.llm.end_layer = it->second.end_layer;
    EPARA_RETURN_IF_ERROR(base(head, out));
    if (!(*out)->model().is_last_stage())
      (*out)->AttachPipeline(NextStageLink(d.name, it->second.next), it->second.depth);
    return Status::Ok();
  };
  return Status::Ok();
}

Status NodeAgent::LoadHostedStages(const api::ServerOptions& options) {
  bool any = false;
  for (const auto& [_, p] : config_.pipeline) any = any || p.stage > 0;
  if (!any) return Status::Ok();
  if (!options.llm_stage_loader)
    return FailedPrecondition("node " + config_.id + ": no LLM loader for its pipeline stages");
  RepositoryScan scan;
  EPARA_RETURN_IF_ERROR(ScanModelRepository(config_.models_dir, &scan));
  for (const auto& [model, p] : config_.pipeline) {
    if (p.stage == 0) continue;
    auto d = std::find_if(scan.models.begin(), scan.models.end(),
                          [&](const ModelDescriptor& m) { return m.name == model; });
    if (d == scan.models.end() || d->task != TaskType::kLlm)
      return NotFound("node " + config_.id + ": pipeline model '" + model + "' is not an LLM in " +
                      config_.models_dir);
    ModelDescriptor s = *d;
    s.llm.first_layer = p.first_layer;
    s.llm.end_layer = p.end_layer;
    if (options.cpu_threads > 0)
      s.llm.threads =
          s.llm.threads > 0 ? std::min(s.llm.threads, options.cpu_threads) : options.cpu_threads;
    auto h = std::make_unique<HostedStage>();
    Status st = options.llm_stage_loader(s, &h->model);
    if (!st.ok())
      return Status(st.code(), "node " + config_.id + ": pipeline stage " +
                                   std::to_string(p.stage) + " of " + model + ": " + st.message());
    // The same number of tokens as the head's cache (the whole model's kv_cache_mb, in tokens).
    const int64_t per_token_all = h->model->kv_bytes_per_token() *
                                  h->model->config().num_hidden_layers /
                                  (h->model->end_layer() - h->model->first_layer());
    h->kv_budget_tokens = (static_cast<int64_t>(s.llm.kv_cache_mb) << 20) / per_token_all;
    h->next = p.next;
    stages_[model] = std::move(h);
  }
  return Status::Ok();
}

Status NodeAgent::OpenStage(const std::string& model, std::unique_ptr<llm::StageSession>* session,
                            std::unique_ptr<llm::StageLink>* next) {
  auto it = stages_.find(model);
  if (it == stages_.end())
    return NotFound("node " + config_.id + " holds no pipeline stage of '" + model + "'");
  HostedStage& h = *it->second;
  *session = std::make_unique<llm::StageSession>(h.model.get(), &h.mu, h.kv_budget_tokens);
  if (!h.model->is_last_stage()) *next = NextStageLink(model, h.next);
  return Status::Ok();
}

std::unique_ptr<llm::StageLink> NodeAgent::NextStageLink(const std::string& model,
                                                         const std::string& next) {
  return std::make_unique<peer::StageLinkClient>(
      config_.id, model, next.empty() ? "(none configured)" : next,
      [this, next](std::string* address) -> Status {
        if (next.empty())
          return FailedPrecondition("this stage is not the last and has no `next` node");
        std::lock_guard<std::mutex> lock(mu_);
        auto it = peers_.find(next);
        if (it == peers_.end())
          return Unavailable("node '" + next + "' is not a live member of the cluster");
        *address = it->second->record.peer_address;
        return Status::Ok();
      },
      peer_auth_);
}

}  // namespace epara::node
