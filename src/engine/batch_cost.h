// BatchCost: what a model's recent batches cost, and the load estimate the request handler
// predicts from (ModelScheduler::CurrentLoad, and the simulator's instances). Pure: no clock, no
// threads; the caller passes each batch's measured (or simulated) run time. Not thread-safe.
//
// Service and wait times come from exponentially weighted averages of recent batch run times and
// rows (weight kWeight on the newest, about the last 5 batches; 0 before the first batch):
//   wait = residual + queued x (batch time / mean rows) / instances,
// where residual is what is left of the running batch that ends first: batch time minus how long it
// has run, when the caller knows (0 while an instance idles); half a batch when it does not (the
// mean residual of a batch seen at a random moment: a request admitted right after a batch started
// then waits up to half a batch longer than predicted; the simulator measured admitted p99 353 ms
// against a 300 ms SLO from that alone).
// Queued requests cost what a row has cost in recent batches, not a full batch's share: on CPUs a
// batch of 8 takes ~8x (or more) a batch of 1, so assuming max_batch requests per batch time made
// a burst of requests look nearly free and herded them onto one node (bench/results: the goodput
// benchmark); on GPUs the mean rows grow and the per-row cost falls, as it should.
#pragma once

#include <cstddef>
#include <cstdint>

namespace epara::engine {

struct QueueLoad {
  uint32_t queued = 0;     // requests waiting
  uint32_t in_flight = 0;  // requests in running batches
  double expected_wait_ms = 0;
  double service_ms = 0;       // one batch's recent run time
  double batch_occupancy = 0;  // recent mean batch rows / max batch size
};

class BatchCost {
 public:
  static constexpr double kWeight = 0.2;
  void Observe(double batch_seconds, int64_t rows);
  double batch_ms() const { return batch_s_ * 1e3; }
  // The recent cost of one row (0 before the first batch).
  double per_row_ms() const { return rows_ > 0 ? batch_s_ * 1e3 / rows_ : 0; }
  // `running_elapsed_ms`: how long the running batch that ends first has run (+infinity while an
  // instance idles); negative: unknown (half a batch is charged).
  QueueLoad Load(uint32_t queued, uint32_t in_flight, int max_batch_size, size_t instances,
                 double running_elapsed_ms = -1) const;

 private:
  double batch_s_ = 0;
  double rows_ = 0;
};

}  // namespace epara::engine
