#include "engine/model_manager.h"

#include "backend/throttled_instance.h"
#include "engine/model_io.h"

#include <future>
#include <thread>

namespace epara::engine {

std::string_view ModelStateName(ModelState s) {
  switch (s) {
    case ModelState::kLoading:
      return "LOADING";
    case ModelState::kReady:
      return "READY";
    case ModelState::kFailed:
      return "FAILED";
    case ModelState::kUnloading:
      return "UNLOADING";
    case ModelState::kDraining:
      return "DRAINING";
  }
  return "UNKNOWN";
}

ModelManager::ModelManager(backend::BackendRegistry* backends, metrics::Registry* registry)
    : backends_(backends), registry_(registry) {}

ModelManager::~ModelManager() { Shutdown(); }

Status ModelManager::Load(const ModelDescriptor& d) {
  ServedModel* model = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = models_.try_emplace(d.name);
    if (!inserted) {
      const ModelState s = it->second->state.load();
      if (s != ModelState::kFailed && s != ModelState::kUnloading)
        return InvalidArgument("model '" + d.name + "' is already loaded");
      if (it->second->scheduler) it->second->scheduler->Shutdown();
      retired_.push_back(std::move(it->second));
    }
    it->second = std::make_unique<ServedModel>();
    model = it->second.get();
    model->descriptor = d;
    model->metrics = metrics::ModelMetrics::Create(registry_, d.name, d.batching.max_batch_size);
  }
  auto fail = [&](Status s) {
    model->load_error = s;
    model->state = ModelState::kFailed;
    return s;
  };
  if (d.task == TaskType::kLlm)
    return fail(
        FailedPrecondition("model '" + d.name + "': task 'llm' is served by the LLM engine"));
  backend::Backend* be = backends_->Get(d.backend);
  if (!be)
    return fail(InvalidArgument("model '" + d.name + "': unknown backend '" + d.backend + "'"));

  backend::LoadSpec spec;
  spec.model_name = d.name;
  spec.artifacts = d.artifacts;
  spec.device = d.instances.device;
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  spec.threads =
      d.instances.threads > 0 ? d.instances.threads : std::max(1, cores / d.instances.count);
  for (const auto& t : d.inputs) spec.input_names.push_back(t.name);
  for (const auto& t : d.outputs) spec.output_names.push_back(t.name);

  // The descriptor as served: inputs/outputs completed and checked against what the model itself
  // declares, where the backend can tell (engine/model_io.h).
  ModelDescriptor r = d;
  std::vector<std::unique_ptr<backend::ModelInstance>> instances;
  for (int i = 0; i < d.instances.count; ++i) {
    std::unique_ptr<backend::ModelInstance> inst;
    Status s = be->Load(spec, &inst);
    if (!s.ok()) return fail(s);
    if (i == 0) {
      backend::ModelSignature sig;
      if (inst->Signature(&sig)) {
        if (s = ResolveModelIo(sig, &r); !s.ok()) return fail(s);
        // Written while kLoading: the metadata route lists tensors only past that state.
        model->descriptor = r;
      } else if (r.inputs.empty() || r.outputs.empty()) {
        return fail(InvalidArgument("model '" + d.name + "': backend '" + d.backend +
                                    "' cannot read inputs and outputs from the model; state them "
                                    "in model.yaml"));
      }
    }
    if (cpu_quota_ < 1.0)
      inst = std::make_unique<backend::ThrottledInstance>(std::move(inst), cpu_quota_);
    // Warm-up: the first execution pays for kernel selection and allocation.
    bool known = true;
    std::vector<Tensor> zeros;
    for (const auto& t : r.inputs) {
      std::vector<int64_t> shape = t.dims;
      if (r.batching.max_batch_size > 0) shape.insert(shape.begin(), 1);
      for (int64_t dim : shape) known = known && dim > 0;
      if (known) zeros.emplace_back(t.dtype, shape);
    }
    if (known) {
      std::vector<Tensor> outs;
      s = inst->Run(zeros, &outs);
      if (!s.ok()) return fail(s.WithContext("model '" + d.name + "' failed its warm-up run"));
    }
    model->memory_footprint_bytes += inst->MemoryFootprintBytes();
    instances.push_back(std::move(inst));
  }
  Status s =
      ModelScheduler::Create(d.batching, std::move(instances), model->metrics, &model->scheduler);
  if (!s.ok()) return fail(s);
  model->state = ModelState::kReady;
  return Status::Ok();
}

Status ModelManager::Drain(const std::string& name) {
  ServedModel* m = Find(name);
  if (!m) return NotFound("model '" + name + "' is not loaded here");
  ModelState expected = ModelState::kReady;
  if (!m->state.compare_exchange_strong(expected, ModelState::kDraining) &&
      expected != ModelState::kDraining)
    return FailedPrecondition("model '" + name + "' is " + std::string(ModelStateName(expected)) +
                              ", not READY");
  return Status::Ok();
}

Status ModelManager::Unload(const std::string& name) {
  ServedModel* m = Find(name);
  if (!m) return NotFound("model '" + name + "' is not loaded here");
  m->state = ModelState::kUnloading;
  // Requests admitted before (e.g. a forward acknowledged while draining) still reach the
  // scheduler; new ones are no longer routed here. Polling a counter, bounded.
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
       m->active.load() > 0 && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (m->scheduler) m->scheduler->Shutdown();  // completes what it accepted, frees the instances
  m->memory_footprint_bytes = 0;
  return Status::Ok();
}

ServedModel* ModelManager::Find(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : it->second.get();
}

ServedModel* ModelManager::FindServing(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = models_.find(name); it != models_.end()) return it->second.get();
  for (const auto& [_, m] : models_)
    if (m->descriptor.variant && m->descriptor.variant->of == name &&
        m->state.load() == ModelState::kReady)
      return m.get();
  return nullptr;
}

std::vector<const ServedModel*> ModelManager::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const ServedModel*> out;
  for (const auto& [_, m] : models_) out.push_back(m.get());
  return out;
}

void ModelManager::Shutdown() {
  std::vector<ServedModel*> models;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [_, m] : models_) models.push_back(m.get());
  }
  for (ServedModel* m : models) {
    if (m->state == ModelState::kReady || m->state == ModelState::kDraining)
      m->state = ModelState::kUnloading;
    if (m->scheduler) m->scheduler->Shutdown();
  }
}

Status InferSync(ServedModel& model, std::vector<Tensor> inputs, int64_t rows, InferenceResult* out,
                 const RequestPriority& priority) {
  // An unloading model still takes requests admitted before it began (its scheduler refuses new
  // work once it shuts down).
  const ModelState state = model.state.load();
  if (state == ModelState::kLoading || state == ModelState::kFailed || !model.scheduler)
    return Unavailable("model '" + model.descriptor.name + "' is not ready (" +
                       std::string(ModelStateName(model.state)) + ")");
  // The promise is owned jointly: once the value is set this thread may return while the worker is
  // still inside set_value(), so the worker must not touch an object on this stack.
  auto done = std::make_shared<std::promise<InferenceResult>>();
  std::future<InferenceResult> result = done->get_future();
  InferenceRequest req;
  req.inputs = std::move(inputs);
  req.rows = rows;
  req.slo_ms = priority.slo_ms;
  req.latency_sensitive = priority.latency_sensitive;
  req.solo = priority.solo;
  req.work_share = priority.work_share;
  req.on_complete = [done](InferenceResult r) { done->set_value(std::move(r)); };
  EPARA_RETURN_IF_ERROR(model.scheduler->Enqueue(std::move(req)));
  *out = result.get();
  return out->status;
}

}  // namespace epara::engine
