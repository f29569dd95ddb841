#include "api/server.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <thread>

#include "api/error_mapping.h"
#include "api/kserve_routes.h"
#include "api/openai_routes.h"
#include "api/segment_routes.h"
#include "api/tokenize_routes.h"
#include "core/pending_compute.h"
#include "core/version.h"
#include "repo/model_repository.h"

namespace epara::api {

engine::RequestPriority PriorityOf(const HttpRequest& req, const ModelDescriptor& d) {
  engine::RequestPriority p;
  p.slo_ms = d.slo.latency_ms;
  if (const std::string slo = req.Header("X-Epara-SLO-Ms"); !slo.empty()) {
    const double v = std::atof(slo.c_str());
    if (v > 0) p.slo_ms = v;
  }
  p.latency_sensitive = req.Header("X-Epara-Priority") == "latency";
  return p;
}

bool RoutedElsewhere(const ServerContext& ctx, const std::string& model, const HttpRequest& req,
                     HttpResponse* res, Status* error) {
  if (!ctx.route || !req.Header(kForwardedHeader).empty()) return false;
  return ctx.route(model, req, res, error);
}

bool AnsweredElsewhere(const ServerContext& ctx, const std::string& model, const HttpRequest& req,
                       HttpResponse* res) {
  Status routed;
  if (!RoutedElsewhere(ctx, model, req, res, &routed)) return false;
  if (!routed.ok()) WriteError(routed, res);
  return true;
}

Status FindModel(const ServerContext& ctx, const std::string& name, engine::ServedModel** out,
                 std::optional<engine::ModelUse>* use) {
  *out = ctx.models->FindServing(name);  // a model, or a variant of the service `name`
  if (!*out) return NotFound("model '" + name + "' not found");
  if (use) use->emplace(*out);
  return Status::Ok();
}

Status RunRequestWork(const ServerContext& ctx, const std::function<Status()>& work) {
  // Nobody to yield to while no model work is pending: run at once, without a hand-off.
  if (ctx.request_cpu == nullptr || PendingCompute() == 0) return work();
  Status status;
  ctx.request_cpu->Run([&] { status = work(); });
  return status;
}

Server::Server(const ServerOptions& options) : options_(options), http_(options.http) {}

void Server::Adapt(ModelDescriptor* d) const {
  if (auto it = options_.batching_overrides.find(d->name); it != options_.batching_overrides.end())
    d->batching = it->second;
  if (options_.cpu_threads > 0) {
    const int per_instance = std::max(1, options_.cpu_threads / std::max(1, d->instances.count));
    d->instances.threads =
        d->instances.threads > 0 ? std::min(d->instances.threads, per_instance) : per_instance;
    d->llm.threads =
        d->llm.threads > 0 ? std::min(d->llm.threads, options_.cpu_threads) : options_.cpu_threads;
  }
}

Status Server::LoadModel(const std::string& name) {
  RepositoryScan scan;
  EPARA_RETURN_IF_ERROR(ScanModelRepository(options_.models_dir, &scan));
  for (ModelDescriptor d : scan.models) {
    if (d.name != name) continue;
    Adapt(&d);
    if (d.task == TaskType::kLlm) return LoadLlm(d);
    return models_->Load(d);
  }
  for (const Status& e : scan.errors)
    if (e.message().find(name) != std::string::npos) return e;
  return NotFound("model '" + name + "' is not in " + options_.models_dir);
}

Status Server::LoadLlm(const ModelDescriptor& d) {
  if (!options_.llm_loader)
    return FailedPrecondition("model '" + d.name + "': no LLM engine in this process");
  if (llms_->Get(d.name)) return FailedPrecondition("LLM '" + d.name + "' is already loaded here");
  std::unique_ptr<llm::LlmEngine> engine;
  EPARA_RETURN_IF_ERROR(options_.llm_loader(d, &engine));
  engine->set_cpu_quota(options_.cpu_quota);
  return llms_->Add(d.name, std::move(engine), d.slo.ttft_ms, d.slo.tpot_ms);
}

Server::~Server() { Stop(); }

Status Server::Create(const ServerOptions& options, backend::BackendRegistry* backends,
                      std::unique_ptr<Server>* out) {
  std::unique_ptr<Server> s(new Server(options));
  RepositoryScan scan;
  EPARA_RETURN_IF_ERROR(ScanModelRepository(options.models_dir, &scan));
  if (!scan.errors.empty() && !options.skip_invalid_models) {
    std::string msg = "invalid model descriptors:";
    for (const Status& e : scan.errors) msg += "\n  " + e.message();
    return InvalidArgument(msg);
  }
  s->models_ = std::make_unique<engine::ModelManager>(backends, &s->registry_);
  if (options.cpu_quota <= 0 || options.cpu_quota > 1)
    return InvalidArgument("cpu_quota must be in (0, 1]");
  s->models_->set_cpu_quota(options.cpu_quota);
  s->llms_ = std::make_unique<LlmRegistry>(&s->registry_);
  for (ModelDescriptor d : scan.models) {
    if (!options.only_models.empty() &&
        std::find(options.only_models.begin(), options.only_models.end(), d.name) ==
            options.only_models.end())
      continue;
    if (std::find(options.skip_models.begin(), options.skip_models.end(), d.name) !=
        options.skip_models.end())
      continue;
    s->Adapt(&d);
    Status st;
    if (d.task == TaskType::kLlm) {
      if (!options.llm_loader) {
        s->skipped_.push_back(d.name + ": no LLM engine in this process");
        continue;
      }
      st = s->LoadLlm(d);
    } else {
      st = s->models_->Load(d);
    }
    if (!st.ok() && !options.skip_invalid_models) return st;
    if (!st.ok()) s->skipped_.push_back(d.name + ": " + st.message());
  }
  s->ctx_.models = s->models_.get();
  s->ctx_.metrics = &s->registry_;
  s->ctx_.llms = s->llms_.get();
  s->ctx_.image_limits = options.image_limits;
  if (!options.split_defaults.empty())
    s->ctx_.split_default = [table = options.split_defaults](const std::string& model) {
      auto it = table.find(model);
      return it == table.end() ? 0 : it->second;
    };
  s->request_cpu_ = std::make_unique<BackgroundPool>(
      options.cpu_threads > 0 ? options.cpu_threads
                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())),
      options.request_work_idle_class);
  s->ctx_.request_cpu = s->request_cpu_.get();
  s->ctx_.server_version = kEparaVersion;
  s->guard_ = std::make_unique<RequestGuard>(options.guard);
  if (s->guard_->enabled())
    s->http_.SetGuard([g = s->guard_.get()](const HttpRequest& req, HttpResponse* res) {
      return g->Admit(req, res);
    });
  AddKServeRoutes(&s->http_, &s->ctx_);
  AddSegmentationRoutes(&s->http_, &s->ctx_);
  AddOpenAiRoutes(&s->http_, &s->ctx_);
  AddTokenizeRoutes(&s->http_, &s->ctx_);
  s->http_.Route("GET", "/metrics", [ctx = &s->ctx_](const HttpRequest&, HttpResponse* res) {
    for (const LlmRegistry::Info& i : ctx->llms->List(true)) {  // LLM gauges: read at scrape
      const llm::EngineStats st = i.engine->stats();
      const metrics::LlmMetrics& m = *ctx->llms->Metrics(i.name);
      m.running->Set(st.running);
      m.waiting->Set(st.waiting);
      m.kv_usage->Set(static_cast<double>(st.kv_reserved_bytes) /
                      static_cast<double>(i.engine->kv_budget_bytes()));
    }
    res->content_type = "text/plain; version=0.0.4";
    res->body = ctx->metrics->RenderText();
  });
  s->http_.Route("GET", "/health",
                 [](const HttpRequest&, HttpResponse* res) { res->body = R"({"status":"ok"})"; });
  *out = std::move(s);
  return Status::Ok();
}

Status Server::Start() { return http_.Start(); }

void Server::Stop() {
  // Order matters: stop taking connections, then drain the model queues (queued requests run at
  // once instead of waiting out their batching delay), then wait for every handler to answer.
  http_.StopAccepting();
  if (models_) models_->Shutdown();
  if (llms_) llms_->ShutdownAll();
  http_.Stop();
}

}  // namespace epara::api
