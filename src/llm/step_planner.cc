#include "llm/step_planner.h"

#include "core/decision_counters.h"

namespace epara::llm {

StepPlan PlanStep(int running, int64_t reserved_bytes, const std::vector<WaitingSeq>& waiting,
                  const PlannerLimits& l) {
  CountDecision(Decisions().plan_step);
  StepPlan plan;
  int tokens = running;
  int64_t bytes = reserved_bytes;
  for (const WaitingSeq& w : waiting) {
    const int64_t need =
        static_cast<int64_t>(w.prompt_tokens + w.max_new_tokens) * l.kv_bytes_per_token;
    if (running + plan.admit >= l.max_running) break;
    if (bytes + need > l.kv_budget_bytes) break;
    // A prompt longer than the whole budget still runs, alone, so it is never starved.
    if (tokens + w.prompt_tokens > l.token_budget && !(tokens == 0 && plan.admit == 0)) break;
    bytes += need;
    tokens += w.prompt_tokens;
    plan.prefill_chunk.push_back(w.prompt_tokens);
    ++plan.admit;
  }
  return plan;
}

}  // namespace epara::llm
