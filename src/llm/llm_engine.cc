#include "llm/llm_engine.h"

#include <algorithm>
#include <chrono>
#include <thread>

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
  size_t logprobs_delivered = 0;  // result.logprobs entries already passed to on_delta
  int64_t reserved = 0;
  int prompt_done = 0;     // prompt tokens already run (chunked prefill)
  bool prefilled = false;  // the whole prompt has run and the first token was sampled
  bool done = false;
  uint64_t id = 0;  // names its caches at the later pipeline stages
  int32_t last_token = 0;
  Clock::time_point submitted;
  GenerationResult result;
  // The other choices of its prompt (SubmitChoices): admitted with it (its `reserved` counts
  // theirs until then), forked from its cache when its prompt has run.
  std::vector<std::unique_ptr<Sequence>> followers;
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
  e->groups_.resize(1);
  e->worker_ = std::thread([p = e.get()] {
    SetCurrentThreadName("ep-llm");
    p->Loop();
  });
  *out = std::move(e);
  return Status::Ok();
}

LlmEngine::~LlmEngine() { Shutdown(); }

Status LlmEngine::Validate(const GenerationRequest& request) const {
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
  if (!model_->is_last_stage()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!link_)
      return Unavailable("this instance holds the first " + std::to_string(model_->end_layer()) +
                         " layers of a pipeline and is not connected to its other stages");
  }
  return Status::Ok();
}

std::unique_ptr<LlmEngine::Sequence> LlmEngine::NewSequence(
    GenerationRequest request, std::function<void(GenerationResult)> on_done) {
  auto s = std::make_unique<Sequence>();
  s->rng.seed(request.seed);
  s->result.prompt_tokens = static_cast<int>(request.prompt.size());
  s->req = std::move(request);
  s->on_done = std::move(on_done);
  s->submitted = Clock::now();
  return s;
}

Status LlmEngine::Submit(GenerationRequest request, std::function<void(GenerationResult)> on_done) {
  std::vector<GenerationRequest> requests;
  requests.push_back(std::move(request));
  std::vector<std::function<void(GenerationResult)>> done;
  done.push_back(std::move(on_done));
  return SubmitChoices(std::move(requests), std::move(done));
}

Status LlmEngine::SubmitChoices(std::vector<GenerationRequest> requests,
                                std::vector<std::function<void(GenerationResult)>> on_done) {
  const int n = static_cast<int>(requests.size());
  bool pipelined = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pipelined = link_ != nullptr;
  }
  int64_t together = 0;  // the choices' caches, all held at once while they share the prompt
  for (const GenerationRequest& r : requests) {
    EPARA_RETURN_IF_ERROR(Validate(r));
    together += static_cast<int64_t>(r.prompt.size() + r.max_tokens) * limits_.kv_bytes_per_token;
  }
  if (!pipelined && together > limits_.kv_budget_bytes)
    return InvalidArgument("the " + std::to_string(n) + " choices need " +
                           std::to_string(together >> 20) + " MB of KV cache together; the " +
                           "instance has " + std::to_string(limits_.kv_budget_bytes >> 20) + " MB");
  // Without a pipeline the first choice leads and the others follow its prompt; on a pipeline
  // head every choice is a sequence of its own (its caches on the later stages are its own).
  std::vector<std::unique_ptr<Sequence>> seqs;
  for (int i = 0; i < n; ++i) {
    auto s = NewSequence(std::move(requests[i]), std::move(on_done[i]));
    if (i > 0 && !pipelined)
      seqs[0]->followers.push_back(std::move(s));
    else
      seqs.push_back(std::move(s));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Unavailable("the model is shutting down");
    if (static_cast<int>(waiting_.size() + seqs.size()) > options_.max_waiting)
      return ResourceExhausted("too many requests waiting (" +
                               std::to_string(options_.max_waiting) + ")");
    for (auto& s : seqs) {
      waiting_prompt_tokens_ += static_cast<int64_t>(s->req.prompt.size());
      waiting_.push_back(std::move(s));
    }
    admission_blocked_ = false;
  }
  cv_.notify_one();
  return Status::Ok();
}

