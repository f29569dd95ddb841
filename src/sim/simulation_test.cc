// ParaSim (issue 23): determinism, policy identity, known answers (M/D/1, a batch-latency curve),
// a crash that removes a node's capacity, and the sync-cost accounting.
#include "sim/simulation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "core/decision_counters.h"
#include "sim/digest_size.h"
#include "sim/sim_test_models.h"

namespace epara::sim {
namespace {

using test_models::LlmModel;
using test_models::Node;
using test_models::VisionModel;

SimOptions Quiet() {  // no request work, no network: only the modelled compute
  SimOptions o;
  o.network_ms = 0;
  o.request_timeout_s = 0;
  return o;
}

// Poisson arrivals at `rate` per second for `seconds`, entering at `ingress` (seeded).
std::vector<loadgen::ScheduledRequest> Poisson(double rate, double seconds,
                                               std::vector<std::string> ingress, int services,
                                               uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> gap(rate);
  std::vector<loadgen::ScheduledRequest> out;
  for (double t = gap(rng); t < seconds; t += gap(rng)) {
    loadgen::ScheduledRequest r;
    r.at_s = t;
    r.service = static_cast<int>(out.size() % services);
    r.ingress = ingress[out.size() % ingress.size()];
    r.image_size = 256;
    r.prompt_tokens = 64 + static_cast<int>(out.size() % 5) * 40;
    r.output_tokens = 8 + static_cast<int>(out.size() % 3) * 8;
    out.push_back(r);
  }
  return out;
}

SimSpec MixedSpec() {
  SimSpec spec;
  spec.models = {VisionModel("seg", {{1, 40}, {2, 70}, {4, 120}}, 4, 2, 500), LlmModel("llm")};
  spec.nodes = {Node("edge", 1.0, {"seg", "llm"}), Node("board", 0.5, {"seg", "llm"}),
                Node("micro", 0.25, {"seg"})};
  for (auto& n : spec.nodes) n.admission = router::Admission::kRejectEarly;
  spec.options.request_work_ms = {{256, 5}};
  spec.options.controller_period_s = 2;
  spec.options.digest_loss = 0.1;
  return spec;
}

TEST(SimulationTest, SameSeedGivesTheSameOutcomesBitForBit) {
  const SimSpec spec = MixedSpec();
  const auto schedule = Poisson(12, 20, {"edge", "board", "micro"}, 2, 5);
  std::vector<SimOutcome> a, b;
  SimStats sa, sb;
  ASSERT_TRUE(Simulate(spec, {"seg", "llm"}, schedule, 20, &a, &sa).ok());
  ASSERT_TRUE(Simulate(spec, {"seg", "llm"}, schedule, 20, &b, &sb).ok());
  ASSERT_EQ(a.size(), schedule.size());
  ASSERT_EQ(a.size(), b.size());
  int served = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].ok, b[i].ok) << i;
    EXPECT_EQ(a[i].status, b[i].status) << i;
    EXPECT_EQ(a[i].e2e_ms, b[i].e2e_ms) << i;  // exact: bit for bit
    EXPECT_EQ(a[i].ttft_ms, b[i].ttft_ms) << i;
    EXPECT_EQ(a[i].tpot_ms, b[i].tpot_ms) << i;
    EXPECT_EQ(a[i].node, b[i].node) << i;
    served += a[i].ok;
  }
  EXPECT_GT(served, static_cast<int>(a.size()) / 2);
  EXPECT_EQ(sa.events, sb.events);
  EXPECT_EQ(sa.digest_bytes, sb.digest_bytes);
  EXPECT_EQ(sa.log, sb.log);
  // Another seed loses other digests: the run differs somewhere.
  SimSpec other = spec;
  other.options.seed = 99;
  std::vector<SimOutcome> c;
  SimStats sc;
  ASSERT_TRUE(Simulate(other, {"seg", "llm"}, schedule, 20, &c, &sc).ok());
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) differs |= a[i].e2e_ms != c[i].e2e_ms;
  EXPECT_TRUE(differs);
}

