// LlmEngine: serves one LLM with continuous batching. One worker thread runs steps: every running
// sequence decodes a token, waiting sequences join (PlanStep) and run their prompt in chunks within
// the step's token budget (chunked prefill: a long prompt does not stall the decoding sequences),
// finished or cancelled sequences leave at once and free their KV cache.
//
// Lifecycle: Create [-> AttachPipeline] -> Submit* -> Shutdown (stops admission, cancels
// nothing: every accepted request runs to its end and gets on_done exactly once).
//
// Pipeline head (llm/pipeline_stage.h): when the model holds only the first layers, the engine
// sends each step's hidden states through a StageLink and samples from the logits that come back.
// The running sequences are then split into `depth` micro-batch groups, each stepping on its own,
// so that up to `depth` steps are in flight at once and the stages overlap.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "llm/chat_template.h"
#include "llm/llama_model.h"
#include "llm/pipeline_stage.h"
#include "llm/sampler.h"
#include "llm/step_cost.h"
#include "llm/step_planner.h"
#include "llm/tokenizer.h"

namespace epara::llm {

struct GenerationRequest {
  std::vector<int32_t> prompt;  // token ids, BOS included if the model wants one
  int max_tokens = 16;
  SamplingParams sampling;
  uint64_t seed = 0;
  std::vector<std::string> stop;  // generation ends before any of these strings
  bool ignore_eos = false;        // keep generating past EOS until max_tokens (vLLM's extension)
  // >= 0: record each generated token's log-probability and this many alternatives
  // (GenerationResult::logprobs); -1: none.
  int logprobs = -1;
  // Called on the engine thread with each new piece of text (never splits a UTF-8 character or
  // emits a prefix of a stop string that might still match) and, when logprobs >= 0, the entries
  // of the tokens sampled since the previous call (those whose text is held back come later; any
  // left at the end are GenerationResult::logprobs past the ones delivered). Return false to
  // cancel.
  std::function<bool(const std::string& delta, std::span<const TokenLogprob> logprobs)> on_delta;
  // A sequence still waiting for admission when this passes ends with DeadlineExceeded, having
  // run nothing: its client has given up (the API's X-Epara-Deadline-Ms), and an overload's
  // backlog is not prefilled for nobody. Default: none.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // Whether its client is still there (a stream's connection, api/stream_pipe.h). Asked on the
  // engine thread while it waits, at most every kClientCheckInterval across the queue: a sequence
  // whose client went away ends with Cancelled, having run nothing (what vLLM does on a
  // disconnect; the deadline above covers clients that say how long they wait). Must be cheap and
  // must not call into the engine. Empty: never asked.
  std::function<bool()> still_wanted;
};

struct GenerationResult {
  Status status;
  std::string text;
  std::string finish_reason;  // "stop" (EOS or stop string), "length", "cancelled"
  int prompt_tokens = 0;
  int completion_tokens = 0;
  std::vector<TokenLogprob> logprobs;  // one per completion token when the request asked
  double ttft_seconds = 0;
  double total_seconds = 0;
};

struct EngineOptions {
  int64_t kv_budget_bytes = 256ll << 20;
  int token_budget = 2048;
  // > 0: steps with decoding streams are sized to this time per output token (TpotTokenBudget:
  // prompts prefill in chunks that fit between two tokens of the streams); 0: token_budget only.
  double tpot_slo_ms = 0;
  int max_running = 64;
  int max_waiting = 256;
};

struct EngineStats {
  int running = 0;
  int waiting = 0;
  int64_t kv_reserved_bytes = 0;
  // Prompt tokens still to prefill ahead of a new sequence: the waiting sequences' and those of
  // the step running now (it started them; a new sequence waits for it to finish).
  int64_t waiting_prompt_tokens = 0;
  double prefill_ms_per_token = 0;  // StepCost of this engine's recent steps (0: none yet)
  double decode_step_ms = 0;
  int max_step_tokens = 0;  // the most tokens (prompt chunks + decode tokens) any step has run
  int64_t prompt_tokens_run = 0;  // prompt tokens computed since the start (a shared one once)
};

class LlmEngine {
 public:
  static Status Create(std::unique_ptr<LlamaModel> model, std::unique_ptr<Tokenizer> tokenizer,
                       const EngineOptions& options, std::unique_ptr<LlmEngine>* out);
  ~LlmEngine();  // Shutdown()

  // Accepts the request: `on_done` runs exactly once, on the engine thread. Errors (nothing
  // called): InvalidArgument (empty prompt, max_tokens < 1, prompt + max_tokens beyond the context
  // or the whole KV budget), ResourceExhausted (waiting queue full), Unavailable (shutting down).
  Status Submit(GenerationRequest request, std::function<void(GenerationResult)> on_done);
  // Several choices of one prompt ("n"): requests[i] answers through on_done[i]. All are accepted
  // or none (the same errors as Submit, with the whole KV need counted). The prompt runs once:
  // when it has, every other choice starts from a copy of its cache and samples its first token
  // from the same logits with its own seed, so each choice equals what Submit alone would give
  // it. On a pipeline head (caches on other stages) each choice runs its own prompt.
  // REQUIRES: requests non-empty, of equal prompts, on_done of the same size.
  Status SubmitChoices(std::vector<GenerationRequest> requests,
                       std::vector<std::function<void(GenerationResult)>> on_done);
  // Makes this engine a pipeline head: `link` carries its model's output to the later stages.
  // REQUIRES: before the first Submit; the model is a first stage and not the last. depth >= 1.
  // A head without a link answers every Submit with Unavailable.
  void AttachPipeline(std::unique_ptr<StageLink> link, int depth);
  void Shutdown();

