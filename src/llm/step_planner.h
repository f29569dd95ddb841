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
  // Sequences sharing this prompt (choices of one request, "n"): the prompt runs once, but each
  // holds its own cache and counts against max_running. All are admitted together or none.
  int copies = 1;
};

struct StepPlan {
  int admit = 0;  // how many waiting sequences (FCFS) join this step
  // Per running sequence still prefilling (in the order given): its prompt tokens this step (0:
  // it sits this step out).
  std::vector<int> running_chunk;
  // Per admitted sequence: its first prompt chunk (its whole prompt when the budget allows).
  std::vector<int> prefill_chunk;
};

// Chunked prefill: of the `running` sequences (using `reserved_bytes` of KV memory), those not in
// `prefill_remaining` decode one token each; prefill_remaining lists, in arrival order, the prompt
// tokens still to run of those that are prefilling. The rest of the step's token budget goes to
// prompts in arrival order: first the running sequences' next chunks, then waiting sequences,
// admitted while (a) their reservation ((prompt + max_new_tokens) x copies) fits the KV budget, (b)
// budget tokens remain (their first chunk is what remains, up to their prompt), and (c) max_running
// allows. Admission stops at the first that does not fit (no overtaking: FCFS is kept). So a long
// prompt runs in chunks beside the decoding sequences instead of stalling them for its whole
// prefill. At least one prompt token runs per step when any prompt is pending.
StepPlan PlanStep(int running, int64_t reserved_bytes, const std::vector<WaitingSeq>& waiting,
                  const PlannerLimits& limits, const std::vector<int>& prefill_remaining = {});

// Pipeline micro-batch groups (LlmEngine with `depth` groups): the most sequences group may run
// after its next admission: its share of max_running, and no more than an even share of every
// sequence there is (running in any group, or waiting), rounded up -- so a burst of arrivals is
// spread over the groups and the pipeline's stages overlap, instead of the first group to launch
// taking every sequence while the others idle. At least 1. `depth` 1: max_running.
int GroupRunningLimit(int max_running, int depth, int running_all, int waiting);

// SLO-sized steps: the token budget for a step in which `decoding` sequences decode, so that its
// predicted time (decode_step_ms + prompt tokens x prefill_ms_per_token, llm/step_cost.h) stays
// within the running streams' time-per-output-token SLO. Prompts then prefill in chunks that fit
// between two of the streams' tokens; at least kMinSloChunk prompt tokens run per step (progress
// even when decoding alone misses the SLO). `token_budget` when tpot_slo_ms <= 0, nothing decodes,
// or the costs are not known yet. Never above token_budget.
inline constexpr int kMinSloChunk = 16;
int TpotTokenBudget(int token_budget, int decoding, double tpot_slo_ms, double decode_step_ms,
                    double prefill_ms_per_token);

}  // namespace epara::llm
