// NodeAgent's runtime instances (issue 6, adaptive deployment): load -> warm up -> ready ->
// advertised; unload = stop advertising -> serve what still arrives for a grace period -> stop
// admission, complete what was accepted -> free. With the origin's retry of refused forwards, no
// request accepted anywhere is lost while an instance moves.
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/error_mapping.h"
#include "core/host_allocator.h"
#include "node/node_agent.h"
#include "node/node_agent_internal.h"

namespace epara::node {
namespace {

// The model a request of epara's API names in its path (KServe, segmentation, tiles); empty for
// others (OpenAI routes name it in the body).
std::string ModelOfPath(const std::string& path) {
  for (const char* prefix : {"/v2/models/", "/v1/segment/", "/v1/internal/tile/"}) {
    const std::string p(prefix);
    if (path.compare(0, p.size(), p) != 0) continue;
    const size_t end = path.find('/', p.size());
    return path.substr(p.size(), end == std::string::npos ? std::string::npos : end - p.size());
  }
  return "";
}

}  // namespace

int64_t NodeAgent::MemoryNeed() const {
  int64_t need = 0;
  for (const engine::ServedModel* m : server_->models().List()) need += m->memory_footprint_bytes;
  for (const api::LlmRegistry::Info& i : server_->llms().List(true))
    need += i.engine->model().weight_bytes() + i.engine->kv_budget_bytes();
  std::lock_guard<std::mutex> lock(stages_mu_);
  for (const auto& [_, h] : stages_)
    need += h->model->weight_bytes() + h->kv_budget_tokens * h->model->kv_bytes_per_token();
  return need;
}

void NodeAgent::Reregister() {
  std::lock_guard<std::mutex> lock(membership_mu_);
  if (membership_) (void)membership_->Update(MakeRecord());
}

Status NodeAgent::LoadInstance(const std::string& model) {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  if (const engine::ServedModel* m = server_->models().Find(model);
      m && m->state.load() == engine::ModelState::kReady)
    return Status::Ok();  // already here
  if (auto llm = server_->llms().Get(model); llm && llm->state == api::LlmRegistry::State::kReady)
    return Status::Ok();
  if (auto llm = server_->llms().Get(model))  // draining: a move back before its unload ended
    return FailedPrecondition("LLM '" + model + "' is " + api::LlmStateName(llm->state) +
                              " on node " + config_.id + "; load it again once that has ended");
  if (PipelineStageConfig p; PipelineOf(model, &p) && p.stage > 0)
    return FailedPrecondition("node " + config_.id + " holds a later pipeline stage of '" + model +
                              "'; it cannot also run the whole model");
  EPARA_RETURN_IF_ERROR(server_->LoadModel(model));
  int64_t budget = 0;
  for (const DeviceConfig& d : config_.devices) budget += d.memory_mb << 20;
  if (const int64_t need = MemoryNeed(); budget > 0 && need > budget) {
    if (server_->llms().Get(model))
      (void)server_->llms().Remove(model);
    else
      (void)server_->models().Unload(model);
    return ResourceExhausted("node " + config_.id + ": loading " + model + " needs " +
                             std::to_string(need >> 20) + " MB, more than the budget of " +
                             std::to_string(budget >> 20) + " MB");
  }
  Reregister();
  return Status::Ok();
}

void ReturnFreedHostMemory(const std::string& node, const std::string& model) {
  const long long released = ReleaseFreeHostMemory();
  spdlog::info("node {}: {} MB of free heap returned to the OS after unloading {}", node,
               released >> 20, model);
}

Status NodeAgent::UnloadInstance(const std::string& model, std::chrono::milliseconds grace,
                                 int* drained) {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  if (auto llm = server_->llms().Get(model)) {
    // The same protocol as below; the streams in flight run to their end (LlmRegistry::Remove).
    if (llm->state == api::LlmRegistry::State::kReady) {
      EPARA_RETURN_IF_ERROR(server_->llms().Drain(model));
      Reregister();
      std::this_thread::sleep_for(grace);  // a protocol period, as below
    }
    int in_flight = 0;
    EPARA_RETURN_IF_ERROR(server_->llms().Remove(model, &in_flight));
    if (drained) *drained = in_flight;
    spdlog::info("node {}: unloaded LLM {} after its {} request(s) in flight ended", config_.id,
                 model, in_flight);
    ReturnFreedHostMemory(config_.id, model);
    Reregister();
    return Status::Ok();
  }
  const engine::ServedModel* m = server_->models().Find(model);
  if (!m) return NotFound("model '" + model + "' is not served here");
  if (m->state.load() == engine::ModelState::kReady) {
    EPARA_RETURN_IF_ERROR(server_->models().Drain(model));
    Reregister();  // peers drop it from their candidates when they see the record
    // Requests routed here before every peer saw that (and local ones between routing and
    // admission) still arrive for a while: keep serving them. A protocol period, not a test wait.
    std::this_thread::sleep_for(grace);
  }
  EPARA_RETURN_IF_ERROR(server_->models().Unload(model));
  ReturnFreedHostMemory(config_.id, model);
  Reregister();
  return Status::Ok();
}

Status NodeAgent::AdmitForward(const api::HttpRequest& req, std::shared_ptr<void>* hold) const {
  const std::string model = ModelOfPath(req.path);
  if (model.empty()) return AdmitLlmForward(req, hold);
  engine::ServedModel* m = server_->models().Find(model);
  if (!m) return Status::Ok();  // not a model here: the route answers (404, or an LLM)
  // In use first, then the state: an unload that begins after this check waits for the forward.
  auto use = std::make_shared<engine::ModelUse>(m);
  const engine::ModelState s = m->state.load();
  if (s == engine::ModelState::kReady || s == engine::ModelState::kDraining) {
    *hold = std::move(use);
    return Status::Ok();
  }
  return Unavailable("model '" + model + "' is " + std::string(engine::ModelStateName(s)) +
                     " on node " + config_.id);
}

Status NodeAgent::AdmitLlmForward(const api::HttpRequest& req, std::shared_ptr<void>* hold) const {
  if (req.path != "/v1/completions" && req.path != "/v1/chat/completions") return Status::Ok();
  const std::string model = TopLevelJsonString(req.body, "model");
  if (model.empty()) return Status::Ok();  // the route answers the malformed body
  if (server_->models().FindServing(model)) return Status::Ok();  // not an LLM: the route says so
  // Held from here: an unload that begins after this waits for the forward's answer.
  auto use = std::make_shared<api::LlmUse>(server_->llms().Use(model));
  if (*use) {
    *hold = std::move(use);
    return Status::Ok();
  }
  // Unloading, or gone since the origin's view of this node: refused, so the origin retries on
  // another node (a started request would be its client's failure).
  return Unavailable("LLM '" + model + "' is not served on node " + config_.id + " (any more)");
}

void NodeAgent::AddSplitRoute() {
  // A run-time change of a segmentation service's split degree (issue 24's mode changes): each
  // request reads the degree once when it enters, so nothing in flight is affected.
  server_->Route(
      "POST", R"(/v1/internal/split/([^/]+))",
      [this](const api::HttpRequest& req, api::HttpResponse* res) {
        const std::string model = req.path_params[0];
        const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object() || !body.contains("tiles") ||
            !body["tiles"].is_number_integer()) {
          api::WriteError(InvalidArgument("body must be {\"tiles\": N}, N in [1, 64]"), res);
          return;
        }
        const int tiles = body["tiles"].get<int>();
        if (tiles < 1 || tiles > 64) {
          api::WriteError(InvalidArgument("tiles must be in [1, 64]"), res);
          return;
        }
        const engine::ServedModel* m = server_->models().Find(model);
        if (!m) {
          api::WriteError(NotFound("model '" + model + "' not found on node " + config_.id), res);
          return;
        }
        if (m->descriptor.task != TaskType::kSegmentation) {
          api::WriteError(InvalidArgument("model '" + model + "' is not a segmentation model"),
                          res);
          return;
        }
        int before = 0;
        {
          std::lock_guard<std::mutex> lock(split_mu_);
          before = split_[model];
          if (tiles > 1)
            split_[model] = tiles;
          else
            split_.erase(model);
        }
        Reregister();  // the record says whether the service is split (the controller reads it)
        res->content_type = "application/json";
        res->body = nlohmann::json{{"node", config_.id},
                                   {"model", model},
                                   {"tiles", tiles},
                                   {"previous", std::max(1, before)}}
                        .dump();
      });
}