TEST(SimulationTest, DecidesWithTheRealPolicyFunctions) {
  // A copy of a policy inside the simulator would decide without moving these counts.
  const SimSpec spec = MixedSpec();
  const auto schedule = Poisson(10, 10, {"edge", "board", "micro"}, 2, 6);
  DecisionCounters& d = Decisions();
  const uint64_t route = d.plan_route, slo_batch = d.decide_slo_batch, step = d.plan_step,
                 period = d.plan_period, place = d.place;
  std::vector<SimOutcome> out;
  SimStats stats;
  ASSERT_TRUE(Simulate(spec, {"seg", "llm"}, schedule, 10, &out, &stats).ok());
  // Every request entering at a live node is routed once by router::PlanRouteWithMode.
  EXPECT_EQ(d.plan_route - route, schedule.size());
  EXPECT_GT(d.plan_step - step, 0u);  // llm::PlanStep
  EXPECT_GT(d.plan_period - period, 0u);
  EXPECT_EQ(d.plan_period - period, stats.controller_periods);  // controller::PlanPeriod
  EXPECT_EQ(d.place - place, stats.controller_periods);         // scheduler::Place
  // SLO-aware batching is what the spec's batching asks for only when slo_aware is set.
  EXPECT_EQ(d.decide_slo_batch, slo_batch);
  SimSpec slo = spec;
  slo.models[0].batching.slo_aware = true;
  const uint64_t before = d.decide_slo_batch;
  ASSERT_TRUE(Simulate(slo, {"seg", "llm"}, schedule, 10, &out, &stats).ok());
  EXPECT_GT(d.decide_slo_batch - before, 0u);  // engine::DecideSloBatch
}

TEST(SimulationTest, MD1QueueMatchesPollaczekKhinchine) {
  // One server, deterministic service D = 100 ms, Poisson arrivals at 5/s: rho = 0.5 and the mean
  // wait is rho D / (2 (1 - rho)) = 50 ms, so the mean latency is 150 ms.
  SimSpec spec;
  spec.models = {VisionModel("m", {{1, 100}}, 0, 0)};
  spec.nodes = {Node("a", 1.0, {"m"})};
  spec.options = Quiet();
  const auto schedule = Poisson(5, 4000, {"a"}, 1, 11);
  std::vector<SimOutcome> out;
  SimStats stats;
  ASSERT_TRUE(Simulate(spec, {"m"}, schedule, 4000, &out, &stats).ok());
  double sum = 0;
  for (const SimOutcome& o : out) {
    ASSERT_TRUE(o.ok);
    ASSERT_GE(o.e2e_ms, 100 - 1e-9);
    sum += o.e2e_ms;
  }
  EXPECT_NEAR(sum / out.size(), 150, 150 * 0.04);
}

TEST(SimulationTest, BatchesFollowTheBatchLatencyCurve) {
  // Batch latency 1: 10 ms, 2: 15 ms, 4: 20 ms; max batch 4, queue delay 5 ms. Four requests at
  // t = 0 fill one batch (done at 20 ms); a fifth at 1 ms waits for it, then runs alone (10 ms).
  SimSpec spec;
  spec.models = {VisionModel("m", {{1, 10}, {2, 15}, {4, 20}}, 4, 5)};
  spec.nodes = {Node("a", 1.0, {"m"})};
  spec.options = Quiet();
  std::vector<loadgen::ScheduledRequest> s(5);
  for (int i = 0; i < 5; ++i) s[i].ingress = "a";
  s[4].at_s = 0.001;
  std::vector<SimOutcome> out;
  SimStats stats;
  ASSERT_TRUE(Simulate(spec, {"m"}, s, 1, &out, &stats).ok());
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(out[i].e2e_ms, 20, 1e-9) << i;
  EXPECT_NEAR(out[4].e2e_ms, 20 - 1 + 10, 1e-9);
  // At half speed everything takes twice as long.
  spec.nodes[0].speed = 0.5;
  ASSERT_TRUE(Simulate(spec, {"m"}, s, 1, &out, &stats).ok());
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(out[i].e2e_ms, 40, 1e-9) << i;
  EXPECT_NEAR(out[4].e2e_ms, 40 - 1 + 20, 1e-9);
}

