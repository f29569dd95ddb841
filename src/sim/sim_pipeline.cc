// Pipeline-parallel LLMs in the simulator (issues 5, 23, 24: FS-MD): the head's engine keeps
// `depth` micro-batch groups (LlmEngine::AttachPipeline); a group's step runs the head's layers,
// sends each token's hidden state to the next stage, ... and the last stage's logits come back to
// the head, which then plans that group's next step. A stage computes one step at a time (the
// head's engine loop; a stage's model lock), FIFO, for its share of the layers of the step's cost
// on its own node (speed, shared host). Hops cost the pair's network time plus the bytes at
// SimOptions::bandwidth_mb_s. A stage node that is down, or crashes while a step is on it, fails
// that step: the group's sequences end with 503, as a broken StageLink ends them. The head learns
// each step's whole time, stages and hops included (LlmEngine::Loop).
#include <algorithm>

#include "sim/sim_cluster.h"

namespace epara::sim::internal {

void Cluster::BuildChain(int node, int model, Instance* inst) {
  inst->chain.clear();
  const SimModel& m = spec_.models[model];
  const auto head = nodes_[node].spec.pipeline.find(m.name);
  if (!m.llm || head == nodes_[node].spec.pipeline.end() || head->second.stage != 0) return;
  const double layers = std::max(1, m.layers);
  int at = node;
  for (size_t guard = 0; guard <= nodes_.size(); ++guard) {
    const SimStage& s = nodes_[at].spec.pipeline.at(m.name);
    const int end = s.end_layer > 0 ? s.end_layer : m.layers;
    inst->chain.emplace_back(at, (end - s.first_layer) / layers);
    if (s.next.empty()) break;
    auto next = node_index_.find(s.next);
    if (next == node_index_.end() || !nodes_[next->second].spec.pipeline.count(m.name)) break;
    at = next->second;
  }
  inst->depth = std::max(1, head->second.depth);
  inst->group_busy.assign(static_cast<size_t>(inst->depth), 0);
  inst->group_tokens.assign(static_cast<size_t>(inst->depth), 0);
  inst->group_epoch.assign(static_cast<size_t>(inst->depth), 0);
}

const Instance* Cluster::LiveStep(int head, int model, int g, uint64_t epoch) const {
  const Node& h = nodes_[head];
  const auto it = h.instances.find(model);
  if (!h.up || it == h.instances.end()) return nullptr;  // the head is down: its requests ended
  if (it->second.group_epoch[static_cast<size_t>(g)] != epoch) return nullptr;  // step failed
  return &it->second;
}

void Cluster::RunStage(int head, int model, int g, uint64_t epoch, int decode, int prefill,
                       int rows, size_t k, double started) {
  const Instance* inst = LiveStep(head, model, g, epoch);
  if (!inst) return;
  // Plain locals, not a structured binding: lambdas capture them below (clang 14 cannot capture a
  // binding; the sanitizer build uses it).
  const int node = inst->chain[k].first;
  const double share = inst->chain[k].second;
  if (!nodes_[node].up) {
    StageFailed(head, model, g);
    return;
  }
  const double work = spec_.models[model].cost.StepMs(decode, prefill) * share;
  auto run = [this, head, model, g, epoch, decode, prefill, rows, k, started, node, work,
              inc = nodes_[node].incarnation] {
    if (!LiveStep(head, model, g, epoch)) {
      ReleaseStage(node, model);  // its step failed while it queued here: nothing to compute
      return;
    }
    RunPhase(nodes_[node], work, [=, this](double) {
      if (nodes_[node].incarnation != inc) return;  // crashed meanwhile: FailPipelinesThrough
      ReleaseStage(node, model);
      const Instance* inst = LiveStep(head, model, g, epoch);
      if (!inst) return;
      const SimModel& m = spec_.models[model];
      if (k + 1 < inst->chain.size()) {
        const int next = inst->chain[k + 1].first;
        q_.After(
            TransferMs(node, next, double(decode + prefill) * m.hidden_bytes_per_token),
            [=, this] { RunStage(head, model, g, epoch, decode, prefill, rows, k + 1, started); });
        return;
      }
      q_.After(TransferMs(node, head, double(rows) * m.logit_bytes_per_row), [=, this] {
        if (!LiveStep(head, model, g, epoch)) return;
        ++stats_->pipeline_steps;
        LlmStepDone(head, model, g, decode, prefill, q_.now() - started, true);
      });
    });
  };
  StageServer& server = nodes_[node].stages[model];
  if (server.busy) {
    server.waiting.push_back(std::move(run));
    return;
  }
  server.busy = true;
  run();
}

void Cluster::ReleaseStage(int node, int model) {
  StageServer& server = nodes_[node].stages[model];
  if (server.waiting.empty()) {
    server.busy = false;
    return;
  }
  std::function<void()> next = std::move(server.waiting.front());
  server.waiting.pop_front();
  next();  // stays busy
}

void Cluster::StageFailed(int head, int model, int g) {
  Node& h = nodes_[head];
  Instance& inst = h.instances.at(model);
  const SimModel& m = spec_.models[model];
  const size_t gi = static_cast<size_t>(g);
  ++stats_->pipeline_failed_steps;
  ++inst.group_epoch[gi];
  inst.group_busy[gi] = 0;
  inst.stepping_tokens -= inst.group_tokens[gi];
  inst.group_tokens[gi] = 0;
  std::vector<Req*> still;
  for (Req* s : inst.seqs) {
    if (s->group != g) {
      still.push_back(s);
      continue;
    }
    inst.reserved -= int64_t{s->prompt + s->output} * m.limits.kv_bytes_per_token;
    Respond(s, false, 503);
  }
  inst.seqs.swap(still);
  // The next step launches at once and fails again while the stage is down (no spinning: a group
  // without sequences does not step; waiting ones are admitted and fail, as a dead link fails
  // them).
  LlmKick(h, inst);
  FinishDrain(h, model);
}

void Cluster::FailPipelinesThrough(int node) {
  nodes_[node].stages.clear();  // queued stage work there is gone with the process
  struct InFlight {
    int head, model, group;
    uint64_t epoch;
  };
  std::vector<InFlight> failed;  // collected first: failing a step may launch the next
  for (const Node& h : nodes_) {
    if (!h.up) continue;
    for (const auto& [model, inst] : h.instances) {
      bool through = false;
      for (const auto& [at, _] : inst.chain) through |= at == node;
      if (!through) continue;
      for (int g = 0; g < inst.depth; ++g)
        if (inst.group_busy[static_cast<size_t>(g)])
          failed.push_back({h.index, model, g, inst.group_epoch[static_cast<size_t>(g)]});
    }
  }
  for (const InFlight& f : failed) {
    auto it = nodes_[f.head].instances.find(f.model);
    if (it != nodes_[f.head].instances.end() &&
        it->second.group_epoch[static_cast<size_t>(f.group)] == f.epoch)
      StageFailed(f.head, f.model, f.group);
  }
}

}  // namespace epara::sim::internal
