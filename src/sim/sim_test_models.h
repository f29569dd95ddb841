// Small models and nodes for the simulator's tests (simulation_test.cc, sim_llm_modes_test.cc):
// costs in milliseconds on the profiling device, chosen so that known answers are easy to check.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sim/simulation.h"

namespace epara::sim::test_models {

inline SimModel VisionModel(const std::string& name,
                            std::vector<std::pair<double, double>> batch_ms, int max_batch,
                            double delay_ms, double slo_ms = 0) {
  SimModel m;
  m.name = name;
  m.slo_ms = slo_ms;
  m.batching.max_batch_size = max_batch;
  m.batching.max_queue_delay_us = static_cast<int64_t>(delay_ms * 1000);
  m.batching.max_queue_size = 1 << 20;
  m.cost.batch_ms = std::move(batch_ms);
  return m;
}

inline SimModel LlmModel(const std::string& name) {
  SimModel m;
  m.name = name;
  m.llm = true;
  m.slo_ms = 1000;
  m.limits.kv_budget_bytes = 64ll << 20;
  m.limits.kv_bytes_per_token = 16 << 10;
  m.limits.token_budget = 512;
  m.limits.max_running = 16;
  m.cost.prefill_ms = {{32, 10}, {128, 40}, {512, 200}};
  m.cost.decode_ms = {{1, 3}, {4, 5}, {16, 8}};
  return m;
}

// A node of `speed` (its CPU share), advertising 10 GFLOPS per unit of speed.
inline SimNodeSpec Node(const std::string& id, double speed, std::vector<std::string> serve,
                        router::RouteMode routing = router::RouteMode::kSloAware) {
  SimNodeSpec n;
  n.id = id;
  n.speed = speed;
  n.gflops = 10 * speed;
  n.serve = std::move(serve);
  n.routing = routing;
  return n;
}

}  // namespace epara::sim::test_models
