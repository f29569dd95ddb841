// Pipeline parallelism for LLMs (issue 5): a model's decoder layers split into contiguous ranges
// on several nodes. The first stage (the head) runs the LlmEngine: it admits sequences, embeds
// their tokens, runs its layers and hands the hidden states to a StageLink, which carries them
// through the later stages; the last stage returns logits and the head samples. Every stage keeps
// the KV cache of its own layers for every sequence in flight (a StageSession).
//
// The head keeps several micro-batches ("groups") in flight, so while stage 2 runs one group's
// layers, stage 1 runs the next's: the stages overlap (llm_engine.h, AttachPipeline).
//
// These types are transport-neutral; peer/stage_link_client.h carries them over gRPC.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/status.h"
#include "llm/llama_model.h"

namespace epara::llm {

// One engine step of one micro-batch, as the next stage receives it.
struct StageStep {
  uint64_t step_id = 0;
  struct Seq {
    uint64_t id = 0;   // unique per head (and connection)
    int start = 0;     // position of tokens[0] (the stage's cache must hold exactly this many)
    int capacity = 0;  // cache size to allocate when the stage first sees the sequence
    std::vector<int32_t> tokens;
  };
  std::vector<Seq> seqs;
  std::vector<float> hidden;   // [sum of tokens, hidden_size], row-major
  bool all_positions = false;  // the last stage's logits: every position, or each sequence's last
  std::vector<uint64_t> release;  // sequences that ended at the head: free their caches first
};

struct StageResult {
  uint64_t step_id = 0;
  Status status;
  std::vector<float> logits;  // [rows, vocab] as LlamaModel::ForwardBatch writes them
};

// The rest of the pipeline, seen from one stage (the head, or a middle stage relaying onwards).
class StageLink {
 public:
  // Fails every step still pending: each pending `done` has run when the destructor returns.
  virtual ~StageLink() = default;
  // Sends `step` on; `done` runs exactly once, on another thread, with the last stage's logits or
  // the error (Unavailable when the next stage cannot be reached or its connection broke: the
  // later stages' caches are then gone). Steps are answered in the order they were sent.
  virtual void Send(StageStep step, std::function<void(StageResult)> done) = 0;
};

// What one upstream connection owns at a stage: the KV caches of its sequences (all freed with
// the session, so a head that dies or reconnects leaks nothing). Not thread-safe: one session per
// connection, used by that connection's reader. `model_mu` serializes the model across sessions.
class StageSession {
 public:
  // `kv_budget_tokens`: how many tokens of context all of this session's caches may hold.
  // `owner` (optional): what `model` and `model_mu` belong to, kept alive for the session's life
  // (a stage unloaded at run time stays until the streams through it have ended).
  StageSession(LlamaModel* model, std::mutex* model_mu, int64_t kv_budget_tokens,
               std::shared_ptr<const void> owner = nullptr);

  // Frees step.release, then runs the step's tokens through this stage: `out` receives hidden
  // states for the next stage, or logits on the last stage. Errors leave no cache changed:
  // InvalidArgument (a sequence's start does not match its cache, hidden of the wrong size, an
  // unknown sequence not starting at 0), ResourceExhausted (the KV budget is full).
  Status Run(const StageStep& step, std::vector<float>* out);

  int sequences() const { return static_cast<int>(caches_.size()); }
  int64_t reserved_tokens() const { return reserved_tokens_; }

 private:
  std::shared_ptr<const void> owner_;  // declared first: destroyed after the caches
  LlamaModel* model_;
  std::mutex* model_mu_;
  int64_t budget_tokens_;
  int64_t reserved_tokens_ = 0;
  std::map<uint64_t, std::unique_ptr<KvCache>> caches_;
};

}  // namespace epara::llm
