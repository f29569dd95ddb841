// ModelScheduler: one queue per model feeding one worker thread per loaded instance; the workers
// form batches with DecideBatch() and run them on their instance. Requests from any number of
// connections are batched together.
//
// Lifecycle: Create -> Enqueue* -> Shutdown (stops admission, runs everything already accepted,
// joins workers). Every accepted request's on_complete runs exactly once.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "backend/backend.h"
#include "engine/batch_cost.h"
#include "engine/inference_request.h"
#include "metrics/model_metrics.h"
#include "repo/model_descriptor.h"

namespace epara::engine {

class ModelScheduler {
 public:
  // Takes ownership of `instances` (at least one). `metrics` series must outlive the scheduler.
  static Status Create(const BatchingConfig& config,
                       std::vector<std::unique_ptr<backend::ModelInstance>> instances,
                       const metrics::ModelMetrics& metrics, std::unique_ptr<ModelScheduler>* out);
  ~ModelScheduler();  // calls Shutdown()

  // Accepts the request or returns ResourceExhausted (queue bound hit) / Unavailable (shutting
  // down) without calling on_complete. REQUIRES: request.rows <= max_batch_size when batching.
  Status Enqueue(InferenceRequest request);
  // Stops admission, completes everything accepted and frees the instances. Idempotent;
  // thread-safe.
  void Shutdown();

  size_t queued() const;
  const BatchingConfig& config() const { return config_; }

  // The scheduler's load, for the distributed request handler's predictions (engine/batch_cost.h):
  // the wait charges what is left of the running batch now. `read_later`: for a digest that peers
  // read at an unknown later moment, which charges the batch's mean residual (half a batch).
  using Load = QueueLoad;
  Load CurrentLoad(bool read_later = false) const;

 private:
  ModelScheduler(const BatchingConfig& config,
                 std::vector<std::unique_ptr<backend::ModelInstance>> instances,
                 const metrics::ModelMetrics& metrics);
  void WorkerLoop(backend::ModelInstance* instance);
  // Move the next batch from queue_ into *batch (true), or set *wake_at (false). REQUIRES mu_.
  bool TakeBatch(std::vector<int64_t>* rows, std::vector<InferenceRequest>* batch,
                 Clock::time_point* wake_at);
  bool TakeSloBatch(std::vector<InferenceRequest>* batch, Clock::time_point* wake_at);
  using Started = std::multiset<Clock::time_point>::iterator;
  // Runs `batch`; `started` is its entry in running_since_ (erased when it ends).
  void RunBatch(backend::ModelInstance* instance, std::vector<InferenceRequest>& batch,
                Started started);

  const BatchingConfig config_;
  std::vector<std::unique_ptr<backend::ModelInstance>> instances_;  // freed by Shutdown()
  const size_t instance_count_;
  metrics::ModelMetrics metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<InferenceRequest> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;               // GUARDED_BY(mu_)
  uint32_t in_flight_ = 0;              // GUARDED_BY(mu_)
  // When each running batch started (one per busy instance): CurrentLoad's residual.
  std::multiset<Clock::time_point> running_since_;  // GUARDED_BY(mu_)
  BatchCost cost_;                                  // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;
};

}  // namespace epara::engine
