#include "engine/batch_policy.h"

#include "core/decision_counters.h"

namespace epara::engine {

BatchDecision DecideBatch(std::span<const int64_t> rows, Clock::time_point oldest_enqueued,
                          Clock::time_point now, const BatchingConfig& config, bool draining) {
  CountDecision(Decisions().decide_batch);
  BatchDecision d;
  if (rows.empty()) return d;
  if (config.max_batch_size <= 0) {
    d.take = 1;
    return d;
  }
  int64_t total = 0;
  size_t fit = 0;
  while (fit < rows.size() && (fit == 0 || total + rows[fit] <= config.max_batch_size))
    total += rows[fit++];
  const bool full = total >= config.max_batch_size || fit < rows.size();
  const Clock::time_point deadline =
      oldest_enqueued + std::chrono::microseconds(config.max_queue_delay_us);
  if (full || draining || now >= deadline) {
    d.take = fit;
  } else {
    d.wake_at = deadline;
  }
  return d;
}

}  // namespace epara::engine