void LlmEngine::AttachPipeline(std::unique_ptr<StageLink> link, int depth) {
  std::lock_guard<std::mutex> lock(mu_);
  link_ = std::move(link);
  groups_.resize(static_cast<size_t>(std::max(1, depth)));
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
  return {running_count_,
          static_cast<int>(waiting_.size()),
          reserved_bytes_,
          waiting_prompt_tokens_ + stepping_prompt_tokens_,
          cost_.prefill_ms_per_token(),
          cost_.decode_step_ms(),
          max_step_tokens_,
          prompt_tokens_run_};
}

void LlmEngine::Finish(Sequence& s, const std::string& reason, Status status) {
  s.done = true;
  s.result.status = std::move(status);
  s.result.finish_reason = reason;
  s.result.total_seconds = std::chrono::duration<double>(Clock::now() - s.submitted).count();
}

int64_t LlmEngine::ReservationOf(const Sequence& s) const {
  return static_cast<int64_t>(s.req.prompt.size() + s.req.max_tokens) * limits_.kv_bytes_per_token;
}

void LlmEngine::Sample(Sequence& s, std::span<const float> row) {
  s.last_token = SampleToken(row, s.req.sampling, s.rng);
  if (s.req.logprobs >= 0)
    s.result.logprobs.push_back(LogprobsOf(row, s.last_token, s.req.logprobs));
  Emit(s, s.last_token);
}

bool LlmEngine::Emit(Sequence& s, int32_t token) {
  auto deliver = [&](const std::string& text) {
    if (text.empty()) return true;
    s.result.text += text;
    const std::span<const TokenLogprob> lps =
        std::span<const TokenLogprob>(s.result.logprobs).subspan(s.logprobs_delivered);
    s.logprobs_delivered = s.result.logprobs.size();
    if (s.req.on_delta && !s.req.on_delta(text, lps)) {
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

bool LlmEngine::Launchable() const {
  for (const Group& g : groups_)
    if (!g.in_flight && (!g.running.empty() || (!waiting_.empty() && !admission_blocked_)))
      return true;
  return false;
}

bool LlmEngine::Idle() const {
  if (!waiting_.empty() || !completed_.empty()) return false;
  for (const Group& g : groups_)
    if (g.in_flight || !g.running.empty()) return false;
  return true;
}

void LlmEngine::Loop() {
  for (;;) {
    std::vector<std::pair<int, StageResult>> done;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !completed_.empty() || Launchable() || (stopping_ && Idle()); });
      if (stopping_ && Idle()) return;
      done.swap(completed_);
    }
    for (auto& [g, r] : done) {
      Group& group = groups_[g];
      group.in_flight = false;
      if (r.status.ok()) {  // a pipeline head learns its whole step (every stage, every hop)
        const double ms =
            std::chrono::duration<double, std::milli>(Clock::now() - group.launched).count();
        std::lock_guard<std::mutex> lock(mu_);
        cost_.Observe(group.decode_seqs, group.prefill_tokens, ms);
      }
      Complete(g, r.status, r.logits);
    }
    for (size_t g = 0; g < groups_.size(); ++g)
      if (!groups_[g].in_flight) Launch(static_cast<int>(g));
  }
}

void LlmEngine::ExpireWaiting() {
  std::vector<std::unique_ptr<Sequence>> expired, abandoned;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = Clock::now();
    const bool ask_clients = now - last_client_check_ >= kClientCheckInterval;
    bool asked = false;
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      const GenerationRequest& req = (*it)->req;
      bool gone = false;
      if (ask_clients && req.still_wanted) {
        asked = true;
        gone = !req.still_wanted();
      }
      if (!gone && req.deadline > now) {
        ++it;
        continue;
      }
      waiting_prompt_tokens_ -= static_cast<int64_t>(req.prompt.size());
      (gone ? abandoned : expired).push_back(std::move(*it));
      it = waiting_.erase(it);
    }
    if (asked) last_client_check_ = now;
  }
  if (expired.empty() && abandoned.empty()) return;
  const auto answer = [this](std::vector<std::unique_ptr<Sequence>>& list, const Status& why) {
    for (auto& s : list) {
      for (auto& f : s->followers) {
        Finish(*f, "error", why);
        f->on_done(std::move(f->result));
      }
      Finish(*s, "error", why);
      s->on_done(std::move(s->result));
    }
  };
  if (!expired.empty())
    answer(expired, DeadlineExceeded("waited past its deadline for a place in the batch"));
  if (!abandoned.empty())
    answer(abandoned, Status(StatusCode::kCancelled,
                             "its client went away while it waited for a place in the batch"));
}

