#include "engine/slo_batch_policy.h"

#include "core/decision_counters.h"

#include <algorithm>

namespace epara::engine {
namespace {

Clock::duration Ms(double ms) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(ms));
}

}  // namespace

SloBatchDecision DecideSloBatch(std::span<const QueuedRequest> queue, Clock::time_point now,
                                const BatchingConfig& config,
                                const std::function<double(int64_t rows)>& batch_ms,
                                bool draining) {
  CountDecision(Decisions().decide_slo_batch);
  SloBatchDecision d;
  if (queue.empty()) return d;
  // Candidates: LS first, then FS, each oldest first (stable: the queue is in arrival order).
  std::vector<size_t> order(queue.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_partition(order.begin(), order.end(),
                        [&](size_t i) { return queue[i].latency_sensitive; });
  const int64_t max_rows = std::max(1, config.max_batch_size);
  // The first candidate always runs; others join while every member keeps its deadline.
  d.take.push_back(order[0]);
  int64_t rows = queue[order[0]].rows;
  Clock::time_point tightest = queue[order[0]].deadline;
  const bool first_can_meet = now + Ms(batch_ms(rows)) <= tightest;
  bool full = false;
  if (config.max_batch_size > 0 && first_can_meet) {
    for (size_t k = 1; k < order.size(); ++k) {
      const QueuedRequest& q = queue[order[k]];
      if (rows + q.rows > max_rows) {
        full = true;
        break;
      }
      const Clock::time_point t = std::min(tightest, q.deadline);
      if (now + Ms(batch_ms(rows + q.rows)) > t) {
        full = true;  // a larger batch would make someone late: run what we have
        break;
      }
      d.take.push_back(order[k]);
      rows += q.rows;
      tightest = t;
    }
  }
  if (config.max_batch_size <= 0 || rows >= max_rows) full = true;
  bool has_ls = false;
  Clock::time_point oldest = Clock::time_point::max();
  for (size_t i : d.take) {
    has_ls = has_ls || queue[i].latency_sensitive;
    oldest = std::min(oldest, queue[i].enqueued);
  }
  const Clock::time_point delay_end = oldest + std::chrono::microseconds(config.max_queue_delay_us);
  // The latest moment one more row could still join without making a member late.
  const Clock::time_point last_start = tightest == Clock::time_point::max()
                                           ? Clock::time_point::max()
                                           : tightest - Ms(batch_ms(std::min(rows + 1, max_rows)));
  if (full || draining || has_ls || !first_can_meet || now >= delay_end || now >= last_start)
    return d;
  d.take.clear();
  d.wake_at = std::min(delay_end, last_start);
  return d;
}

}  // namespace epara::engine
