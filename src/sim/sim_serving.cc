// What happens on a simulated serving node: vision/tensor queues batched by the engine's own
// policies (engine/batch_policy.h, engine/slo_batch_policy.h) and LLM engines stepped by the
// engine's own planner (llm/step_planner.h). Compute time from the cost model / node speed.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/batch_policy.h"
#include "engine/slo_batch_policy.h"
#include "sim/sim_cluster.h"

namespace epara::sim::internal {
namespace {

// Virtual ms <-> the policies' time points. Rounded, so At(Ms(t)) == t: a wake-up the policy asks
// for is then exactly reached, never a nanosecond short (which would ask again, forever).
engine::Clock::time_point At(double ms) {
  return engine::Clock::time_point(
      std::chrono::round<engine::Clock::duration>(std::chrono::duration<double, std::milli>(ms)));
}
double Ms(engine::Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(t.time_since_epoch()).count();
}

}  // namespace

void Cluster::RunCpu(double work_ms, std::function<void(double)> done) {
  const double cores = spec_.options.host_cores;
  if (cores <= 0) {
    q_.After(work_ms, [done = std::move(done), work_ms] { done(work_ms); });
    return;
  }
  AdvanceCpu();
  cpu_jobs_[cpu_next_id_++] = CpuJob{std::max(0.0, work_ms), q_.now(), std::move(done)};
  ScheduleCpu();
}

void Cluster::AdvanceCpu() {
  const double now = q_.now();
  if (!cpu_jobs_.empty()) {
    const double rate = std::min(1.0, spec_.options.host_cores / double(cpu_jobs_.size()));
    for (auto& [_, j] : cpu_jobs_) j.remaining -= (now - cpu_updated_) * rate;
  }
  cpu_updated_ = now;
}

void Cluster::ScheduleCpu() {
  const uint64_t generation = ++cpu_generation_;
  if (cpu_jobs_.empty()) return;
  const double rate = std::min(1.0, spec_.options.host_cores / double(cpu_jobs_.size()));
  double first = std::numeric_limits<double>::infinity();
  for (const auto& [_, j] : cpu_jobs_) first = std::min(first, j.remaining);
  q_.After(std::max(0.0, first) / rate, [this, generation] {
    if (generation != cpu_generation_) return;  // the set of phases changed since
    AdvanceCpu();
    std::vector<std::pair<double, std::function<void(double)>>> finished;
    for (auto it = cpu_jobs_.begin(); it != cpu_jobs_.end();) {
      if (it->second.remaining <= 1e-9) {
        finished.emplace_back(q_.now() - it->second.started, std::move(it->second.done));
        it = cpu_jobs_.erase(it);
      } else {
        ++it;
      }
    }
    ScheduleCpu();
    for (auto& [wall, done] : finished) done(wall);
  });
}

void Cluster::RunPhase(Node& n, double work_ms, std::function<void(double)> done) {
  const double start = q_.now();
  const double speed = n.spec.speed;
  RunCpu(work_ms, [this, node = n.index, start, speed, done = std::move(done)](double computed) {
    // A slower device idles after computing (backend/throttled_instance.h).
    const double idle = speed < 1 ? computed * (1 / speed - 1) : 0;
    q_.After(idle, [this, node, start, done] {
      AddBusy(nodes_[node], start, q_.now());
      done(q_.now() - start);
    });
  });
}

void Cluster::LoadInstance(int node, int model, double ready_in_ms) {
  Node& n = nodes_[node];
  if (n.instances.count(model)) {
    Instance& inst = n.instances[model];
    if (!inst.draining) return;
    inst.draining = false;  // a load cancels a pending unload
    if (inst.ready) Advertise(node, model, true);
    return;
  }
  Instance& inst = n.instances[model];
  const SimModel& m = spec_.models[model];
  inst.model = model;
  inst.llm = m.llm;
  auto b = n.spec.batching.find(m.name);
  inst.batching = b != n.spec.batching.end() ? b->second : m.batching;
  BuildChain(node, model, &inst);  // a pipeline head: its stages and groups
  q_.At(q_.now() + ready_in_ms, [this, node, model, inc = n.incarnation] {
    Node& n = nodes_[node];
    if (n.incarnation != inc) return;
    auto it = n.instances.find(model);
    if (it == n.instances.end() || it->second.draining) return;
    it->second.ready = true;
    Advertise(node, model, true);
  });
}

void Cluster::FinishDrain(Node& n, int model) {
  auto it = n.instances.find(model);
  if (it != n.instances.end() && it->second.draining && it->second.idle()) n.instances.erase(it);
}

void Cluster::AddBusy(Node& n, double from, double to) {
  while (from < to) {
    const size_t s = static_cast<size_t>(from / 1e3);
    if (s >= n.busy_ms.size()) return;
    const double end = std::min(to, (s + 1) * 1e3);
    n.busy_ms[s] += end - from;
    from = end;
  }
}

void Cluster::Deliver(Req* r, int node) {
  if (r->ended) return;
  Node& n = nodes_[node];
  auto it = n.instances.find(r->model);
  if (!n.up || it == n.instances.end() || !it->second.ready || (it->second.draining && r->remote)) {
    Respond(r, false, 503);  // not (or no longer) served there
    return;
  }
  if (it->second.llm) {
    LlmEnqueue(r, n, it->second);
    return;
  }
  if (!r->parent) {  // a request (not a tile) on a node whose config splits the model
    auto split = n.spec.split.find(spec_.models[r->model].name);
    if (split != n.spec.split.end() && split->second > 1) {
      Split(r, node, split->second);
      return;
    }
  }
  Enqueue(r, n, it->second);
}

void Cluster::Enqueue(Req* r, Node& n, Instance& inst) {
  if (static_cast<int>(inst.queue.size()) >= inst.batching.max_queue_size) {
    Respond(r, false, 429);  // queue full
    return;
  }
  r->enqueued = q_.now();
  inst.queue.push_back(r);
  Dispatch(n, inst);
}

void Cluster::Dispatch(Node& n, Instance& inst) {
  if (!inst.running.empty() || inst.queue.empty()) return;
  const double now = q_.now();
  // The batch policies see what the real scheduler sees: each request's enqueue time and its
  // deadline (SLO-aware batching: enqueued + the descriptor's SLO, as api/server.cc sets it).
  const SimModel& m = spec_.models[inst.model];
  std::vector<size_t> take;
  double wake = std::numeric_limits<double>::infinity();
  const int64_t full = std::max(1, inst.batching.max_batch_size);
  if (inst.batching.slo_aware) {
    std::vector<engine::QueuedRequest> view;
    view.reserve(inst.queue.size());
    for (const Req* q : inst.queue) {
      engine::QueuedRequest v;
      v.rows = q->solo ? full : 1;  // a solo tile looks like a full batch (ModelScheduler)
      v.enqueued = At(q->enqueued);
      v.deadline = m.slo_ms > 0 ? At(q->enqueued + m.slo_ms) : engine::Clock::time_point::max();
      view.push_back(v);
    }
    const double per_row = inst.cost.per_row_ms();
    const engine::SloBatchDecision d = engine::DecideSloBatch(
        view, At(now), inst.batching, [per_row](int64_t rows) { return per_row * rows; }, false);
    take = d.take;
    if (d.wake_at != engine::Clock::time_point::max()) wake = Ms(d.wake_at);
  } else {
    std::vector<int64_t> rows;
    rows.reserve(inst.queue.size());
    for (const Req* q : inst.queue) rows.push_back(q->solo ? full : 1);
    const engine::BatchDecision d =
        engine::DecideBatch(rows, At(inst.queue.front()->enqueued), At(now), inst.batching, false);
    for (size_t k = 0; k < d.take; ++k) take.push_back(k);
    if (d.wake_at != engine::Clock::time_point::max()) wake = Ms(d.wake_at);
  }
  if (take.empty()) {
    wake = std::max(wake, now + 1e-6);  // the clock must move on
    if (wake < inst.wake_at) {
      inst.wake_at = wake;
      q_.At(wake, [this, node = n.index, model = inst.model, inc = n.incarnation, wake] {
        Node& n = nodes_[node];
        if (n.incarnation != inc) return;
        auto it = n.instances.find(model);
        if (it == n.instances.end() || it->second.wake_at != wake) return;
        it->second.wake_at = std::numeric_limits<double>::infinity();
        Dispatch(n, it->second);
      });
    }
    return;
  }
  inst.wake_at = std::numeric_limits<double>::infinity();
  for (size_t k : take) inst.running.push_back(inst.queue[k]);
  inst.batch_started = now;
  std::vector<size_t> gone = take;
  std::sort(gone.rbegin(), gone.rend());
  for (size_t k : gone) inst.queue.erase(inst.queue.begin() + static_cast<std::ptrdiff_t>(k));
  const int rows = static_cast<int>(inst.running.size());
  // A solo tile runs alone at its share of the model's pixels.
  const double share = rows == 1 ? inst.running[0]->share : 1;
  RunPhase(n, m.cost.BatchMs(rows) * share,
           [this, node = n.index, model = inst.model, inc = n.incarnation, rows, share](double ms) {
             Node& n = nodes_[node];
             if (n.incarnation != inc) return;
             Instance& inst = n.instances.at(model);
             inst.cost.Observe(ms / 1e3 / share, rows);  // a tile as a whole image (work_share)
             std::vector<Req*> done;
             done.swap(inst.running);
             for (Req* r : done) Respond(r, true, 200);
             Dispatch(n, inst);
             FinishDrain(n, model);
           });
}

void Cluster::LlmEnqueue(Req* r, Node& n, Instance& inst) {
  const SimModel& m = spec_.models[inst.model];
  const int64_t need = int64_t{r->prompt + r->output} * m.limits.kv_bytes_per_token;
  if (need > m.limits.kv_budget_bytes) {
    Respond(r, false, 400);  // longer than the engine's KV cache can ever hold
    return;
  }
  if (static_cast<int>(inst.waiting.size()) >= m.max_waiting) {
    Respond(r, false, 503);
    return;
  }
  inst.waiting.push_back(r);
  inst.waiting_tokens += r->prompt;
  LlmKick(n, inst);
}

void Cluster::LlmKick(Node& n, Instance& inst) {
  for (int g = 0; g < inst.depth; ++g)
    if (!inst.group_busy[static_cast<size_t>(g)]) LlmLaunch(n, inst, g);
}

void Cluster::LlmLaunch(Node& n, Instance& inst, int g) {
  const size_t gi = static_cast<size_t>(g);
  const SimModel& m = spec_.models[inst.model];
  // The client's deadline (the bench sends its timeout as X-Epara-Deadline-Ms): a request still
  // waiting then ends unrun (LlmEngine::ExpireWaiting).
  if (const double timeout_ms = spec_.options.request_timeout_s * 1e3; timeout_ms > 0)
    std::erase_if(inst.waiting, [&](Req* w) {
      if (q_.now() - w->sent < timeout_ms) return false;
      inst.waiting_tokens -= w->prompt;
      Respond(w, false, 504);
      return true;
    });
  std::vector<llm::WaitingSeq> snapshot;
  snapshot.reserve(inst.waiting.size());
  for (const Req* w : inst.waiting) snapshot.push_back({w->prompt, w->output});
  std::vector<int> prefill_remaining;
  int running = 0;
  for (const Req* s : inst.seqs) {
    if (s->group != g) continue;
    ++running;
    if (!s->prefilled) prefill_remaining.push_back(s->prompt - s->prompt_done);
  }
  // With several groups, each holds its share of max_running, a burst spread evenly
  // (LlmEngine::Launch).
  llm::PlannerLimits limits = m.limits;
  limits.max_running =
      llm::GroupRunningLimit(m.limits.max_running, inst.depth, static_cast<int>(inst.seqs.size()),
                             static_cast<int>(inst.waiting.size()));
  const llm::StepPlan plan =
      llm::PlanStep(running, inst.reserved, snapshot, limits, prefill_remaining);
  size_t next_chunk = 0;
  for (Req* s : inst.seqs)
    if (s->group == g) s->step_chunk = s->prefilled ? 0 : plan.running_chunk[next_chunk++];
  for (int k = 0; k < plan.admit; ++k) {
    Req* s = inst.waiting.front();
    inst.waiting.pop_front();
    inst.reserved += int64_t{s->prompt + s->output} * m.limits.kv_bytes_per_token;
    s->step_chunk = plan.prefill_chunk[k];
    s->group = g;
    inst.seqs.push_back(s);
    ++running;
  }
  if (running == 0) return;
  int decode = 0, prefill = 0, rows = 0;
  for (const Req* s : inst.seqs) {
    if (s->group != g) continue;
    ++rows;
    if (s->prefilled)
      ++decode;
    else
      prefill += s->step_chunk;
  }
  inst.waiting_tokens -= prefill;  // counted as in the step from now on
  inst.group_busy[gi] = 1;
  inst.group_tokens[gi] = prefill;
  inst.stepping_tokens += prefill;
  if (!inst.chain.empty()) {
    RunStage(n.index, inst.model, g, inst.group_epoch[gi], decode, prefill, rows, 0, q_.now());
    return;
  }
  RunPhase(n, m.cost.StepMs(decode, prefill),
           [this, node = n.index, model = inst.model, inc = n.incarnation, g, decode,
            prefill](double ms) {
             if (nodes_[node].incarnation != inc) return;
             LlmStepDone(node, model, g, decode, prefill, ms, true);
           });
}

void Cluster::LlmStepDone(int node, int model, int g, int decode, int prefill, double ms,
                          bool observe) {
  Node& n = nodes_[node];
  Instance& inst = n.instances.at(model);
  const SimModel& m = spec_.models[model];
  const size_t gi = static_cast<size_t>(g);
  if (observe) inst.step_cost.Observe(decode, prefill, ms);
  inst.group_busy[gi] = 0;
  inst.stepping_tokens -= inst.group_tokens[gi];
  inst.group_tokens[gi] = 0;
  const double now = q_.now();
  std::vector<Req*> still;
  for (Req* s : inst.seqs) {
    if (s->group != g) {
      still.push_back(s);
      continue;
    }
    if (!s->prefilled) {
      s->prompt_done += s->step_chunk;
      s->step_chunk = 0;
      if (s->prompt_done < s->prompt) {  // more chunks to go
        still.push_back(s);
        continue;
      }
      s->prefilled = true;
      s->first_token = now;
      s->generated = 1;
    } else {
      ++s->generated;
    }
    if (s->generated >= s->output || s->ended) {
      inst.reserved -= int64_t{s->prompt + s->output} * m.limits.kv_bytes_per_token;
      Respond(s, true, 200);
    } else {
      still.push_back(s);
    }
  }
  inst.seqs.swap(still);
  LlmKick(n, inst);
  FinishDrain(n, model);
}

}  // namespace epara::sim::internal