void LlmEngine::Launch(int g) {
  ExpireWaiting();
  Group& group = groups_[g];
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<WaitingSeq> snapshot;
    for (const auto& w : waiting_) {
      int max_tokens = w->req.max_tokens;  // choices may differ: the planner counts the largest
      for (const auto& f : w->followers) max_tokens = std::max(max_tokens, f->req.max_tokens);
      snapshot.push_back({static_cast<int>(w->req.prompt.size()), max_tokens,
                          1 + static_cast<int>(w->followers.size())});
    }
    std::vector<int> prefill_remaining;
    for (const auto& s : group.running)
      if (!s->prefilled)
        prefill_remaining.push_back(static_cast<int>(s->req.prompt.size()) - s->prompt_done);
    // With several groups, each holds its share of max_running, and a burst is spread evenly.
    PlannerLimits limits = limits_;
    int waiting_seqs = 0;
    for (const WaitingSeq& w : snapshot) waiting_seqs += w.copies;
    limits.max_running = GroupRunningLimit(limits_.max_running, static_cast<int>(groups_.size()),
                                           running_count_, waiting_seqs);
    const int decoding =
        static_cast<int>(group.running.size()) - static_cast<int>(prefill_remaining.size());
    limits.token_budget = TpotTokenBudget(limits.token_budget, decoding, options_.tpot_slo_ms,
                                          cost_.decode_step_ms(), cost_.prefill_ms_per_token());
    const StepPlan plan = PlanStep(static_cast<int>(group.running.size()), reserved_bytes_,
                                   snapshot, limits, prefill_remaining);
    group.stepped.clear();
    size_t next_chunk = 0;
    for (auto& s : group.running)
      group.stepped.emplace_back(s.get(), s->prefilled ? 0 : plan.running_chunk[next_chunk++]);
    for (int i = 0; i < plan.admit; ++i) {
      std::unique_ptr<Sequence> s = std::move(waiting_.front());
      waiting_.pop_front();
      // Its own cache and, until they fork, its followers' (each for its own max_tokens).
      s->reserved = ReservationOf(*s);
      for (const auto& f : s->followers) s->reserved += ReservationOf(*f);
      s->id = next_seq_id_++;
      reserved_bytes_ += s->reserved;
      running_count_ += 1 + static_cast<int>(s->followers.size());
      group.stepped.emplace_back(s.get(), plan.prefill_chunk[i]);
      group.running.push_back(std::move(s));
    }
    // A prefilling sequence without tokens this step sits it out.
    group.stepped.erase(
        std::remove_if(group.stepped.begin(), group.stepped.end(),
                       [](const auto& e) { return !e.first->prefilled && e.second == 0; }),
        group.stepped.end());
    int prompt_tokens = 0, decodes = 0;
    for (const auto& [s, chunk] : group.stepped) {
      prompt_tokens += chunk;
      decodes += s->prefilled ? 1 : 0;
    }
    waiting_prompt_tokens_ -= prompt_tokens;  // from now on counted as in the step
    stepping_prompt_tokens_ = prompt_tokens;
    prompt_tokens_run_ += prompt_tokens;
    max_step_tokens_ = std::max(max_step_tokens_, prompt_tokens + decodes);
    // Nothing fits until a sequence ends or another arrives: do not spin on this group.
    if (group.running.empty() && !waiting_.empty()) admission_blocked_ = true;
  }
  if (group.stepped.empty()) return;
  for (auto& [s, chunk] : group.stepped)
    if (!s->cache)
      s->cache = model_->NewCache(static_cast<int>(s->req.prompt.size()) + s->req.max_tokens);
  std::vector<LlamaModel::Chunk> chunks;
  StageStep step;
  int decode_seqs = 0, prefill_tokens = 0;
  for (auto& [s, chunk] : group.stepped) {
    if (s->prefilled) {
      ++decode_seqs;
      chunks.push_back({std::span(&s->last_token, 1), s->cache.get()});
    } else {
      prefill_tokens += chunk;
      chunks.push_back(
          {std::span(s->req.prompt)
               .subspan(static_cast<size_t>(s->prompt_done), static_cast<size_t>(chunk)),
           s->cache.get()});
    }
    if (link_)
      step.seqs.push_back(
          {s->id, s->cache->length(), s->cache->capacity(),
           std::vector<int32_t>(chunks.back().tokens.begin(), chunks.back().tokens.end())});
  }
  std::vector<float> out;
  Status st;
  const auto t0 = Clock::now();
  {
    ScopedPendingCompute computing;
    st = model_->ForwardStage(chunks, {}, /*all_positions=*/false, &out);
  }
  if (const double quota = cpu_quota_.load(); quota < 1.0) {  // the emulated slower device
    const auto computed = Clock::now() - t0;
    std::this_thread::sleep_for(std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(computed) * (1.0 / quota - 1.0)));
  }
  {
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    std::lock_guard<std::mutex> lock(mu_);
    // A head learns its step when the later stages answered (Loop), not here.
    if (!link_ && st.ok()) cost_.Observe(decode_seqs, prefill_tokens, ms);
    stepping_prompt_tokens_ = 0;
  }
  if (!link_ || !st.ok()) {
    Complete(g, st, out);
    return;
  }
  step.step_id = next_step_id_++;
  step.hidden = std::move(out);
  step.release.swap(released_);
  group.in_flight = true;
  group.launched = t0;
  group.decode_seqs = decode_seqs;
  group.prefill_tokens = prefill_tokens;
  link_->Send(std::move(step), [this, g](StageResult r) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      completed_.emplace_back(g, std::move(r));
    }
    cv_.notify_one();
  });
}

