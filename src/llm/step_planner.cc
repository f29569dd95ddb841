#include "llm/step_planner.h"

#include <algorithm>

#include "core/decision_counters.h"

namespace epara::llm {

StepPlan PlanStep(int running, int64_t reserved_bytes, const std::vector<WaitingSeq>& waiting,
                  const PlannerLimits& l, const std::vector<int>& prefill_remaining) {
  CountDecision(Decisions().plan_step);
  StepPlan plan;
  const int decoding = running - static_cast<int>(prefill_remaining.size());
  int budget = std::max(1, l.token_budget - decoding);
  for (int remaining : prefill_remaining) {
    const int chunk = std::min(remaining, budget);
    plan.running_chunk.push_back(chunk);
    budget -= chunk;
  }
  int64_t bytes = reserved_bytes;
  int admitted = 0;  // sequences, copies included
  for (const WaitingSeq& w : waiting) {
    const int64_t need =
        static_cast<int64_t>(w.prompt_tokens + w.max_new_tokens) * l.kv_bytes_per_token * w.copies;
    if (running + admitted + w.copies > l.max_running) break;
    if (bytes + need > l.kv_budget_bytes) break;
    if (budget <= 0) break;
    const int chunk = std::min(w.prompt_tokens, budget);
    bytes += need;
    budget -= chunk;
    plan.prefill_chunk.push_back(chunk);
    ++plan.admit;
    admitted += w.copies;
  }
  return plan;
}

int TpotTokenBudget(int token_budget, int decoding, double tpot_slo_ms, double decode_step_ms,
                    double prefill_ms_per_token) {
  if (tpot_slo_ms <= 0 || decoding <= 0 || decode_step_ms <= 0 || prefill_ms_per_token <= 0)
    return token_budget;
  const double room = (tpot_slo_ms - decode_step_ms) / prefill_ms_per_token;
  const int prompt = room > kMinSloChunk ? static_cast<int>(std::min(room, 1e9)) : kMinSloChunk;
  return static_cast<int>(std::min<int64_t>(token_budget, int64_t{decoding} + prompt));
}

int GroupRunningLimit(int max_running, int depth, int running_all, int waiting) {
  if (depth <= 1) return max_running;
  const int share = (max_running + depth - 1) / depth;
  const int even = (running_all + waiting + depth - 1) / depth;
  return std::max(1, std::min(share, even));
}

}  // namespace epara::llm
