#include "controller/llm_modes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "allocator/pipeline_split.h"

namespace epara::controller {
namespace {

using Kind = LlmModeStep::Kind;

std::string Mb(int64_t bytes) { return std::to_string(bytes >> 20) + " MB"; }

std::string Rps(double rps) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", rps);
  return b;
}

// Whole percents, rounded down: 89.9% of requests met is "89%", below a 90% threshold.
std::string Percent(double share) {
  return std::to_string(static_cast<int>(std::floor(share * 100 + 1e-9))) + "%";
}

LlmModeStep Step(Kind kind, const std::string& model, const std::string& node,
                 const std::string& reason) {
  LlmModeStep s;
  s.kind = kind;
  s.model = model;
  s.node = node;
  s.reason = reason;
  return s;
}

}  // namespace

std::vector<LlmModeInput::Part> WorkingPipeline(const LlmModeInput::Llm& llm) {
  for (const LlmModeInput::Part& head : llm.heads) {
    std::vector<LlmModeInput::Part> chain = {head};
    while (!chain.back().next.empty() && chain.size() <= llm.stages.size()) {
      const LlmModeInput::Part& at = chain.back();
      auto next = std::find_if(llm.stages.begin(), llm.stages.end(), [&](const auto& s) {
        return s.node == at.next && s.first_layer == at.end_layer;
      });
      if (next == llm.stages.end()) break;
      chain.push_back(*next);
    }
    if (chain.back().next.empty() &&
        (llm.size.layers <= 0 || chain.back().end_layer >= llm.size.layers))
      return chain;
  }
  return {};
}

