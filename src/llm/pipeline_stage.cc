#include "llm/pipeline_stage.h"

#include <string>

namespace epara::llm {

StageSession::StageSession(LlamaModel* model, std::mutex* model_mu, int64_t kv_budget_tokens,
                           std::shared_ptr<const void> owner)
    : owner_(std::move(owner)),
      model_(model),
      model_mu_(model_mu),
      budget_tokens_(kv_budget_tokens) {}

Status StageSession::Run(const StageStep& step, std::vector<float>* out) {
  for (uint64_t id : step.release) {
    auto it = caches_.find(id);
    if (it == caches_.end()) continue;
    reserved_tokens_ -= it->second->capacity();
    caches_.erase(it);
  }
  if (step.seqs.empty()) return InvalidArgument("a pipeline step without sequences");
  // Validate everything before any cache changes.
  int64_t new_tokens = 0;
  for (const StageStep::Seq& s : step.seqs) {
    auto it = caches_.find(s.id);
    const int have = it == caches_.end() ? 0 : it->second->length();
    if (it == caches_.end() && s.start != 0)
      return InvalidArgument("sequence " + std::to_string(s.id) + " is unknown at this stage (" +
                             "it starts at position " + std::to_string(s.start) +
                             "; its cache was lost with an earlier connection)");
    if (s.start != have)
      return InvalidArgument("sequence " + std::to_string(s.id) + " continues at position " +
                             std::to_string(s.start) + " but this stage holds " +
                             std::to_string(have) + " of its tokens");
    if (s.tokens.empty()) return InvalidArgument("a pipeline step sequence has no tokens");
    if (it == caches_.end()) {
      if (s.capacity < static_cast<int>(s.tokens.size()))
        return InvalidArgument("sequence " + std::to_string(s.id) + " asks for a cache of " +
                               std::to_string(s.capacity) + " tokens for " +
                               std::to_string(s.tokens.size()) + " tokens");
      new_tokens += s.capacity;
    }
  }
  if (reserved_tokens_ + new_tokens > budget_tokens_)
    return ResourceExhausted("this pipeline stage's KV cache holds " +
                             std::to_string(budget_tokens_) + " tokens; " +
                             std::to_string(reserved_tokens_) + " are reserved and the step asks " +
                             std::to_string(new_tokens) + " more");
  std::vector<std::unique_ptr<KvCache>> created;
  std::vector<LlamaModel::Chunk> chunks;
  for (const StageStep::Seq& s : step.seqs) {
    auto it = caches_.find(s.id);
    KvCache* cache = nullptr;
    if (it != caches_.end()) {
      cache = it->second.get();
    } else {
      created.push_back(model_->NewCache(s.capacity));
      cache = created.back().get();
    }
    chunks.push_back({s.tokens, cache});
  }
  Status st;
  {
    std::lock_guard<std::mutex> lock(*model_mu_);
    st = model_->ForwardStage(chunks, step.hidden, step.all_positions, out);
  }
  if (!st.ok()) return st;  // ForwardStage changed no cache; the new ones are dropped
  size_t next = 0;
  for (const StageStep::Seq& s : step.seqs)
    if (!caches_.count(s.id)) {
      reserved_tokens_ += s.capacity;
      caches_[s.id] = std::move(created[next++]);
    }
  return Status::Ok();
}

}  // namespace epara::llm
