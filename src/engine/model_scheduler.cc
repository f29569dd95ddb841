#include "engine/model_scheduler.h"

#include <algorithm>
#include <limits>

#include "engine/slo_batch_policy.h"

#include "core/pending_compute.h"
#include "core/thread_name.h"

namespace epara::engine {
namespace {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Status ModelScheduler::Create(const BatchingConfig& config,
                              std::vector<std::unique_ptr<backend::ModelInstance>> instances,
                              const metrics::ModelMetrics& metrics,
                              std::unique_ptr<ModelScheduler>* out) {
  if (instances.empty()) return InvalidArgument("a scheduler needs at least one instance");
  out->reset(new ModelScheduler(config, std::move(instances), metrics));
  return Status::Ok();
}

ModelScheduler::ModelScheduler(const BatchingConfig& config,
                               std::vector<std::unique_ptr<backend::ModelInstance>> instances,
                               const metrics::ModelMetrics& metrics)
    : config_(config),
      instances_(std::move(instances)),
      instance_count_(instances_.size()),
      metrics_(metrics) {
  for (auto& inst : instances_) workers_.emplace_back([this, p = inst.get()] { WorkerLoop(p); });
}

ModelScheduler::~ModelScheduler() { Shutdown(); }

Status ModelScheduler::Enqueue(InferenceRequest request) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Unavailable("model is shutting down");
    if (static_cast<int>(queue_.size()) >= config_.max_queue_size)
      return ResourceExhausted("queue full (" + std::to_string(config_.max_queue_size) +
                               " requests waiting)");
    request.enqueued = Clock::now();
    if (request.slo_ms > 0)
      request.deadline =
          request.enqueued + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double, std::milli>(request.slo_ms));
    queue_.push_back(std::move(request));
    AddPendingCompute(1);  // until its batch has run (RunBatch)
    metrics_.pending->Add(1);
  }
  cv_.notify_one();
  return Status::Ok();
}

void ModelScheduler::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers)
    if (t.joinable()) t.join();
  if (!workers.empty()) instances_.clear();  // the workers that used them are gone
}

size_t ModelScheduler::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

QueueLoad ModelScheduler::CurrentLoad(bool read_later) const {
  std::lock_guard<std::mutex> lock(mu_);
  // The batch that ends first is the oldest (they cost alike); none while an instance idles.
  double elapsed_ms = std::numeric_limits<double>::infinity();
  if (read_later)
    elapsed_ms = -1;  // unknown by the time it is read
  else if (!running_since_.empty() && running_since_.size() >= instance_count_)
    elapsed_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - *running_since_.begin()).count();
  return cost_.Load(static_cast<uint32_t>(queue_.size()), in_flight_, config_.max_batch_size,
                    instance_count_, elapsed_ms);
}

