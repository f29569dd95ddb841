// DecisionCounters: how many times each of epara's policy functions has decided, process-wide.
// Each policy (router::PlanRouteWithMode, engine::DecideBatch / DecideSloBatch, llm::PlanStep,
// scheduler::Place, controller::PlanPeriod) counts its own calls, so a test can prove that a
// caller -- the simulator above all (issue 23) -- runs the real function and not a copy of it: a
// copy would decide without moving the count. Relaxed atomics: a few nanoseconds per decision.
#pragma once

#include <atomic>
#include <cstdint>

namespace epara {

struct DecisionCounters {
  std::atomic<uint64_t> plan_route{0};
  std::atomic<uint64_t> decide_batch{0};
  std::atomic<uint64_t> decide_slo_batch{0};
  std::atomic<uint64_t> plan_step{0};
  std::atomic<uint64_t> place{0};
  std::atomic<uint64_t> plan_period{0};
};

DecisionCounters& Decisions();

inline void CountDecision(std::atomic<uint64_t>& counter) {
  counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace epara