TEST(SimulationTest, ACrashRemovesTheNodesCapacityAtItsTime) {
  // Two equal nodes behind round-robin routing at node a; b crashes at 10 s.
  SimSpec spec;
  spec.models = {VisionModel("m", {{1, 20}}, 0, 0)};
  spec.nodes = {Node("a", 1.0, {"m"}, router::RouteMode::kRoundRobin),
                Node("b", 1.0, {"m"}, router::RouteMode::kRoundRobin)};
  spec.options = Quiet();
  spec.options.network_ms = 0.5;
  SimFault crash;
  crash.kind = SimFault::Kind::kCrash;
  crash.node = "b";
  crash.at_s = 10;
  spec.options.faults = {crash};
  const auto schedule = Poisson(20, 20, {"a"}, 1, 3);
  std::vector<SimOutcome> out;
  SimStats stats;
  ASSERT_TRUE(Simulate(spec, {"m"}, schedule, 20, &out, &stats).ok());
  int on_b_before = 0, on_b_after = 0, ok_after = 0, after = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const bool later = schedule[i].at_s >= 10;
    if (out[i].ok && out[i].node == "b") (later ? on_b_after : on_b_before)++;
    if (later) {
      ++after;
      ok_after += out[i].ok;
    }
  }
  EXPECT_GT(on_b_before, 50);  // b served its share before
  EXPECT_EQ(on_b_after, 0);    // and nothing after its crash
  // Forwards to b fail to start and fall through to a: nothing after the crash is lost.
  EXPECT_EQ(ok_after, after);
  ASSERT_FALSE(stats.log.empty());
  EXPECT_NE(stats.log.front().find("crash"), std::string::npos);

  // The crash of the ingress node itself: its clients get no answer from then on.
  spec.options.faults[0].node = "a";
  ASSERT_TRUE(Simulate(spec, {"m"}, schedule, 20, &out, &stats).ok());
  for (size_t i = 0; i < out.size(); ++i)
    if (schedule[i].at_s > 10) {
      EXPECT_FALSE(out[i].ok);
      EXPECT_EQ(out[i].status, 0);
    }
}

TEST(SimulationTest, TheControllerCannotDeployOnACrashedNodeBeforeItsRecordExpires) {
  // Demand only for "hot", held by the slow node; the fast node looks empty once it has crashed
  // (its record still listed until down_after), so the controller's period wants to load there.
  SimSpec spec;
  spec.models = {VisionModel("hot", {{1, 40}}, 0, 0)};
  spec.nodes = {Node("fast", 1.0, {}), Node("slow", 0.25, {"hot"})};
  spec.options = Quiet();
  spec.options.controller_period_s = 1;
  spec.options.down_after_ms = 3000;
  SimFault crash;
  crash.node = "fast";
  crash.at_s = 0.5;
  spec.options.faults = {crash};
  const auto schedule = Poisson(20, 8, {"slow"}, 1, 4);
  std::vector<SimOutcome> out;
  SimStats stats;
  ASSERT_TRUE(Simulate(spec, {"hot"}, schedule, 8, &out, &stats).ok());
  bool tried = false;
  for (const std::string& line : stats.log)
    if (line.find("loads hot on fast") != std::string::npos) {
      tried = true;
      EXPECT_NE(line.find("failed: the node is down"), std::string::npos) << line;
    }
  EXPECT_TRUE(tried);                                         // the period did want the fast node
  for (const SimOutcome& o : out) EXPECT_NE(o.node, "fast");  // and nothing ran there
}

TEST(SimulationTest, AllToAllSyncCostsEveryPeerOneDigestPerInterval) {
  SimSpec spec;
  spec.models = {VisionModel("m", {{1, 10}}, 0, 0)};
  for (int i = 0; i < 6; ++i) spec.nodes.push_back(Node("n" + std::to_string(i), 1, {"m"}));
  spec.options = Quiet();
  spec.options.sync_interval_ms = 100;
  std::vector<loadgen::ScheduledRequest> s(1);
  s[0].ingress = "n0";
  s[0].at_s = 10;  // the run lasts ~10 s
  std::vector<SimOutcome> out;
  SimStats stats;
  ASSERT_TRUE(Simulate(spec, {"m"}, s, 10, &out, &stats).ok());
  // Each of 6 nodes sends 5 peers one digest every 100 ms for ~10 s: ~3,000 messages.
  EXPECT_NEAR(static_cast<double>(stats.digests_sent), 6 * 5 * 100, 6 * 5 * 2);
  cluster::LoadDigest d;
  d.node_id = "n0";
  d.epoch = 1764806400000000;  // a start time in unix microseconds, as real nodes send
  d.sequence = 50;
  cluster::InstanceLoad l;
  l.model = "m";
  l.ready = true;
  l.max_batch = 1;
  d.instances.push_back(l);
  EXPECT_NEAR(static_cast<double>(stats.digest_bytes) / stats.digests_sent,
              static_cast<double>(DigestWireBytes(d)), 2.0);
}