bool ModelScheduler::TakeBatch(std::vector<int64_t>* rows, std::vector<InferenceRequest>* batch,
                               Clock::time_point* wake_at) {
  rows->clear();
  // A solo request looks like a full batch: it runs alone and nothing joins it.
  const int64_t full = std::max(1, config_.max_batch_size);
  for (const auto& r : queue_) rows->push_back(r.solo ? full : r.rows);
  const BatchDecision d =
      DecideBatch(*rows, queue_.front().enqueued, Clock::now(), config_, stopping_);
  *wake_at = d.wake_at;
  for (size_t i = 0; i < d.take; ++i) {
    batch->push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  metrics_.pending->Add(-static_cast<double>(d.take));
  in_flight_ += static_cast<uint32_t>(d.take);
  return d.take > 0;
}

bool ModelScheduler::TakeSloBatch(std::vector<InferenceRequest>* batch,
                                  Clock::time_point* wake_at) {
  std::vector<QueuedRequest> view;
  view.reserve(queue_.size());
  const int64_t full = std::max(1, config_.max_batch_size);
  for (const auto& r : queue_)
    view.push_back({r.solo ? full : r.rows, r.enqueued, r.deadline, r.latency_sensitive});
  // A batch's run time grows with its rows at the recent per-row cost (0 before the first batch:
  // deadlines then only stop batches that are already late).
  const double per_row_ms = cost_.per_row_ms();
  const SloBatchDecision d = DecideSloBatch(
      view, Clock::now(), config_, [per_row_ms](int64_t rows) { return per_row_ms * rows; },
      stopping_);
  *wake_at = d.wake_at;
  if (d.take.empty()) return false;
  for (size_t i : d.take) batch->push_back(std::move(queue_[i]));
  std::vector<size_t> gone = d.take;
  std::sort(gone.rbegin(), gone.rend());
  for (size_t i : gone) queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
  metrics_.pending->Add(-static_cast<double>(d.take.size()));
  in_flight_ += static_cast<uint32_t>(d.take.size());
  return true;
}

void ModelScheduler::WorkerLoop(backend::ModelInstance* instance) {
  SetCurrentThreadName("ep-model");
  std::vector<int64_t> rows;
  for (;;) {
    std::vector<InferenceRequest> batch;
    Started started;
    {
      std::unique_lock<std::mutex> lock(mu_);
      for (;;) {
        if (queue_.empty()) {
          if (stopping_) return;
          cv_.wait(lock);
          continue;
        }
        Clock::time_point wake_at;
        if (config_.slo_aware ? TakeSloBatch(&batch, &wake_at) : TakeBatch(&rows, &batch, &wake_at))
          break;
        cv_.wait_until(lock, wake_at);
      }
      started = running_since_.insert(Clock::now());
    }
    // Another worker may be able to start on what is left.
    cv_.notify_one();
    RunBatch(instance, batch, started);
  }
}

void ModelScheduler::RunBatch(backend::ModelInstance* instance,
                              std::vector<InferenceRequest>& batch, Started started) {
  const Clock::time_point start = Clock::now();
  int64_t total_rows = 0;
  for (const auto& r : batch) total_rows += r.rows;

  std::vector<Tensor> outputs;
  Status status;
  if (batch.size() == 1) {
    status = instance->Run(batch[0].inputs, &outputs);
  } else {
    std::vector<Tensor> inputs(batch[0].inputs.size());
    for (size_t i = 0; i < inputs.size() && status.ok(); ++i) {
      std::vector<const Tensor*> parts;
      for (const auto& r : batch) parts.push_back(&r.inputs[i]);
      status = ConcatRows(parts, &inputs[i]);
    }
    if (status.ok()) status = instance->Run(inputs, &outputs);
  }
  const double compute = Seconds(Clock::now() - start);
  AddPendingCompute(-static_cast<int>(batch.size()));
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_ -= static_cast<uint32_t>(batch.size());
    running_since_.erase(started);
    // A tile's time counts as a whole image's (InferenceRequest::work_share).
    const double share = batch.size() == 1 && batch[0].solo ? batch[0].work_share : 1;
    cost_.Observe(share > 0 && share < 1 ? compute / share : compute, total_rows);
  }
  if (status.ok() && config_.max_batch_size > 0) {
    for (const Tensor& o : outputs)
      if (o.shape().empty() || o.shape()[0] != total_rows)
        status = Internal("model output of shape " + ShapeToString(o.shape()) +
                          " does not have the batch's " + std::to_string(total_rows) + " rows");
  }
  metrics_.exec_count->Increment();
  metrics_.inference_count->Increment(static_cast<double>(total_rows));
  metrics_.compute_duration->Observe(compute);
  metrics_.batch_size->Observe(static_cast<double>(total_rows));

  int64_t offset = 0;
  for (auto& r : batch) {
    InferenceResult result;
    result.status = status;
    result.queue_seconds = Seconds(start - r.enqueued);
    result.compute_seconds = compute;
    result.batch_rows = total_rows;
    metrics_.queue_duration->Observe(result.queue_seconds);
    if (status.ok()) {
      if (batch.size() == 1) {
        result.outputs = std::move(outputs);
      } else {
        for (const Tensor& o : outputs)
          result.outputs.push_back(o.SliceRows(offset, offset + r.rows));
      }
    }
    offset += r.rows;
    r.on_complete(std::move(result));
  }
}

}  // namespace epara::engine