Status NodeAgent::GraceOf(const api::HttpRequest& req, std::chrono::milliseconds* grace) const {
  const int ms = std::atoi(req.Query("grace_ms", std::to_string(std::max<int64_t>(
                                                     1000, 3 * config_.sync_interval.count())))
                               .c_str());
  if (ms < 0 || ms > 600000) return InvalidArgument("grace_ms must be in [0, 600000]");
  *grace = std::chrono::milliseconds(ms);
  return Status::Ok();
}

void NodeAgent::AddInstanceRoutes() {
  server_->Route(
      "POST", R"(/v1/internal/instances/([^/]+)/(load|unload))",
      [this](const api::HttpRequest& req, api::HttpResponse* res) {
        const std::string model = req.path_params[0];
        Status s;
        int drained = -1;  // LLMs: the requests in flight the unload waited for
        if (req.path_params[1] == "load") {
          s = LoadInstance(model);
        } else {
          std::chrono::milliseconds grace;
          if (Status g = GraceOf(req, &grace); !g.ok()) {
            api::WriteError(g, res);
            return;
          }
          s = UnloadInstance(model, grace, &drained);
        }
        if (!s.ok()) {
          api::WriteError(s, res);
          return;
        }
        const engine::ServedModel* m = server_->models().Find(model);
        const auto llm = server_->llms().Get(model);
        const int64_t llm_bytes =
            llm ? llm->engine->model().weight_bytes() + llm->engine->kv_budget_bytes() : 0;
        nlohmann::json body = {{"node", config_.id},
                               {"model", model},
                               {"state", m     ? engine::ModelStateName(m->state.load())
                                         : llm ? api::LlmStateName(llm->state)
                                               : "NONE"},
                               {"memory_bytes", m ? m->memory_footprint_bytes : llm_bytes}};
        if (drained >= 0) body["drained_requests"] = drained;
        res->content_type = "application/json";
        res->body = body.dump();
      });
}

}  // namespace epara::node
