// Continuous-batching step planning as a pure function over a snapshot of the engine's sequences
// (no clock, no threads), so a simulator can reuse it.
#pragma once

#include <cstdint>
#include <vector>

namespace epara::llm {

struct PlannerLimits {
  int64_t kv_budget_bytes = 0;  // memory all sequences' caches may hold together
  int64_t kv_bytes_per_token = 0;
  int token_budget = 2048;  // tokens per step (prefill + decode)
  int max_running = 64;     // sequences in flight
};

struct WaitingSeq {
  int prompt_tokens = 0;
  int max_new_tokens = 0;  // its cache is reserved for prompt + max_new_tokens
};

struct StepPlan {
  int admit = 0;  // how many waiting sequences (FCFS) join this step with their whole prompt
  std::vector<int>
      prefill_chunk;  // per admitted sequence: prompt tokens run this step (== its prompt)
};

// Every running sequence decodes one token (`running` of them, using `reserved_bytes` of KV memory
// already). Then waiting sequences are admitted in arrival order while (a) their reservation fits
// the remaining KV budget, (b) their prompt fits the remaining token budget, and (c) max_running
// allows. Admission stops at the first that does not fit (no overtaking: FCFS is kept).
StepPlan PlanStep(int running, int64_t reserved_bytes, const std::vector<WaitingSeq>& waiting,
                  const PlannerLimits& limits);

}  // namespace epara::llm
