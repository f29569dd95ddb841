// A process-wide count of model work admitted and not yet computed: requests from the moment a
// scheduler accepts them until their batch has run, and LLM engine steps while they run.
//
// Request work consults it (api/server_context.h, RunRequestWork): with nothing pending there is
// no model to yield the cores to, so the work runs at once on the calling thread instead of paying
// a hand-off to the background pool (light load keeps its latency). Under load something is
// always pending: requests wait in a queue while a batch runs, so the work goes to the pool even
// in the instant between two batches. Relaxed atomics: the answer is a hint, not a lock.
#pragma once

namespace epara {

// Adds `delta` (negative to remove) to the pending count.
void AddPendingCompute(int delta);
// Model work pending now, process-wide.
int PendingCompute();

// Counts one unit of pending work for the scope's lifetime (an LLM engine step).
class ScopedPendingCompute {
 public:
  ScopedPendingCompute() { AddPendingCompute(1); }
  ~ScopedPendingCompute() { AddPendingCompute(-1); }
  ScopedPendingCompute(const ScopedPendingCompute&) = delete;
  ScopedPendingCompute& operator=(const ScopedPendingCompute&) = delete;
};

}  // namespace epara
