// EventQueue: the simulator's virtual clock (sim/, issue 23). Events run in time order; events at
// the same time run in the order they were scheduled, so a run is deterministic: the same events
// scheduled in the same order give the same sequence, bit for bit. Single-threaded. Times are
// milliseconds from the start of the run.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

namespace epara::sim {

class EventQueue {
 public:
  using Action = std::function<void()>;

  double now() const { return now_; }
  // Runs `action` at `at_ms` (an earlier time runs it now: the clock never goes back).
  void At(double at_ms, Action action);
  void After(double delay_ms, Action action) { At(now_ + delay_ms, std::move(action)); }
  // Runs every event due at or before `until_ms`, then sets the clock to `until_ms`.
  void RunUntil(double until_ms);
  // Runs events until none is left.
  void RunAll();
  size_t pending() const { return heap_.size(); }
  uint64_t processed() const { return processed_; }

 private:
  struct Event {
    double at;
    uint64_t seq;
    Action action;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };
  bool RunOne();

  std::priority_queue<Event, std::vector<Event>, Later> heap_;
  double now_ = 0;
  uint64_t seq_ = 0;
  uint64_t processed_ = 0;
};

}  // namespace epara::sim
