// NodeAgent's part in pipeline parallelism (issue 5): heads link to their next stage, later
// stages are loaded here and answer the pipeline streams of the stage before them.
#include <algorithm>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "api/error_mapping.h"
#include "llm/pipeline_stage.h"
#include "node/node_agent.h"
#include "node/node_agent_internal.h"
#include "peer/stage_link_client.h"
#include "repo/model_repository.h"

namespace epara::node {

Status NodeAgent::PreparePipeline(api::ServerOptions* options) {
  stage_loader_ = options->llm_stage_loader;
  stage_cpu_threads_ = options->cpu_threads;
  pipeline_ = config_.pipeline;
  for (const auto& [model, p] : config_.pipeline)
    if (p.stage > 0) options->skip_models.push_back(model);
  auto base = options->llm_loader;
  if (!base) return Status::Ok();
  // A model with a head entry in pipeline_ loads as the head: its first layers, linked onward.
  options->llm_loader = [this, base](const ModelDescriptor& d,
                                     std::unique_ptr<llm::LlmEngine>* out) {
    PipelineStageConfig p;
    if (!PipelineOf(d.name, &p) || p.stage > 0) return base(d, out);
    ModelDescriptor head = d;
    head.llm.first_layer = 0;
    head.llm.end_layer = p.end_layer;
    EPARA_RETURN_IF_ERROR(base(head, out));
    if (!(*out)->model().is_last_stage())
      (*out)->AttachPipeline(NextStageLink(d.name, p.next), p.depth);
    return Status::Ok();
  };
  return Status::Ok();
}

bool NodeAgent::PipelineOf(const std::string& model, PipelineStageConfig* out) const {
  std::lock_guard<std::mutex> lock(stages_mu_);
  auto it = pipeline_.find(model);
  if (it == pipeline_.end()) return false;
  *out = it->second;
  return true;
}

Status NodeAgent::LoadHostedStages(const api::ServerOptions&) {
  RepositoryScan scan;
  bool scanned = false;
  for (const auto& [model, p] : config_.pipeline) {
    if (p.stage <= 0) continue;
    if (!scanned) EPARA_RETURN_IF_ERROR(ScanModelRepository(config_.models_dir, &scan));
    scanned = true;
    EPARA_RETURN_IF_ERROR(LoadStage(scan, model, p));
  }
  return Status::Ok();
}

Status NodeAgent::LoadStage(const RepositoryScan& scan, const std::string& model,
                            const PipelineStageConfig& p) {
  if (!stage_loader_)
    return FailedPrecondition("node " + config_.id + ": no LLM loader for its pipeline stages");
  auto d = std::find_if(scan.models.begin(), scan.models.end(),
                        [&](const ModelDescriptor& m) { return m.name == model; });
  if (d == scan.models.end() || d->task != TaskType::kLlm)
    return NotFound("node " + config_.id + ": pipeline model '" + model + "' is not an LLM in " +
                    config_.models_dir);
  ModelDescriptor s = *d;
  s.llm.first_layer = p.first_layer;
  s.llm.end_layer = p.end_layer;
  if (stage_cpu_threads_ > 0)
    s.llm.threads =
        s.llm.threads > 0 ? std::min(s.llm.threads, stage_cpu_threads_) : stage_cpu_threads_;
  auto h = std::make_shared<HostedStage>();
  Status st = stage_loader_(s, &h->model);
  if (!st.ok())
    return Status(st.code(), "node " + config_.id + ": pipeline stage " + std::to_string(p.stage) +
                                 " of " + model + ": " + st.message());
  // The same number of tokens as the head's cache (the whole model's kv_cache_mb, in tokens).
  const int64_t per_token_all = h->model->kv_bytes_per_token() *
                                h->model->config().num_hidden_layers /
                                (h->model->end_layer() - h->model->first_layer());
  h->kv_budget_tokens = (static_cast<int64_t>(s.llm.kv_cache_mb) << 20) / per_token_all;
  h->next = p.next;
  std::lock_guard<std::mutex> lock(stages_mu_);
  stages_[model] = std::move(h);
  pipeline_[model] = p;
  return Status::Ok();
}

Status NodeAgent::OpenStage(const std::string& model, std::unique_ptr<llm::StageSession>* session,
                            std::unique_ptr<llm::StageLink>* next) {
  std::shared_ptr<HostedStage> h;
  {
    std::lock_guard<std::mutex> lock(stages_mu_);
    auto it = stages_.find(model);
    if (it == stages_.end())
      return NotFound("node " + config_.id + " holds no pipeline stage of '" + model + "'");
    h = it->second;
  }
  // The session keeps the stage alive: an unload takes it out of stages_, the streams through it
  // finish on it.
  *session = std::make_unique<llm::StageSession>(h->model.get(), &h->mu, h->kv_budget_tokens, h);
  if (!h->model->is_last_stage()) *next = NextStageLink(model, h->next);
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

void NodeAgent::AddPipelineRoutes() {
  server_->Route("POST", R"(/v1/internal/pipelines/([^/]+)/(load|unload))",
                 [this](const api::HttpRequest& req, api::HttpResponse* res) {
                   const std::string model = req.path_params[0];
                   nlohmann::json answer = {{"node", config_.id}, {"model", model}};
                   Status s;
                   if (req.path_params[1] == "load") {
                     PipelineStageConfig p;
                     s = ParsePipelinePart(req.body, &p);
                     if (s.ok()) s = LoadPipelinePart(model, p);
                     if (s.ok()) answer["role"] = p.stage == 0 ? "head" : "stage";
                   } else {
                     std::chrono::milliseconds grace;
                     if (Status g = GraceOf(req, &grace); !g.ok()) {
                       api::WriteError(g, res);
                       return;
                     }
                     int drained = 0;
                     std::string role;
                     s = UnloadPipelinePart(model, grace, &role, &drained);
                     if (s.ok()) {
                       answer["role"] = role;
                       answer[role == "head" ? "drained_requests" : "open_streams"] = drained;
                     }
                   }
                   if (!s.ok()) {
                     api::WriteError(s, res);
                     return;
                   }
                   res->content_type = "application/json";
                   res->body = answer.dump();
                 });
}

Status NodeAgent::ParsePipelinePart(const std::string& body, PipelineStageConfig* p) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  const auto integer = [&](const char* key, int fallback, int* out) {
    if (!j.contains(key)) {
      *out = fallback;
      return true;
    }
    if (!j[key].is_number_integer()) return false;
    *out = j[key].get<int>();
    return true;
  };
  if (!j.is_object() || !integer("first_layer", -1, &p->first_layer) ||
      !integer("end_layer", 0, &p->end_layer) || !integer("depth", 2, &p->depth) ||
      (j.contains("next") && !j["next"].is_string()))
    return InvalidArgument(
        "body must be {\"first_layer\": F, \"end_layer\": E, \"next\": \"node\", \"depth\": D}");
  p->next = j.value("next", "");
  if (p->first_layer < 0 || p->end_layer < 0 ||
      (p->end_layer > 0 && p->end_layer <= p->first_layer))
    return InvalidArgument("need 0 <= first_layer < end_layer (end_layer 0: the last layer)");
  if (p->depth < 1 || p->depth > 16) return InvalidArgument("depth must be in [1, 16]");
  if (p->first_layer == 0 && (p->next.empty() || p->end_layer == 0))
    return InvalidArgument(
        "a head needs end_layer and the next stage's node (`next`); a whole "
        "model loads with /v1/internal/instances/{model}/load");
  p->stage = p->first_layer == 0 ? 0 : 1;
  return Status::Ok();
}

Status NodeAgent::LoadPipelinePart(const std::string& model, const PipelineStageConfig& p) {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  if (server_->llms().Get(model))
    return FailedPrecondition("node " + config_.id + " runs '" + model +
                              "' already; unload it before it takes a pipeline part");
  {
    std::lock_guard<std::mutex> stages(stages_mu_);
    if (stages_.count(model))
      return FailedPrecondition("node " + config_.id + " holds a stage of '" + model + "' already");
  }
  int64_t budget = 0;
  for (const DeviceConfig& d : config_.devices) budget += d.memory_mb << 20;
  if (p.stage == 0) {
    {
      std::lock_guard<std::mutex> stages(stages_mu_);
      pipeline_[model] = p;
    }
    Status s = server_->LoadModel(model);  // the loader builds the head (PreparePipeline)
    if (s.ok() && budget > 0 && MemoryNeed() > budget) {
      (void)server_->llms().Remove(model);
      s = ResourceExhausted("node " + config_.id + ": the head of " + model +
                            " does not fit the memory budget");
    }
    if (!s.ok()) {
      std::lock_guard<std::mutex> stages(stages_mu_);
      pipeline_.erase(model);
      return s;
    }
    spdlog::info("node {}: pipeline head of {} on layers [0, {}) -> {}, depth {}", config_.id,
                 model, p.end_layer, p.next, p.depth);
    Reregister();
    return Status::Ok();
  }
  RepositoryScan scan;
  EPARA_RETURN_IF_ERROR(ScanModelRepository(config_.models_dir, &scan));
  EPARA_RETURN_IF_ERROR(LoadStage(scan, model, p));
  if (budget > 0 && MemoryNeed() > budget) {
    std::lock_guard<std::mutex> stages(stages_mu_);
    stages_.erase(model);
    pipeline_.erase(model);
    return ResourceExhausted("node " + config_.id + ": the stage of " + model +
                             " does not fit the memory budget");
  }
  spdlog::info("node {}: pipeline stage of {} on layers [{}, {}){}", config_.id, model,
               p.first_layer, p.end_layer, p.next.empty() ? "" : " -> " + p.next);
  Reregister();
  return Status::Ok();
}

Status NodeAgent::UnloadPipelinePart(const std::string& model, std::chrono::milliseconds grace,
                                     std::string* role, int* count) {
  PipelineStageConfig p;
  if (!PipelineOf(model, &p))
    return NotFound("node " + config_.id + " holds no pipeline part of '" + model + "'");
  if (p.stage == 0) {
    *role = "head";
    EPARA_RETURN_IF_ERROR(UnloadInstance(model, grace, count));
    std::lock_guard<std::mutex> stages(stages_mu_);
    pipeline_.erase(model);  // a later load of the model is whole again
    return Status::Ok();
  }
  *role = "stage";
  {
    std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
    std::lock_guard<std::mutex> stages(stages_mu_);
    auto it = stages_.find(model);
    if (it != stages_.end()) {
      *count = static_cast<int>(it->second.use_count()) - 1;  // the streams' sessions hold it
      stages_.erase(it);
    }
    pipeline_.erase(model);
  }
  spdlog::info("node {}: pipeline stage of {} unloaded ({} stream(s) still finishing on it)",
               config_.id, model, *count);
  ReturnFreedHostMemory(config_.id, model);
  Reregister();
  return Status::Ok();
}

}  // namespace epara::node
