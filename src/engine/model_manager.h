// ModelManager: loads the models of a repository through their backends, owns their schedulers,
// and tracks each model's lifecycle state (Triton's ModelReadyState). Lookups are thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/backend_registry.h"
#include "engine/model_scheduler.h"
#include "metrics/model_metrics.h"
#include "repo/model_descriptor.h"

namespace epara::engine {

// kDraining: still serves what reaches it, but is no longer advertised (routers stop choosing it);
// kUnloading: admission stopped, accepted work completes, instances freed.
enum class ModelState { kLoading, kReady, kFailed, kUnloading, kDraining };
std::string_view ModelStateName(ModelState s);

struct ServedModel {
  ModelDescriptor descriptor;
  std::atomic<ModelState> state{ModelState::kLoading};
  Status load_error;                   // set when state == kFailed
  int64_t memory_footprint_bytes = 0;  // all instances
  metrics::ModelMetrics metrics;
  std::unique_ptr<ModelScheduler> scheduler;  // set when state == kReady
  // Requests between admission and their answer (ModelUse): Unload waits for them, so a request
  // admitted while the model was ready or draining never finds it gone.
  std::atomic<int> active{0};
};

// Holds `model` in use for a request's lifetime (see ServedModel::active).
class ModelUse {
 public:
  explicit ModelUse(ServedModel* m) : m_(m) {
    if (m_) m_->active.fetch_add(1);
  }
  ~ModelUse() {
    if (m_) m_->active.fetch_sub(1);
  }
  ModelUse(const ModelUse&) = delete;
  ModelUse& operator=(const ModelUse&) = delete;

 private:
  ServedModel* m_;
};

class ModelManager {
 public:
  // `backends` and `registry` must outlive the manager.
  ModelManager(backend::BackendRegistry* backends, metrics::Registry* registry);
  ~ModelManager();  // Shutdown()

  // Emulates a device with this share of the CPU (backend/throttled_instance.h) for models loaded
  // afterwards; 1 (the default): full speed. REQUIRES: 0 < quota <= 1.
  void set_cpu_quota(double quota) { cpu_quota_ = quota; }

  // Loads every instance of `d`, runs one warm-up inference with zeros when all input dims are
  // known, and marks the model ready. On failure the model stays listed as kFailed with the
  // error (and the error is returned). InvalidArgument if a model of that name is loading, ready
  // or draining; one that failed or was unloaded is replaced (the old entry stays alive, retired,
  // for handlers that still hold it).
  Status Load(const ModelDescriptor& d);

  // Runtime redeployment (the scheduler's adaptive deployment protocol):
  // kReady -> kDraining. NotFound / FailedPrecondition otherwise.
  Status Drain(const std::string& name);
  // -> kUnloading; waits (bounded, 60 s) until no request holds the model in use (ModelUse), then
  // stops admission, completes everything accepted and frees the instances' memory.
  // NotFound when unknown; OK when already unloaded.
  Status Unload(const std::string& name);

  // nullptr when unknown. The pointer is valid until Shutdown().
  ServedModel* Find(const std::string& name) const;
  // Find(name), else a ready model that is a variant of the service `name` (descriptor
  // variant.of): what a request naming a model or a service runs on. nullptr when neither.
  ServedModel* FindServing(const std::string& name) const;
  std::vector<const ServedModel*> List() const;

  // Stops admission on every model and completes everything already accepted.
  void Shutdown();

 private:
  backend::BackendRegistry* backends_;
  metrics::Registry* registry_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<ServedModel>> models_;  // GUARDED_BY(mu_)
  std::vector<std::unique_ptr<ServedModel>> retired_;           // GUARDED_BY(mu_)
  double cpu_quota_ = 1.0;
};

// Enqueues on `model` and blocks until the result is ready. Returns the admission error
// (ResourceExhausted, Unavailable) or the result's status; `out` holds the result on success.
// `priority` matters when the model's batching is slo_aware.
Status InferSync(ServedModel& model, std::vector<Tensor> inputs, int64_t rows, InferenceResult* out,
                 const RequestPriority& priority = {});

}  // namespace epara::engine
