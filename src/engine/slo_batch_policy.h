// SLO-aware batching (issue 5, FS-SD with LS priority), as a pure function over a queue snapshot.
//
//  - Latency-sensitive (LS) requests run before frequency-sensitive (FS) ones; FIFO within a class.
//  - The batch grows (in that order, up to max_batch_size rows) only while every member still meets
//    its deadline when the batch runs now: now + batch_ms(rows) <= deadline. A request that cannot
//    meet its deadline even alone still runs (best effort) but joins no one else's batch.
//  - Run now when: the batch is full, draining, an LS request is in it (LS never waits for
//  company),
//    the oldest member has waited max_queue_delay, or waiting for one more request would make a
//    member miss its deadline. Otherwise wake at the earliest of those moments.
// `batch_ms(rows)` predicts one batch's run time (from the profile or the recent batches).
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "engine/batch_policy.h"

namespace epara::engine {

struct QueuedRequest {
  int64_t rows = 1;
  Clock::time_point enqueued;
  Clock::time_point deadline = Clock::time_point::max();  // max: no SLO
  bool latency_sensitive = false;
};

struct SloBatchDecision {
  std::vector<size_t> take;  // queue indices to run now, in batch order; empty = wait
  Clock::time_point wake_at = Clock::time_point::max();
};

SloBatchDecision DecideSloBatch(std::span<const QueuedRequest> queue, Clock::time_point now,
                                const BatchingConfig& config,
                                const std::function<double(int64_t rows)>& batch_ms, bool draining);

}  // namespace epara::engine