void LlmEngine::Complete(int g, const Status& st, const std::vector<float>& logits) {
  Group& group = groups_[g];
  const size_t vocab = static_cast<size_t>(model_->config().vocab_size);
  Status status = st;
  if (status.ok() && logits.size() != group.stepped.size() * vocab)
    status = Internal("the pipeline's last stage returned " + std::to_string(logits.size()) +
                      " logits for " + std::to_string(group.stepped.size()) + " sequences");
  int64_t unrun = 0;
  std::vector<std::unique_ptr<Sequence>> forked;  // followers that start now (or failed with it)
  for (size_t i = 0; i < group.stepped.size(); ++i) {
    auto [sp, chunk] = group.stepped[i];
    Sequence& s = *sp;
    if (!status.ok()) {
      if (!s.prefilled)  // the prompt tokens it will never run leave the count
        unrun += static_cast<int64_t>(s.req.prompt.size()) - s.prompt_done - chunk;
      Finish(s, "error", status);
      for (auto& f : s.followers) {  // they share its fate (and its reservation)
        Finish(*f, "error", status);
        forked.push_back(std::move(f));
      }
      s.followers.clear();
      continue;
    }
    if (!s.prefilled) {
      s.prompt_done += chunk;
      if (s.prompt_done < static_cast<int>(s.req.prompt.size())) continue;  // more chunks to go
    }
    s.prefilled = true;
    const std::span<const float> row(logits.data() + i * vocab, vocab);
    // The other choices of this prompt start here: a copy of its cache, its first logits.
    if (!s.followers.empty()) {
      for (auto& f : s.followers) {
        f->cache = model_->NewCache(static_cast<int>(f->req.prompt.size()) + f->req.max_tokens);
        f->cache->CopyFrom(*s.cache);
        f->prompt_done = static_cast<int>(f->req.prompt.size());
        f->prefilled = true;
        f->reserved = ReservationOf(*f);
        s.reserved -= f->reserved;
        f->id = next_seq_id_++;
        Sample(*f, row);
        forked.push_back(std::move(f));
      }
      s.followers.clear();
    }
    Sample(s, row);
  }
  group.stepped.clear();
  for (auto& f : forked) group.running.push_back(std::move(f));
  // Finished sequences leave now and free their cache (the later stages free theirs with the
  // group's next step that carries `released_`).
  int64_t freed = 0;
  std::vector<std::unique_ptr<Sequence>> finished;
  for (auto& s : group.running)
    if (s->done) {
      freed += s->reserved;
      if (link_) released_.push_back(s->id);
      finished.push_back(std::move(s));
    }
  group.running.erase(std::remove(group.running.begin(), group.running.end(), nullptr),
                      group.running.end());
  {
    std::lock_guard<std::mutex> lock(mu_);
    reserved_bytes_ -= freed;
    waiting_prompt_tokens_ -= unrun;
    running_count_ -= static_cast<int>(finished.size());
    if (!finished.empty()) admission_blocked_ = false;
  }
  for (auto& s : finished) {
    s->cache.reset();
    s->on_done(std::move(s->result));
  }
}

}  // namespace epara::llm
