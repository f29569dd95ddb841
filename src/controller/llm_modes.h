// The controller's run-time parallel modes for LLMs (issue 24), a pure function over a snapshot of
// the cluster, so that a simulator can reuse it:
//   recover      An LLM the cluster served (or that has demand) with no working instance — its
//                node died, or a stage of its pipeline did — is loaded whole on the fastest live
//                node whose free memory holds it. When no node holds it whole (the edge server is
//                gone and boards are left) it is built as a pipeline over the fewest live nodes
//                whose free memory holds its layers, split by allocator::SplitLayers (EPARA's
//                FS-MD mode). The remains of a broken pipeline are unloaded first.
//   consolidate  An LLM served only as a pipeline goes whole onto a live node that now holds it
//                (a whole instance has no hop per token); then the pipeline is torn down.
//   tidy         Pipeline parts beside a whole instance are unloaded (the remains of a recovery),
//                except a working pipeline the cluster file declares: that one is capacity the
//                operator asked for (FS-MD beside the whole instance), and neither tidy nor
//                consolidate removes it.
//   expand       (demand_modes) FS-MD from measured demand: an LLM served whole whose requests
//                met the SLO less than kExpandBelow of the time over the last period gains a
//                pipeline over the fastest other nodes whose free memory holds its layers. The
//                caller remembers the demand it was built for (the head step's for_demand_rps);
//                tidy keeps that pipeline while the demand stays at or above kKeepShare of it or
//                the SLO is still missed (a peak's backlog), and tears it down once both fall
//                below (hysteresis: it is not rebuilt before the SLO is missed again).
// Steps come in the order that keeps a service up: later stages before their head (back to
// front), a new whole instance before a pipeline's teardown, and a head before its stages.
// Each step carries the reason it was taken, for the log and the plan record.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace epara::controller {

// Memory of an LLM (node::LlmShape's numbers): per layer (weights and its share of the KV cache),
// plus the embedding on the first stage and the norm and LM head on the last.
struct LlmSize {
  int layers = 0;
  int64_t layer_bytes = 0;
  int64_t head_bytes = 0;
  int64_t tail_bytes = 0;
  int64_t whole_bytes() const { return layers * layer_bytes + head_bytes + tail_bytes; }
  // Layers [first, end): the embedding with layer 0, the head with the last layer.
  int64_t part_bytes(int first, int end) const {
    return (end - first) * layer_bytes + (first == 0 ? head_bytes : 0) +
           (end >= layers ? tail_bytes : 0);
  }
};

struct LlmModeInput {
  struct Node {
    std::string id;
    double gflops = 0;
    int64_t memory_bytes = 0;  // its budget; 0: unlimited
    int64_t used_bytes = 0;    // held by its instances and stages now
  };
  struct Part {  // one stage of a pipeline as the nodes report it
    std::string node;
    int first_layer = 0, end_layer = 0;
    std::string next;  // the following stage's node; empty on the last
  };
  struct Llm {
    std::string name;
    LlmSize size;
    std::set<std::string> whole;  // live nodes that run it whole
    std::vector<Part> heads;      // pipeline heads on live nodes
    std::vector<Part> stages;     // later stages on live nodes
    bool wanted = false;          // it ran in the cluster before, or has demand
    bool declared = false;        // the cluster file declares a pipeline for it (kept working)
    // Measured demand (expand; tidy of a pipeline built for demand):
    double demand_rps = 0;     // requests/s for it over every ingress (smoothed)
    double attainment = 1;     // share of its requests that met the SLO over the last period
    double built_for_rps = 0;  // the demand the controller built its pipeline for (0: none)
  };
  std::vector<Node> nodes;  // the live nodes
  std::vector<Llm> llms;
  int max_stages = 4;         // the longest pipeline the controller builds
  bool demand_modes = false;  // expand from measured demand (ClusterConfig: controller.llm_expand)
  int depth = 2;              // micro-batches a new head keeps in flight
};

struct LlmModeStep {
  enum class Kind { kLoadWhole, kLoadStage, kLoadHead, kUnloadHead, kUnloadStage };
  Kind kind = Kind::kLoadWhole;
  std::string model, node;
  int first_layer = 0, end_layer = 0;  // stages and heads
  std::string next;                    // stages and heads: the following stage's node
  int depth = 2;                       // heads
  double for_demand_rps = 0;  // an expand's head: the demand it is built for (0: other steps)
  std::string reason;
};

inline constexpr double kExpandBelow = 0.9;  // SLO attainment that asks for more capacity
inline constexpr double kKeepShare = 0.6;    // of the demand a pipeline was built for

// The steps for every LLM of `in`, in the order to carry them out.
std::vector<LlmModeStep> PlanLlmModes(const LlmModeInput& in);

// One line: "pipeline head llama-demo on b [0, 4) -> c: <reason>".
std::string DescribeLlmStep(const LlmModeStep& s);

// Whether the head of `llm` reaches a last stage through live stages: the parts of its pipeline in
// chain order (empty when it has no head or its chain is broken).
std::vector<LlmModeInput::Part> WorkingPipeline(const LlmModeInput::Llm& llm);

}  // namespace epara::controller