TEST(SimulationTest, ZonesKeepDigestsAndRoutingInsideTheZone) {
  // Six nodes in zones of three: digests reach 2 peers instead of 5, and a request entering at n0
  // is served only in its zone (n0..n2), however idle the other zone is.
  SimSpec spec;
  spec.models = {VisionModel("m", {{1, 50}}, 0, 0)};
  for (int i = 0; i < 6; ++i) spec.nodes.push_back(Node("n" + std::to_string(i), 1, {"m"}));
  spec.options = Quiet();
  spec.options.sync_interval_ms = 100;
  spec.options.zone_size = 3;
  const auto schedule = Poisson(40, 10, {"n0"}, 1, 8);
  std::vector<SimOutcome> out;
  SimStats stats;
  ASSERT_TRUE(Simulate(spec, {"m"}, schedule, 10, &out, &stats).ok());
  EXPECT_NEAR(static_cast<double>(stats.digests_sent), 6 * 2 * 100, 6 * 2 * 2);
  std::set<std::string> served;
  for (const SimOutcome& o : out)
    if (o.ok) served.insert(o.node);
  EXPECT_GT(served.size(), 1u);  // it does spread inside the zone
  for (const std::string& n : served) EXPECT_TRUE(n == "n0" || n == "n1" || n == "n2") << n;
}

TEST(SimulationTest, BoundedRoutingWeighsASampleOfPeersThatRotates) {
  // 20 hosts of one model; requests enter at n0. Unbounded, each request weighs all 20 (itself and
  // 19 peers); with route_peers 4, itself and at most 4 peers -- yet, the sample rotating with the
  // routing turn, the requests still reach more peers than one sample holds.
  SimSpec spec;
  spec.models = {VisionModel("m", {{1, 50}}, 0, 0, 200)};
  for (int i = 0; i < 20; ++i) spec.nodes.push_back(Node("n" + std::to_string(i), 1, {"m"}));
  spec.options = Quiet();
  const auto schedule = Poisson(60, 10, {"n0"}, 1, 9);
  for (int bound : {0, 4}) {
    for (auto& n : spec.nodes) n.route_peers = bound;
    std::vector<SimOutcome> out;
    SimStats stats;
    ASSERT_TRUE(Simulate(spec, {"m"}, schedule, 10, &out, &stats).ok());
    ASSERT_GT(stats.routes, 0u);
    const double mean = static_cast<double>(stats.route_candidates) / stats.routes;
    std::set<std::string> served;
    for (const SimOutcome& o : out)
      if (o.ok) served.insert(o.node);
    if (bound == 0) {
      EXPECT_DOUBLE_EQ(mean, 20);
    } else {
      EXPECT_LE(mean, 5);
      EXPECT_GE(mean, 4);
      EXPECT_EQ(served.size(), 20u);  // every host got its turn
    }
  }
}

TEST(SimulationTest, RejectsSchedulesItCannotRun) {
  SimSpec spec;
  spec.models = {VisionModel("m", {{1, 10}}, 0, 0)};
  spec.nodes = {Node("a", 1, {"m"})};
  std::vector<loadgen::ScheduledRequest> s(1);
  s[0].ingress = "nowhere";
  std::vector<SimOutcome> out;
  SimStats stats;
  EXPECT_EQ(Simulate(spec, {"m"}, s, 1, &out, &stats).code(), StatusCode::kInvalidArgument);
  s[0].ingress = "a";
  EXPECT_EQ(Simulate(spec, {"other"}, s, 1, &out, &stats).code(), StatusCode::kInvalidArgument);
  spec.nodes[0].serve = {"missing"};
  EXPECT_EQ(Simulate(spec, {"m"}, s, 1, &out, &stats).code(), StatusCode::kInvalidArgument);
}

