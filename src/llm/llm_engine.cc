#include "llm/llm_engine.h"

#include <algorithm>
#include <chrono>

#include "core/pending_compute.h"
#include "core/thread_name.h"

namespace epara::llm {

using Clock = std::chrono::steady_clock;

struct LlmEngine::Sequence {
  GenerationRequest req;
  std::function<void(GenerationResult)> on_done;
  std::unique_ptr<KvCache> cache;
  std::mt19937_64 rng;
  Utf8Assembler utf8;
  std::string held;  // decoded text not yet released (it may still become a stop string)
  int64_t reserved = 0;
  bool prefilled = false;
  bool done = false;
  int32_t last_token = 0;
  Clock::time_point submitted;
  GenerationResult result;
};

Status LlmEngine::Create(std::unique_ptr<LlamaModel> model, std::unique_ptr<Tokenizer> tokenizer,
                         const EngineOptions& options, std::unique_ptr<LlmEngine>* out) {
  if (tokenizer->vocab_size() > model->config().vocab_size)
    return InvalidArgument("tokenizer has " + std::to_string(tokenizer->vocab_size()) +
                           " ids, the model " + std::to_string(model->config().vocab_size));
  std::unique_ptr<LlmEngine> e(new LlmEngine());
  e->limits_.kv_budget_bytes = options.kv_budget_bytes;
  e->limits_.kv_bytes_per_token = model->kv_bytes_per_token();
  e->limits_.token_budget = options.token_budget;
  e->limits_.max_running = options.max_running;
  e->model_ = std::move(model);
  e->tokenizer_ = std::move(tokenizer);
  e->options_ = options;
  e->worker_ = std::thread([p = e.get()] {
    SetCurrentThreadName("ep-llm");
    p->Loop();
  });
  *out = std::move(e);
  return Status::Ok();
}

LlmEngine::~LlmEngine() { Shutdown(); }

Status LlmEngine::Submit(GenerationRequest request, std::function<void(GenerationResult)> on_done) {
  if (request.prompt.empty()) return InvalidArgument("the prompt is empty");
  if (request.max_tokens < 1) return InvalidArgument("max_tokens must be at least 1");
  const int context = model_->config().max_position_embeddings;
  const int64_t total = static_cast<int64_t>(request.prompt.size()) + request.max_tokens;
  if (total > context)
    return InvalidArgument("prompt (" + std::to_string(request.prompt.size()) +
                           " tokens) + max_tokens (" + std::to_string(request.max_tokens) +
                           ") exceeds the model's context of " + std::to_string(context) +
                           " tokens");
  const int64_t need = total * limits_.kv_bytes_per_token;
  if (need > limits_.kv_budget_bytes)
    return InvalidArgument("the request needs " + std::to_string(need >> 20) +
                           " MB of KV cache; the instance has " +
                           std::to_string(limits_.kv_budget_bytes >> 20) + " MB");
  auto s = std::make_unique<Sequence>();
  s->rng.seed(request.seed);
  s->result.prompt_tokens = static_cast<int>(request.prompt.size());
  s->req = std::move(request);
  s->on_done = std::move(on_done);
  s->submitted = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Unavailable("the model is shutting down");
    if (static_cast<int>(waiting_.size()) >= options_.max_waiting)
      return ResourceExhausted("too many requests waiting (" +
                               std::to_string(options_.max_waiting) + ")");
    waiting_.push_back(std::move(s));
  }
  cv_.notify_one();
  return Status::Ok();
}

void LlmEngine::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

EngineStats LlmEngine::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {running_count_, static_cast<int>(waiting_.size()), reserved_bytes_};
}

void LlmEngine::Finish(Sequence& s, const std::string& reason, Status status) {
  s.done = true;
  s.result.status = std::move(status);
  s.result.finish_reason = reason;
  s.result.total_seconds = std::chrono::duration<double>(Clock::now() - s.submitted).count();
}