std::vector<LlmModeStep> PlanLlmModes(const LlmModeInput& in) {
  std::vector<LlmModeStep> steps;
  std::map<std::string, int64_t> free;
  for (const LlmModeInput::Node& n : in.nodes)
    free[n.id] = n.memory_bytes > 0 ? n.memory_bytes - n.used_bytes
                                    : std::numeric_limits<int64_t>::max() / 4;
  // Live nodes, fastest first.
  std::vector<const LlmModeInput::Node*> by_speed;
  for (const LlmModeInput::Node& n : in.nodes) by_speed.push_back(&n);
  // Orders nodes by speed then free memory, or (roomy_first) by free memory then speed; ties by
  // id, for a stable plan.
  const auto ranked = [&](bool roomy_first) {
    return [&free, roomy_first](const LlmModeInput::Node* a, const LlmModeInput::Node* b) {
      const auto key = [&](const LlmModeInput::Node* n) {
        const double room = static_cast<double>(free[n->id]);
        return roomy_first ? std::make_pair(room, n->gflops) : std::make_pair(n->gflops, room);
      };
      const auto ka = key(a), kb = key(b);
      return ka != kb ? ka > kb : a->id < b->id;
    };
  };
  const auto order = [&] { std::sort(by_speed.begin(), by_speed.end(), ranked(false)); };
  // The fastest live node that holds `bytes` more (nullptr: none).
  const auto fits_whole = [&](int64_t bytes) -> const LlmModeInput::Node* {
    order();
    for (const LlmModeInput::Node* n : by_speed)
      if (free[n->id] >= bytes) return n;
    return nullptr;
  };
  const auto unload_parts =
      [&](const LlmModeInput::Llm& llm, const std::vector<LlmModeInput::Part>& heads,
          const std::vector<LlmModeInput::Part>& stages, const std::string& reason) {
        for (const auto& p : heads) {
          steps.push_back(Step(Kind::kUnloadHead, llm.name, p.node, reason));
          free[p.node] += llm.size.part_bytes(p.first_layer, p.end_layer);
        }
        for (const auto& p : stages) {
          steps.push_back(Step(Kind::kUnloadStage, llm.name, p.node, reason));
          free[p.node] += llm.size.part_bytes(p.first_layer, p.end_layer);
        }
      };

  // Appends the steps of a pipeline over the fewest of `candidates` (in their order, then the
  // fastest first within the pipeline) whose free memory holds its layers; false when none does.
  const auto build_pipeline = [&](const LlmModeInput::Llm& llm,
                                  const std::vector<const LlmModeInput::Node*>& candidates,
                                  const std::string& why, double for_demand_rps) {
    const int most =
        std::min<int>({in.max_stages, static_cast<int>(candidates.size()), llm.size.layers});
    for (int k = 2; k <= most; ++k) {
      std::vector<const LlmModeInput::Node*> chosen(candidates.begin(), candidates.begin() + k);
      std::stable_sort(chosen.begin(), chosen.end(),
                       [](const auto* a, const auto* b) { return a->gflops > b->gflops; });
      std::vector<allocator::StageDevice> devices;
      for (int i = 0; i < k; ++i) {
        allocator::StageDevice d;
        d.speed = chosen[i]->gflops > 0 ? chosen[i]->gflops : 1;
        d.memory_bytes = std::max<int64_t>(1, free[chosen[i]->id]);
        d.fixed_bytes = (i == 0 ? llm.size.head_bytes : 0) + (i + 1 == k ? llm.size.tail_bytes : 0);
        devices.push_back(d);
      }
      std::vector<int> counts;
      if (!allocator::SplitLayers(llm.size.layers, llm.size.layer_bytes, devices, &counts).ok())
        continue;
      const std::string reason = why + ": a pipeline over " + std::to_string(k) + " nodes";
      std::vector<int> first(k, 0);
      for (int i = 1; i < k; ++i) first[i] = first[i - 1] + counts[i - 1];
      for (int i = k - 1; i >= 0; --i) {  // back to front: each stage's next is up already
        LlmModeStep s =
            Step(i == 0 ? Kind::kLoadHead : Kind::kLoadStage, llm.name, chosen[i]->id, reason);
        s.first_layer = first[i];
        s.end_layer = first[i] + counts[i];
        s.next = i + 1 < k ? chosen[i + 1]->id : "";
        s.depth = in.depth;
        if (i == 0) s.for_demand_rps = for_demand_rps;
        steps.push_back(s);
        free[chosen[i]->id] -= llm.size.part_bytes(s.first_layer, s.end_layer);
      }
      return true;
    }
    return false;
  };

  for (const LlmModeInput::Llm& llm : in.llms) {
    const int64_t whole = llm.size.whole_bytes();
    const std::vector<LlmModeInput::Part> working = WorkingPipeline(llm);
    if (!llm.whole.empty()) {  // served whole: pipeline parts left beside it are not needed
      // Kept: the file's working pipeline, and one built for demand while the demand it was
      // built for mostly remains or the SLO is still missed (the peak's backlog being served).
      const bool needed =
          llm.built_for_rps > 0 &&
          (llm.demand_rps >= kKeepShare * llm.built_for_rps || llm.attainment < kExpandBelow);
      std::vector<LlmModeInput::Part> heads = llm.heads, stages = llm.stages;
      if ((llm.declared || needed) && !working.empty()) {
        const auto in_working = [&](const LlmModeInput::Part& p) {
          return std::any_of(working.begin(), working.end(), [&](const LlmModeInput::Part& w) {
            return w.node == p.node && w.first_layer == p.first_layer;
          });
        };
        std::erase_if(heads, in_working);
        std::erase_if(stages, in_working);
      }
      if (!heads.empty() || !stages.empty()) {
        std::string why = "served whole on " + *llm.whole.begin() + ": its pipeline is not needed";
        if (llm.built_for_rps > 0 && !working.empty() && !needed)
          why += " (" + Rps(llm.demand_rps) + " req/s, below " + Percent(kKeepShare) + " of the " +
                 Rps(llm.built_for_rps) + " it was built for, " + Percent(llm.attainment) +
                 " within the SLO)";
        unload_parts(llm, heads, stages, why);
      }
      // FS-MD from measured demand: the whole instances miss the SLO for a demand that a
      // pipeline over other nodes can add capacity to.
      if (working.empty() && in.demand_modes && llm.demand_rps > 0 &&
          llm.attainment < kExpandBelow) {
        std::vector<const LlmModeInput::Node*> others;
        for (const LlmModeInput::Node* n : by_speed)
          if (!llm.whole.count(n->id)) others.push_back(n);
        std::sort(others.begin(), others.end(), ranked(false));
        (void)build_pipeline(llm, others,
                             Percent(llm.attainment) + " of its " + Rps(llm.demand_rps) +
                                 " req/s met the SLO on its whole instances (" +
                                 std::to_string(llm.whole.size()) + ")",
                             llm.demand_rps);
      }
      continue;
    }
    if (!working.empty()) {        // consolidate when one node now holds it whole
      if (llm.declared) continue;  // the operator's pipeline stays
      if (const LlmModeInput::Node* n = fits_whole(whole)) {
        steps.push_back(Step(Kind::kLoadWhole, llm.name, n->id,
                             "served as a " + std::to_string(working.size()) +
                                 "-stage pipeline; node " + n->id + " holds it whole (" +
                                 Mb(whole) + " of " + Mb(free[n->id]) +
                                 " free): no hop per token"));
        free[n->id] -= whole;
        unload_parts(llm, {working.front()}, {working.begin() + 1, working.end()},
                     "replaced by the whole instance on " + n->id);
      }
      continue;
    }
    if (!llm.wanted) continue;
    // No working instance. The remains of a broken pipeline go first (their memory is needed).
    if (!llm.heads.empty() || !llm.stages.empty())
      unload_parts(llm, llm.heads, llm.stages, "its pipeline is broken (a stage's node is gone)");
    if (const LlmModeInput::Node* n = fits_whole(whole)) {
      steps.push_back(Step(Kind::kLoadWhole, llm.name, n->id,
                           "no live instance; node " + n->id + " holds it whole (" + Mb(whole) +
                               " of " + Mb(free[n->id]) + " free)"));
      free[n->id] -= whole;
      continue;
    }
    // A pipeline over the fewest nodes: the k with the most free memory, the fastest first.
    std::vector<const LlmModeInput::Node*> roomy;
    for (const LlmModeInput::Node& n : in.nodes) roomy.push_back(&n);
    std::sort(roomy.begin(), roomy.end(), ranked(true));
    if (!roomy.empty())
      (void)build_pipeline(llm, roomy,
                           "no live instance, and no live node holds it whole (" + Mb(whole) +
                               ", the most free is " + Mb(free[roomy.front()->id]) + ")",
                           0);
  }
  return steps;
}

std::string DescribeLlmStep(const LlmModeStep& s) {
  std::string what;
  switch (s.kind) {
    case Kind::kLoadWhole:
      what = "load " + s.model + " whole on " + s.node;
      break;
    case Kind::kLoadHead:
    case Kind::kLoadStage:
      what = std::string(s.kind == Kind::kLoadHead ? "pipeline head " : "pipeline stage ") +
             s.model + " on " + s.node + " [" + std::to_string(s.first_layer) + ", " +
             std::to_string(s.end_layer) + ")" + (s.next.empty() ? "" : " -> " + s.next);
      break;
    case Kind::kUnloadHead:
      what = "unload the pipeline head of " + s.model + " on " + s.node;
      break;
    case Kind::kUnloadStage:
      what = "unload the pipeline stage of " + s.model + " on " + s.node;
      break;
  }
  return what + ": " + s.reason;
}

}  // namespace epara::controller