// Known answer: a 1024^2 model of 1,000 ms split in two runs two 640 x 1024 tiles (core 512 + a
// 128-pixel halo) on the two nodes at once: 625 ms; the remote tile's bytes (input and logits,
// 28 B per pixel) at 100 MB/s add 183.5 ms; unsplit it is the whole 1,000 ms.
TEST(SimulationTest, ASplitRequestRunsItsTilesOnTwoNodesAtOnce) {
  SimSpec spec;
  spec.models = {VisionModel("hd", {{1, 1000}, {2, 2000}}, 2, 0, 5000)};
  spec.models[0].width = 1024;
  spec.models[0].height = 1024;
  spec.models[0].tile_bytes_per_pixel = 28;
  spec.nodes = {Node("a", 1.0, {"hd"}), Node("b", 1.0, {"hd"})};
  spec.options = Quiet();
  std::vector<loadgen::ScheduledRequest> one(1);
  one[0].at_s = 1.0;  // after the first digests: a knows b hosts the model
  one[0].ingress = "a";
  one[0].image_size = 1024;
  const auto run = [&](const SimSpec& s, SimStats* stats) {
    std::vector<SimOutcome> out;
    EXPECT_TRUE(Simulate(s, {"hd"}, one, 2, &out, stats).ok());
    return out.at(0);
  };
  SimStats stats;
  const SimOutcome whole = run(spec, &stats);
  EXPECT_TRUE(whole.ok);
  EXPECT_NEAR(whole.e2e_ms, 1000, 1e-6);
  EXPECT_EQ(stats.split_requests, 0u);

  for (auto& n : spec.nodes) n.split["hd"] = 2;
  const SimOutcome split = run(spec, &stats);
  EXPECT_TRUE(split.ok);
  EXPECT_EQ(split.status, 200);
  EXPECT_NEAR(split.e2e_ms, 625, 1e-6);
  EXPECT_EQ(stats.split_requests, 1u);
  EXPECT_EQ(stats.tiles, 2u);
  EXPECT_EQ(stats.remote_tiles, 1u);

  spec.options.bandwidth_mb_s = 100;
  EXPECT_NEAR(run(spec, &stats).e2e_ms, 625 + 640.0 * 1024 * 28 / 1e5, 1e-6);

  // Profiled speeds (a's 1,000 ms, b at a quarter: 4,000 ms) size the tiles: at 2048^2 a takes
  // 1728 columns of core (1856 of input: 906.25 ms), b 320 (448: 875 ms), where equal tiles would
  // take b 4 x 0.5625 x 1,000 = 2,250 ms (router/split_plan_test.cc has the arithmetic).
  {
    SimSpec hetero = spec;
    hetero.options.bandwidth_mb_s = 0;
    hetero.models[0].width = hetero.models[0].height = 2048;
    hetero.models[0].profile_solo_ms = 1000;
    hetero.models[0].profile_gflops = 10;
    hetero.nodes = {Node("a", 1.0, {"hd"}), Node("b", 0.25, {"hd"})};
    for (auto& n : hetero.nodes) n.split["hd"] = 2;
    one[0].image_size = 2048;
    hetero.models[0].slo_ms = 950;  // a alone (1,000 ms) misses it: both tiles
    const SimOutcome w = run(hetero, &stats);
    EXPECT_TRUE(w.ok);
    EXPECT_NEAR(w.e2e_ms, 906.25, 1e-6);
    EXPECT_EQ(stats.remote_tiles, 1u);
    // A 5 s SLO: the fewest tiles that meet it is one, the whole frame on a (split_fit)...
    hetero.models[0].slo_ms = 5000;
    EXPECT_NEAR(run(hetero, &stats).e2e_ms, 1000, 1e-6);
    EXPECT_EQ(stats.remote_tiles, 0u);
    // ...unless the nodes always split over every host (galaxy-like).
    for (auto& n : hetero.nodes) n.split_fit = false;
    EXPECT_NEAR(run(hetero, &stats).e2e_ms, 906.25, 1e-6);
    EXPECT_EQ(stats.remote_tiles, 1u);
    one[0].image_size = 1024;
  }

  // The peer crashes while its tile runs: the request fails with the tile (503), not never.
  spec.options.faults = {{SimFault::Kind::kCrash, 1.3, "b"}};
  const SimOutcome lost = run(spec, &stats);
  EXPECT_FALSE(lost.ok);
  EXPECT_EQ(lost.status, 503);
}

// LLM pipelines (FS-MD): a head and a second stage, each with half of the layers.
SimSpec PipelineSpec(double stage_speed, int depth) {
  SimSpec spec;
  spec.models = {LlmModel("llm")};
  spec.models[0].layers = 8;
  spec.nodes = {Node("head", 1.0, {"llm"}), Node("tail", stage_speed, {})};
  spec.nodes[0].pipeline["llm"] = SimStage{0, 0, 4, "tail", depth};
  spec.nodes[1].pipeline["llm"] = SimStage{1, 4, 0, "", depth};
  spec.options = Quiet();
  spec.options.network_ms = 1;
  return spec;
}