  const Tokenizer& tokenizer() const { return *tokenizer_; }
  // How chat messages become a prompt for this model (set before serving; default kEpara).
  const ChatTemplate& chat_template() const { return chat_template_; }
  void set_chat_template(ChatTemplate t) { chat_template_ = std::move(t); }
  const LlamaModel& model() const { return *model_; }
  EngineStats stats() const;
  // Emulates a slower device (the testbed's `cpu_quota`, as backend/throttled_instance.h does for
  // the other models): after a step that computed for t the engine pauses t * (1 / quota - 1).
  // 1 (the default): full speed. REQUIRES: 0 < quota <= 1.
  void set_cpu_quota(double quota) { cpu_quota_.store(quota); }
  int64_t kv_budget_bytes() const { return limits_.kv_budget_bytes; }

 private:
  struct Sequence;
  struct Group {  // a micro-batch (the only one without a pipeline)
    std::vector<std::unique_ptr<Sequence>> running;
    // The sequences of its current step, in step order, with their prompt tokens in it (0 for a
    // decode token): a prefilling sequence may sit a step out, or run a chunk of its prompt.
    std::vector<std::pair<Sequence*, int>> stepped;
    bool in_flight = false;  // its step is in the later stages
    // A pipeline head's step in flight: when it was launched and what it ran (the head learns the
    // whole step, its stages and hops included: what its sequences see per token).
    std::chrono::steady_clock::time_point launched;
    int decode_seqs = 0, prefill_tokens = 0;
  };
  LlmEngine() = default;
  void Loop();
  bool Launchable() const;  // REQUIRES: mu_ held; some idle group has work
  bool Idle() const;        // REQUIRES: mu_ held; nothing waiting, running or in flight
  // Admits waiting sequences into group `g` and runs its next step (to the link, or to the end).
  void Launch(int g);
  // Answers and removes the waiting sequences whose deadline has passed or whose client went away
  // (GenerationRequest::still_wanted). Engine thread.
  void ExpireWaiting();
  static constexpr std::chrono::milliseconds kClientCheckInterval{100};
  std::chrono::steady_clock::time_point last_client_check_{};  // engine thread
  // Samples every sequence of group `g` from `logits` (or fails them all with `st`), then removes
  // and answers the finished ones.
  void Complete(int g, const Status& st, const std::vector<float>& logits);
  // Appends a token's text to the sequence; returns false when the sequence has finished.
  bool Emit(Sequence& s, int32_t token);
  // Checks a request against the model and the KV budget.
  Status Validate(const GenerationRequest& request) const;
  std::unique_ptr<Sequence> NewSequence(GenerationRequest request,
                                        std::function<void(GenerationResult)> on_done);
  // KV bytes reserved for one sequence: its prompt + max_tokens.
  int64_t ReservationOf(const Sequence& s) const;
  // Samples s's next token from `row`, records its log-probabilities, and emits it.
  void Sample(Sequence& s, std::span<const float> row);
  void Finish(Sequence& s, const std::string& reason, Status status = Status::Ok());

  std::unique_ptr<LlamaModel> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  ChatTemplate chat_template_;
  EngineOptions options_;
  PlannerLimits limits_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Sequence>> waiting_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                          // GUARDED_BY(mu_)
  int running_count_ = 0;                          // GUARDED_BY(mu_), mirror for stats
  int64_t reserved_bytes_ = 0;                     // GUARDED_BY(mu_)
  int64_t waiting_prompt_tokens_ = 0;              // GUARDED_BY(mu_)
  int64_t stepping_prompt_tokens_ = 0;             // GUARDED_BY(mu_): in the step running now
  int max_step_tokens_ = 0;                        // GUARDED_BY(mu_)
  int64_t prompt_tokens_run_ = 0;                  // GUARDED_BY(mu_)
  StepCost cost_;                                  // GUARDED_BY(mu_)
  std::atomic<double> cpu_quota_{1.0};
  bool admission_blocked_ = false;   // GUARDED_BY(mu_): the waiting head fits no idle group
  std::vector<Group> groups_;        // engine thread only (after start)
  std::unique_ptr<StageLink> link_;  // set before serving; null: whole model
  std::vector<std::pair<int, StageResult>> completed_;  // GUARDED_BY(mu_): group, result
  std::vector<uint64_t> released_;  // engine thread: finished sequences the stages still hold
  uint64_t next_seq_id_ = 1, next_step_id_ = 1;  // engine thread
  std::thread worker_;
};

}  // namespace epara::llm
