#include "engine/batch_cost.h"

#include <algorithm>

namespace epara::engine {

void BatchCost::Observe(double batch_seconds, int64_t rows) {
  batch_s_ = batch_s_ == 0 ? batch_seconds : batch_s_ + kWeight * (batch_seconds - batch_s_);
  const double r = static_cast<double>(rows);
  rows_ = rows_ == 0 ? r : rows_ + kWeight * (r - rows_);
}

QueueLoad BatchCost::Load(uint32_t queued, uint32_t in_flight, int max_batch_size,
                          size_t instances) const {
  QueueLoad l;
  l.queued = queued;
  l.in_flight = in_flight;
  l.service_ms = batch_ms();
  const double per_row_ms = l.service_ms / std::max(1.0, rows_);
  l.expected_wait_ms = (in_flight > 0 ? l.service_ms / 2 : 0) +
                       queued * per_row_ms / static_cast<double>(std::max<size_t>(1, instances));
  l.batch_occupancy = std::min(1.0, rows_ / std::max(1, max_batch_size));
  return l;
}

}  // namespace epara::engine