std::vector<loadgen::ScheduledRequest> LlmBurst(int n, int prompt, int output, double at_s = 0) {
  std::vector<loadgen::ScheduledRequest> out;
  for (int i = 0; i < n; ++i) {
    loadgen::ScheduledRequest r;
    r.at_s = at_s;
    r.ingress = "head";
    r.prompt_tokens = prompt;
    r.output_tokens = output;
    out.push_back(r);
  }
  return out;
}

TEST(SimulationTest, APipelineStepRunsEveryStageInTurnWithItsHops) {
  // One sequence, 32 prompt tokens, 8 generated. Each step: the head's half of the layers, a hop,
  // the tail's half, a hop back: prefill 10 ms -> 5 + 1 + 5 + 1 = 12; decode 3 ms -> 1.5 + 1 +
  // 1.5 + 1 = 5; on a tail at 1/4 speed its half takes 4x as long.
  for (const double speed : {1.0, 0.25}) {
    SCOPED_TRACE(speed);
    const SimSpec spec = PipelineSpec(speed, 2);
    std::vector<SimOutcome> out;
    SimStats stats;
    ASSERT_TRUE(Simulate(spec, {"llm"}, LlmBurst(1, 32, 8), 1, &out, &stats).ok());
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(out[0].ok);
    EXPECT_EQ(out[0].node, "head");
    const double prefill = 5 + 5 / speed + 2, decode = 1.5 + 1.5 / speed + 2;
    EXPECT_NEAR(out[0].ttft_ms, prefill, 1e-6);
    EXPECT_NEAR(out[0].e2e_ms, prefill + 7 * decode, 1e-6);
    EXPECT_EQ(stats.pipeline_steps, 8u);
    EXPECT_GT(stats.node_busy.at("tail")[0], 0);  // the tail computed (its busy share)
  }
  // The same model whole on the head: no hops, one node's time.
  SimSpec whole = PipelineSpec(1.0, 2);
  whole.nodes[0].pipeline.clear();
  std::vector<SimOutcome> out;
  SimStats stats;
  ASSERT_TRUE(Simulate(whole, {"llm"}, LlmBurst(1, 32, 8), 1, &out, &stats).ok());
  EXPECT_NEAR(out[0].e2e_ms, 10 + 7 * 3, 1e-6);
  EXPECT_EQ(stats.pipeline_steps, 0u);
}

TEST(SimulationTest, PipelineGroupsOverlapTheStages) {
  // 16 sequences at once: with 2 groups in flight both stages compute at the same time, so the
  // burst ends sooner than with 1 group (each group a decode batch of 8: 8 ms -> 6.5 ms per step,
  // per-stage 3.25 ms + hops, stages overlapped); every sequence finishes either way.
  double makespan[2] = {0, 0};
  for (int depth : {1, 2}) {
    const SimSpec spec = PipelineSpec(1.0, depth);
    std::vector<SimOutcome> out;
    SimStats stats;
    ASSERT_TRUE(Simulate(spec, {"llm"}, LlmBurst(16, 32, 64), 1, &out, &stats).ok());
    for (const SimOutcome& o : out) {
      ASSERT_TRUE(o.ok);
      makespan[depth - 1] = std::max(makespan[depth - 1], o.e2e_ms);
    }
  }
  EXPECT_LT(makespan[1], 0.85 * makespan[0]) << makespan[0] << " vs " << makespan[1];
}

TEST(SimulationTest, AStageCrashFailsItsSequencesAndTheRecoveredPipelineServesAgain) {
  SimSpec spec = PipelineSpec(1.0, 2);
  SimFault crash, recover;
  crash.kind = SimFault::Kind::kCrash;
  crash.node = "tail";
  crash.at_s = 0.05;
  recover.kind = SimFault::Kind::kRecover;
  recover.node = "tail";
  recover.at_s = 1;
  spec.options.faults = {crash, recover};
  spec.options.load_ms = 0;
  auto schedule = LlmBurst(4, 32, 200);                         // running when the tail dies
  for (auto& r : LlmBurst(2, 32, 8, 3)) schedule.push_back(r);  // after its recovery
  std::vector<SimOutcome> out;
  SimStats stats;
  ASSERT_TRUE(Simulate(spec, {"llm"}, schedule, 4, &out, &stats).ok());
  ASSERT_EQ(out.size(), 6u);
  for (int i = 0; i < 4; ++i) {  // cut mid-stream: a clear error, not a hang
    EXPECT_FALSE(out[i].ok);
    EXPECT_EQ(out[i].status, 503);
    EXPECT_LT(out[i].e2e_ms, 100);
  }
  for (int i = 4; i < 6; ++i) EXPECT_TRUE(out[i].ok) << out[i].status;
  EXPECT_GT(stats.pipeline_failed_steps, 0u);
  // Deterministic through the pipeline and its fault: the same run again, bit for bit.
  std::vector<SimOutcome> again;
  ASSERT_TRUE(Simulate(spec, {"llm"}, schedule, 4, &again, &stats).ok());
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(again[i].status, out[i].status);
    EXPECT_EQ(again[i].e2e_ms, out[i].e2e_ms);
    EXPECT_EQ(again[i].ttft_ms, out[i].ttft_ms);
  }
}

}  // namespace
}  // namespace epara::sim

