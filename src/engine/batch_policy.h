// Dynamic batching policy as a pure function over a snapshot of the queue: no clock, no threads,
// so the real scheduler, unit tests and a simulator share it.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>

#include "repo/model_descriptor.h"

namespace epara::engine {

using Clock = std::chrono::steady_clock;

struct BatchDecision {
  size_t take = 0;  // requests to take from the queue front now; 0 = wait
  Clock::time_point wake_at = Clock::time_point::max();  // when to decide again if take == 0
};

// `rows` are the batch rows of each queued request, oldest first; `oldest_enqueued` is when the
// front request arrived. Rules (Triton's dynamic batcher without preferred sizes):
//  - batching off (max_batch_size == 0): take one request at a time;
//  - take as many front requests as fit in max_batch_size rows (always at least one);
//  - run now if the batch is full (the next request would not fit, or rows == max), if the front
//    request has waited max_queue_delay, or if `draining` (shutdown: no waiting);
//  - otherwise wait until front arrival + max_queue_delay.
BatchDecision DecideBatch(std::span<const int64_t> rows, Clock::time_point oldest_enqueued,
                          Clock::time_point now, const BatchingConfig& config, bool draining);

}  // namespace epara::engine
