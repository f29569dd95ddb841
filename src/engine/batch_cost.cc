#include "engine/batch_cost.h"

#include <algorithm>

namespace epara::engine {

void BatchCost::Observe(double batch_seconds, int64_t rows) {
  batch_s_ = batch_s_ == 0 ? batch_seconds : batch_s_ + kWeight * (batch_seconds - batch_s_);
  const double r = static_cast<double>(rows);
  rows_ = rows_ == 0 ? r : rows_ + kWeight * (r - rows_);
}

QueueLoad BatchCost::Load(uint32_t queued, uint32_t in_flight, int max_batch_size, size_t instances,
                          double running_elapsed_ms) const {
  QueueLoad l;
  l.queued = queued;
  l.in_flight = in_flight;
  l.service_ms = batch_ms();
  const double per_row_ms = l.service_ms / std::max(1.0, rows_);
  double residual_ms = 0;
  if (in_flight > 0)
    residual_ms = running_elapsed_ms < 0 ? l.service_ms / 2
                                         : std::max(0.0, l.service_ms - running_elapsed_ms);
  l.expected_wait_ms =
      residual_ms + queued * per_row_ms / static_cast<double>(std::max<size_t>(1, instances));
  l.batch_occupancy = std::min(1.0, rows_ / std::max(1, max_batch_size));
  return l;
}

}  // namespace epara::engine