namespace epara::sim {
namespace {

struct AdmissionRun {
  int refused = 0, admitted = 0, met = 0;
};

AdmissionRun RunOverloaded(bool adaptive, double work_ms) {
  SimSpec spec;
  spec.models = {VisionModel("seg", {{1, 40}, {2, 70}, {4, 120}}, 4, 2, 300)};
  spec.nodes = {Node("edge", 1.0, {"seg"})};
  spec.nodes[0].admission = router::Admission::kRejectEarly;
  spec.nodes[0].admission_adaptive = adaptive;
  spec.options = Quiet();
  spec.options.request_work_ms = {{256, work_ms}};
  const auto schedule = Poisson(200, 30, {"edge"}, 1, 11);  // ~6x what one node serves
  std::vector<SimOutcome> out;
  SimStats stats;
  EXPECT_TRUE(Simulate(spec, {"seg"}, schedule, 30, &out, &stats).ok());
  AdmissionRun r;
  for (const SimOutcome& o : out) {
    if (o.status == 503) {
      ++r.refused;
      continue;
    }
    ++r.admitted;
    r.met += o.ok && o.e2e_ms <= 300;
  }
  return r;
}

// Reject-early at 6x one node's capacity. Predictions charge what is left of the running batch
// (engine::BatchCost::Load), so with exact costs a fixed share (1.0) keeps at least 90% of what the
// node admits within the SLO (charging the mean residual, half a batch, let a quarter finish late),
// and the adaptive share costs it little. When each request's decode work, which the predictions do
// not see, costs 5 ms, the fixed share lets more than 10% finish late; the adaptive share
// (router::RollAdmissionShare, as the node's AdmissionTuner runs it) tightens until at least ~95%
// meet it, and so serves more requests within the SLO, refusing about as many.
TEST(SimulationTest, AdaptiveAdmissionShareKeepsWhatItAdmitsWithinTheSlo) {
  const auto share_met = [](const AdmissionRun& r) {
    return r.admitted > 0 ? static_cast<double>(r.met) / r.admitted : 0.0;
  };
  for (double work_ms : {0.0, 5.0}) {
    const AdmissionRun fixed = RunOverloaded(false, work_ms);
    const AdmissionRun adaptive = RunOverloaded(true, work_ms);
    ASSERT_GT(fixed.admitted, 0);
    ASSERT_GT(adaptive.admitted, 0);
    EXPECT_GE(share_met(adaptive), 0.9) << "work " << work_ms;
    EXPECT_LT(adaptive.refused, fixed.refused * 1.1) << "work " << work_ms;
    if (work_ms == 0) {
      EXPECT_GE(share_met(fixed), 0.9) << "the predictions no longer see the running batch";
      EXPECT_GE(adaptive.met, fixed.met * 0.95);
    } else {
      EXPECT_LT(share_met(fixed), 0.9) << "the unseen work no longer shows the problem";
      EXPECT_GT(adaptive.met, fixed.met * 1.1);
    }
    const std::string w = "_work" + std::to_string(static_cast<int>(work_ms));
    RecordProperty("met_fixed" + w, fixed.met);
    RecordProperty("admitted_fixed" + w, fixed.admitted);
    RecordProperty("refused_fixed" + w, fixed.refused);
    RecordProperty("met_adaptive" + w, adaptive.met);
    RecordProperty("admitted_adaptive" + w, adaptive.admitted);
    RecordProperty("refused_adaptive" + w, adaptive.refused);
  }
}

}  // namespace
}  // namespace epara::sim