bool LlmEngine::Emit(Sequence& s, int32_t token) {
  auto deliver = [&](const std::string& text) {
    if (text.empty()) return true;
    s.result.text += text;
    if (s.req.on_delta && !s.req.on_delta(text)) {
      Finish(s, "cancelled");
      return false;
    }
    return true;
  };
  if (s.result.completion_tokens == 0)
    s.result.ttft_seconds = std::chrono::duration<double>(Clock::now() - s.submitted).count();
  ++s.result.completion_tokens;
  const auto& eos = model_->config().eos_token_ids;
  if (!s.req.ignore_eos &&
      (token == tokenizer_->eos_id() || std::find(eos.begin(), eos.end(), token) != eos.end())) {
    if (deliver(s.held + s.utf8.Flush())) Finish(s, "stop");
    return false;
  }
  s.held += s.utf8.Push(tokenizer_->Piece(token));
  for (const std::string& stop : s.req.stop) {
    if (stop.empty()) continue;
    const size_t pos = s.held.find(stop);
    if (pos != std::string::npos) {
      if (deliver(s.held.substr(0, pos))) Finish(s, "stop");
      return false;
    }
  }
  // Hold back the longest tail that could still grow into a stop string.
  size_t keep = 0;
  for (const std::string& stop : s.req.stop) {
    if (stop.empty()) continue;
    for (size_t k = std::min(stop.size() - 1, s.held.size()); k > keep; --k)
      if (s.held.compare(s.held.size() - k, k, stop, 0, k) == 0) {
        keep = k;
        break;
      }
  }
  const std::string ready = s.held.substr(0, s.held.size() - keep);
  s.held.erase(0, s.held.size() - keep);
  if (!deliver(ready)) return false;
  if (s.result.completion_tokens >= s.req.max_tokens) {
    if (deliver(s.held + s.utf8.Flush())) Finish(s, "length");
    return false;
  }
  return true;
}

void LlmEngine::Loop() {
  std::vector<float> logits;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !waiting_.empty() || !running_.empty(); });
      if (stopping_ && waiting_.empty() && running_.empty()) return;
      std::vector<WaitingSeq> snapshot;
      for (const auto& w : waiting_)
        snapshot.push_back({static_cast<int>(w->req.prompt.size()), w->req.max_tokens});
      const StepPlan plan =
          PlanStep(static_cast<int>(running_.size()), reserved_bytes_, snapshot, limits_);
      for (int i = 0; i < plan.admit; ++i) {
        std::unique_ptr<Sequence> s = std::move(waiting_.front());
        waiting_.pop_front();
        s->reserved = static_cast<int64_t>(s->req.prompt.size() + s->req.max_tokens) *
                      limits_.kv_bytes_per_token;
        reserved_bytes_ += s->reserved;
        running_.push_back(std::move(s));
      }
      running_count_ = static_cast<int>(running_.size());
    }
    if (running_.empty()) continue;
    for (auto& s : running_)
      if (!s->cache)
        s->cache = model_->NewCache(static_cast<int>(s->req.prompt.size()) + s->req.max_tokens);
    std::vector<LlamaModel::Chunk> chunks;
    for (auto& s : running_)
      chunks.push_back(s->prefilled
                           ? LlamaModel::Chunk{std::span(&s->last_token, 1), s->cache.get()}
                           : LlamaModel::Chunk{s->req.prompt, s->cache.get()});
    Status st;
    {
      ScopedPendingCompute computing;
      st = model_->ForwardBatch(chunks, /*all_positions=*/false, &logits);
    }
    const size_t vocab = static_cast<size_t>(model_->config().vocab_size);
    for (size_t i = 0; i < running_.size(); ++i) {
      Sequence& s = *running_[i];
      if (!st.ok()) {
        Finish(s, "error", st);
        continue;
      }
      s.prefilled = true;
      s.last_token =
          SampleToken(std::span(logits.data() + i * vocab, vocab), s.req.sampling, s.rng);
      Emit(s, s.last_token);
    }
    // Finished sequences leave now and free their cache.
    int64_t freed = 0;
    std::vector<std::unique_ptr<Sequence>> finished;
    for (auto& s : running_)
      if (s->done) {
        freed += s->reserved;
        finished.push_back(std::move(s));
      }
    running_.erase(std::remove(running_.begin(), running_.end(), nullptr), running_.end());
    {
      std::lock_guard<std::mutex> lock(mu_);
      reserved_bytes_ -= freed;
      running_count_ = static_cast<int>(running_.size());
    }
    for (auto& s : finished) {
      s->cache.reset();
      s->on_done(std::move(s->result));
    }
  }
}

}  // namespace epara::llm
