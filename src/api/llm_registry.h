// LlmRegistry: the LLM engines one server runs, changeable at run time (issue 24: an LLM moves
// between nodes; a pipeline head is built or torn down). Thread-safe.
//
// An entry's life:  Add -> ready -> Drain -> draining -> Remove: unloading -> gone.
//   ready      listed (advertised to peers, in the model lists) and served.
//   draining   no longer listed; still served (requests routed here before every peer saw the
//              change keep arriving for a grace period).
//   unloading  Remove waits until every use has ended (each request holds one, a stream until its
//              last event is written), then shuts the engine down and forgets it. New uses are
//              refused (the origin of a forwarded request retries elsewhere; a local one gets a
//              clear Unavailable), except `admitted` ones: a peer's forward admitted before the
//              unload began already holds a use and must reach its engine.
// Nothing accepted is lost: the engine completes every request it accepted (LlmEngine::Shutdown)
// and Remove returns only after that.
//
// Metrics series are created on a name's first Add and kept (a model that comes back counts on).
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "llm/llm_engine.h"
#include "metrics/llm_metrics.h"
#include "metrics/metrics_registry.h"
#include "metrics/recent_llm_shapes.h"

namespace epara::api {

class LlmRegistry;

// One request's hold on an engine (move-only). While any exists, Remove waits.
class LlmUse {
 public:
  LlmUse() = default;
  LlmUse(LlmUse&& o) noexcept;
  LlmUse& operator=(LlmUse&& o) noexcept;
  LlmUse(const LlmUse&) = delete;
  LlmUse& operator=(const LlmUse&) = delete;
  ~LlmUse();

  explicit operator bool() const { return engine_ != nullptr; }
  llm::LlmEngine* operator->() const { return engine_.get(); }
  llm::LlmEngine& operator*() const { return *engine_; }
  const std::string& name() const { return name_; }

 private:
  friend class LlmRegistry;
  void Release();
  LlmRegistry* registry_ = nullptr;
  std::string name_;
  std::shared_ptr<llm::LlmEngine> engine_;
};

class LlmRegistry {
 public:
  enum class State { kReady, kDraining, kUnloading };
  struct Info {
    std::string name;
    State state = State::kReady;
    double ttft_slo_ms = 0;  // the descriptor's SLOs (0: none)
    double tpot_slo_ms = 0;
    std::shared_ptr<llm::LlmEngine> engine;  // for stats and sizes; never for serving
  };

  explicit LlmRegistry(metrics::Registry* metrics) : metrics_(metrics) {}
  ~LlmRegistry();  // shuts every engine down

  // Adds a ready engine. FailedPrecondition when `name` is present in any state.
  Status Add(const std::string& name, std::unique_ptr<llm::LlmEngine> engine, double ttft_slo_ms,
             double tpot_slo_ms);
  // A hold on `name`'s engine: empty (with *why, when given) when absent, or unloading and not
  // `admitted`.
  LlmUse Use(const std::string& name, bool admitted = false, Status* why = nullptr);
  // ready -> draining. NotFound when absent; FailedPrecondition when unloading.
  Status Drain(const std::string& name);
  // -> unloading; waits for every use to end, shuts the engine down (it completes what it
  // accepted) and forgets it. NotFound when absent. Two concurrent Removes of one name: the second
  // gets FailedPrecondition at once. *waited_for (when given): the uses it had to wait for.
  Status Remove(const std::string& name, int* waited_for = nullptr);
  // Stops every engine's admission and completes what they accepted (server shutdown). Entries
  // stay (their uses may still be writing).
  void ShutdownAll();

  // The ready entries (and the draining ones with include_draining), by name.
  std::vector<Info> List(bool include_draining = false) const;
  bool Has(const std::string& name) const;  // ready or draining
  std::optional<Info> Get(const std::string& name) const;
  // The series of a model added once here (nullptr: never added).
  const metrics::LlmMetrics* Metrics(const std::string& name) const;
  // The sizes of the last requests each engine here ended (a node's cluster view lists them for
  // the controller's digital twin).
  metrics::RecentLlmShapes& shapes() { return shapes_; }
  const metrics::RecentLlmShapes& shapes() const { return shapes_; }

 private:
  friend class LlmUse;
  struct Entry {
    State state = State::kReady;
    double ttft_slo_ms = 0, tpot_slo_ms = 0;
    std::shared_ptr<llm::LlmEngine> engine;
    int uses = 0;
  };
  void Release(const std::string& name);

  metrics::Registry* metrics_;
  mutable std::mutex mu_;
  std::condition_variable released_;
  std::map<std::string, Entry> entries_;
  // Never erased: callers keep pointers (std::map nodes are stable).
  std::map<std::string, metrics::LlmMetrics> series_;
  metrics::RecentLlmShapes shapes_;
};

const char* LlmStateName(LlmRegistry::State s);

}  // namespace epara::api
