// The state-aware scheduler's loop in `epara up` (issue 6): demand for a service grows 4x at
// another ingress node; within a few periods the controller adds capacity there and the
// SLO-meeting rate recovers. With etcd, standby controllers take over within 5 s of the leader
// dying, and the data plane serves with no controller at all.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "client_load.h"
#include "image/image_codec.h"
#include "image/synthetic_scene.h"
#include "server_process.h"
#include "testing/etcd_process.h"
#include "up_fixture.h"

namespace epara {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Outcome {
  Clock::time_point sent;
  double ms = 0;
  int status = 0;
};

// Sends `rate` requests/s (open loop: one every 1/rate s, whatever the answers do) to `port`, at
// 0, 1/rate, ... for as long as that is before `seconds`; returns every request's outcome once all
// are answered.
std::vector<Outcome> OpenLoop(int port, const std::string& png, double rate, double seconds) {
  std::vector<std::future<Outcome>> pending;
  const auto start = Clock::now();
  for (int i = 0; i / rate < seconds; ++i) {
    std::this_thread::sleep_until(start + std::chrono::duration<double>(i / rate));  // pacing
    pending.push_back(std::async(std::launch::async, [port, &png] {
      Outcome o;
      o.sent = Clock::now();
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(60, 0);
      auto r = c.Post("/v1/segment/seg-demo", png, "image/png");
      o.ms = std::chrono::duration<double, std::milli>(Clock::now() - o.sent).count();
      o.status = r ? r->status : -1;
      return o;
    }));
  }
  std::vector<Outcome> out;
  for (auto& f : pending) out.push_back(f.get());
  return out;
}

// SLO-meeting answers per second among the requests sent in [from, to).
double Goodput(const std::vector<Outcome>& v, Clock::time_point from, Clock::time_point to,
               double slo_ms) {
  int good = 0;
  for (const Outcome& o : v)
    if (o.sent >= from && o.sent < to && o.status == 200 && o.ms <= slo_ms) ++good;
  return good / std::chrono::duration<double>(to - from).count();
}

TEST_F(UpE2ETest, DemandGrowingAtAnotherNodeGetsCapacityThereAndGoodputRecovers) {
  // Three embedded-class nodes (1 thread at half speed); seg-demo only on a.
  std::ofstream(root_ / "ctl.yaml") << "models: repo\ncontroller: {period_s: 1, grace_ms: 300}\n"
                                       "nodes:\n"
                                       "  - {id: a, class: embedded, serve: [seg-demo]}\n"
                                       "  - {id: b, class: embedded, serve: [tensor-demo]}\n"
                                       "  - {id: c, class: embedded, serve: [tensor-demo]}\n";
  testing::ChildProcess up;
  const json ep = StartUp("ctl", &up);
  ASSERT_TRUE(ep.is_object());
  std::map<std::string, int> port;
  for (const auto& n : ep["nodes"]) port[n["id"]] = n["api_port"];
  std::string png;
  ASSERT_TRUE(EncodePng(SyntheticScene(128, 128), &png).ok());
  const testing::SendFn segment = [&](httplib::Client& c) {
    return c.Post("/v1/segment/seg-demo", png, "image/png");
  };
  for (const char* id : {"a", "b", "c"})  // every node routes it (bounded)
    ASSERT_EQ(testing::SendUntilAnswered(port[id], segment, testing::Answered200), "") << id;
  // One node's batch-1 rate, measured: sequential requests at a.
  std::vector<double> solo;
  {
    httplib::Client c("127.0.0.1", port["a"]);
    c.set_read_timeout(60, 0);
    for (int i = 0; i < 5; ++i) {
      const auto s0 = Clock::now();
      auto r = c.Post("/v1/segment/seg-demo", png, "image/png");
      ASSERT_TRUE(r && r->status == 200);
      solo.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s0).count());
    }
  }
  std::sort(solo.begin(), solo.end());
  const double one_node = 1000 / solo[2];
  const double slo_ms = 500;  // the demo descriptor's
  // A precondition on the host, not a check of epara (speed is for the benchmarks): the test's
  // capacity arithmetic needs two requests to fit in the SLO. On a shared host degraded to ~3/4 of
  // a core per vCPU the median was 271 ms.
  if (solo[2] >= slo_ms / 2)
    GTEST_SKIP() << "host too slow for this test's SLO: batch-1 request median " << solo[2]
                 << " ms, needs < " << slo_ms / 2 << " ms";

  // Before: demand at a, a sixth of what one node serves one request at a time. After: 4x at b.
  // (This 2-core host runs all three nodes and the clients: more would measure the host.)
  const double rate = one_node / 6;
  const auto t0 = Clock::now();
  const std::vector<Outcome> before = OpenLoop(port["a"], png, rate, 4);
  // Over the schedule's window, as after the shift (not up to the last answer: with ~0.7 req/s
  // that window was ~0.6 s around one request, and "before" read 1.7/s for 0.7/s offered).
  const double goodput_before =
      Goodput(before, t0 + std::chrono::seconds(1), t0 + std::chrono::seconds(4), slo_ms);
  // The shift: 4x at b (more than a alone serves); the controller's periods are 1 s.
  const auto t1 = Clock::now();
  // Meanwhile: when does b hold an instance (the controller's periods are 1 s)?
  std::atomic<double> on_b_after_s{-1};
  std::thread watch([&] {
    httplib::Client b("127.0.0.1", port["b"]);
    b.set_bearer_token_auth(credential_);
    while (on_b_after_s < 0 && Clock::now() < t1 + std::chrono::seconds(10)) {
      auto r = b.Get("/v1/cluster");
      const json v = r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
      if (v.is_object())
        for (const auto& n : v["nodes"])
          if (n["self"] == true)
            for (const auto& i : n["instances"])
              if (i["model"] == "seg-demo")
                on_b_after_s = std::chrono::duration<double>(Clock::now() - t1).count();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling state, bounded
    }
  });
  const std::vector<Outcome> after = OpenLoop(port["b"], png, 4 * rate, 10);
  watch.join();
  // Three periods to see the demand and decide, plus loading and warming the instance.
  EXPECT_GE(on_b_after_s.load(), 0) << "no instance on b within 10 s\n" << up.Log();
  EXPECT_LE(on_b_after_s.load(), 5.0) << up.Log();
  const double goodput_after =
      Goodput(after, t1 + std::chrono::seconds(6), t1 + std::chrono::seconds(10), slo_ms);
  EXPECT_GT(goodput_after, 1.5 * goodput_before)
      << "one node " << one_node << "/s, before " << goodput_before << "/s at " << rate
      << "/s, after " << goodput_after << "/s at " << 4 * rate << "/s\n"
      << up.Log();
  EXPECT_GT(goodput_after, 0.6 * 4 * rate) << up.Log();
  for (const Outcome& o : after) EXPECT_EQ(o.status, 200);
  // The capacity went near the demand: b holds an instance now.
  httplib::Client b("127.0.0.1", port["b"]);
  b.set_bearer_token_auth(credential_);
  auto view = b.Get("/v1/cluster");
  ASSERT_TRUE(view);
  bool on_b = false;
  const json cluster_view = json::parse(view->body);
  for (const auto& n : cluster_view["nodes"])
    if (n["id"] == "b")
      for (const auto& i : n["instances"]) on_b = on_b || i["model"] == "seg-demo";
  EXPECT_TRUE(on_b) << view->body;
  EXPECT_NE(up.Log().find("controller: load   seg-demo"), std::string::npos) << up.Log();
  EXPECT_EQ(up.Stop(std::chrono::seconds(60)), 0) << up.Log();
}

// Two standalone controllers on one etcd: one leads; killed (SIGKILL, by PID), the other leads
// within 5 s. A node keeps answering requests while its controllers die.
TEST(ControllerElectionE2ETest, AStandbyLeadsWithinFiveSecondsAndTheNodeKeepsServing) {
  if (testing::FindEtcd().empty())
    GTEST_SKIP() << "etcd is not installed (scripts/setup.sh installs etcd-server)";
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("epara_elect_" + std::to_string(getpid()));
  fs::create_directories(root);
  struct Cleanup {
    fs::path p;
    ~Cleanup() { fs::remove_all(p); }
  } cleanup{root};
  std::string out, error;
  ASSERT_EQ(testing::RunEpara({"models", "demo", (root / "repo").string()}, &out), 0) << out;
  testing::EtcdProcess etcd;
  ASSERT_TRUE(etcd.Start(&error)) << error;
  const std::string store = "127.0.0.1:" + std::to_string(etcd.client_port());
  testing::NodeProcess node;
  ASSERT_TRUE(node.Start("n1",
                         "id: n1\napi: {port: 0}\nmodels: {dir: " + (root / "repo").string() +
                             ", serve: [tensor-demo]}\nstore: {kind: etcd, endpoint: \"" + store +
                             "\"}\n",
                         root.string(), &error))
      << error;
  testing::ChildProcess c1, c2;
  auto start = [&](testing::ChildProcess* c, const std::string& id) {
    return c->Start(
        {testing::EparaBinary(), "controller", "--store", store, "--period-s", "1", "--id", id},
        (root / (id + ".log")).string());
  };
  ASSERT_TRUE(start(&c1, "c1"));
  ASSERT_TRUE(start(&c2, "c2"));
  auto leads = [](testing::ChildProcess& c, const std::string& id) {
    return c.Log().find("controller: " + id + " is the leader") != std::string::npos;
  };
  bool one = false;
  for (auto until = Clock::now() + std::chrono::seconds(20); !one && Clock::now() < until;) {
    one = leads(c1, "c1") || leads(c2, "c2");
    if (!one) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling logs, bounded
  }
  ASSERT_TRUE(one) << c1.Log() << c2.Log();
  const bool first_is_c1 = leads(c1, "c1");
  EXPECT_FALSE(first_is_c1 && leads(c2, "c2")) << "two leaders";
  testing::ChildProcess& leader = first_is_c1 ? c1 : c2;
  testing::ChildProcess& standby = first_is_c1 ? c2 : c1;
  const std::string standby_id = first_is_c1 ? "c2" : "c1";
  const auto killed = Clock::now();
  leader.Kill();
  bool took_over = false;
  for (auto until = killed + std::chrono::seconds(10); !took_over && Clock::now() < until;) {
    took_over = leads(standby, standby_id);
    if (!took_over) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // bounded
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - killed).count();
  ASSERT_TRUE(took_over) << standby.Log();
  EXPECT_LE(seconds, 5.0);
  RecordProperty("takeover_seconds", std::to_string(seconds));
  // No controller at all: the node still serves.
  EXPECT_EQ(standby.Stop(std::chrono::seconds(30)), 0) << standby.Log();
  httplib::Client c("127.0.0.1", node.api_port());
  auto r = c.Post("/v2/models/tensor-demo/infer",
                  R"({"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},)"
                  R"({"name":"b","shape":[1,4],"datatype":"INT64","data":[1,1,1,1]},)"
                  R"({"name":"c","shape":[1,4],"datatype":"UINT8","data":[0,0,0,2]}]})",
                  "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(node.process().Stop(std::chrono::seconds(30)), 0) << node.Log();
}

// The digital twin in the real controller (issue 24): with `controller: {twin: true}` and profiles,
// every period's record carries the twin's forecast for the next period, and a period later the
// goodput the nodes observed (their cumulative SLO-met counts) beside it, with the twin's
// hindsight: the placement in force run at that period's own rate.
TEST_F(UpE2ETest, TheTwinForecastsEachPeriodAndTheNodesReportWhatWasMet) {
  // A profile of seg-demo (what `epara profile` writes; numbers of this order on this host).
  std::ofstream(root_ / "profiles.json") << R"({"profiles": [{"model": "seg-demo",
      "task": "segmentation", "engine": "libtorch", "device_class": "edge-server",
      "speed_gflops": 30, "memory_bytes": 8000000, "repeats": 3, "prefill": [], "decode": [],
      "batches": [{"batch": 1, "threads": 1, "latency": {"median_ms": 40, "min_ms": 39,
                   "max_ms": 45, "spread": 0.1}}]}]})";
  std::ofstream(root_ / "twin.yaml") << "models: repo\ncontroller: {period_s: 1, twin: true}\n"
                                        "nodes:\n"
                                        "  - {id: a, class: embedded, serve: [seg-demo]}\n"
                                        "  - {id: b, class: embedded, serve: [seg-demo]}\n";
  testing::ChildProcess up;
  const json ep = StartUp("twin", &up, {"--profiles", (root_ / "profiles.json").string()});
  ASSERT_TRUE(ep.is_object());
  std::map<std::string, int> port;
  for (const auto& n : ep["nodes"]) port[n["id"]] = n["api_port"];
  std::string png;
  ASSERT_TRUE(EncodePng(SyntheticScene(128, 128), &png).ok());
  // Requests at a, one after another, until a record shows a forecast and the goodput observed.
  httplib::Client a("127.0.0.1", port["a"]);
  a.set_read_timeout(60, 0);
  httplib::Client admin("127.0.0.1", port["a"]);  // the control plane asks for the credential
  admin.set_bearer_token_auth(credential_);
  json twin, last;
  int answered = 0;
  for (auto until = Clock::now() + std::chrono::seconds(60); Clock::now() < until;) {
    auto r = a.Post("/v1/segment/seg-demo", png, "image/png");
    answered += r && r->status == 200;
    auto p = admin.Get("/v1/plans");
    ASSERT_TRUE(p);
    ASSERT_EQ(p->status, 200) << p->body;
    const json plans = json::parse(p->body, nullptr, false);
    ASSERT_TRUE(plans.is_array()) << p->body;
    if (!plans.empty()) last = plans.back();
    for (const json& record : plans)
      if (record.contains("twin") && record["twin"].value("observed_last_period_rps", 0.0) > 0 &&
          record["twin"].value("forecast_rps", 0.0) > 0 &&
          record["twin"].value("last_period", json::object()).contains("hindsight_rps"))
        twin = record["twin"];
    if (twin.is_object()) break;
  }
  ASSERT_TRUE(twin.is_object()) << "no period record with a forecast and an observed goodput in "
                                   "60 s; "
                                << answered
                                << " requests answered; the last record: " << last.dump()
                                << "\nepara up's log:\n"
                                << testing::ReadTextFile((root_ / "twin-up.log").string());
  std::printf("the twin's record: %s (%d requests answered)\n", twin.dump().c_str(), answered);
  EXPECT_GT(answered, 0);
  // Requests one at a time: at most one node's batch-1 rate was offered, all of it within the SLO.
  EXPECT_GT(twin["offered_rps"].get<double>(), 0) << twin.dump();
  EXPECT_LE(twin["forecast_rps"].get<double>(), twin["offered_rps"].get<double>() + 1e-9)
      << "the twin cannot meet more requests than arrive: " << twin.dump();
  // The hindsight ran at the rate that entered in that period: some arrived, and it predicts no
  // more met than arrived; the observed goodput is the same period's.
  const json& h = twin["last_period"];
  EXPECT_GT(h["offered_rps"].get<double>(), 0) << twin.dump();
  EXPECT_GE(h["hindsight_rps"].get<double>(), 0) << twin.dump();
  EXPECT_LE(h["hindsight_rps"].get<double>(), h["offered_rps"].get<double>() + 1e-9) << twin.dump();
  EXPECT_DOUBLE_EQ(h["observed_rps"].get<double>(), twin["observed_last_period_rps"].get<double>());
  const std::string log = testing::ReadTextFile((root_ / "twin-up.log").string());
  EXPECT_NE(log.find("weighed in the digital twin"), std::string::npos);
  EXPECT_NE(log.find("at the period's own"), std::string::npos);
}

// Issue 24's controller-driven mode change: the node that runs llama-demo whole is killed, and no
// node left holds it whole (two boards of 256 MB; it needs ~350 MB). The controller rebuilds it
// as a pipeline over both boards (llm_modes.h); greedy decoding gives the same answer as before,
// now through two stages.
TEST_F(UpE2ETest, ALostLlmIsRebuiltAsAPipelineOverTheBoardsThatAreLeft) {
  std::ofstream(root_ / "llm-lost.yaml")
      << "models: repo\nsync_interval_ms: 200\ndown_after_ms: 1500\n"
         "controller: {period_s: 1, grace_ms: 200}\nnodes:\n"
         "  - {id: a, class: edge-server, serve: [llama-demo], cpu_threads: 1}\n"
         "  - {id: b, class: embedded, memory_mb: 256, serve: [tensor-demo]}\n"
         "  - {id: c, class: embedded, memory_mb: 256, serve: [tensor-demo]}\n";
  testing::ChildProcess up;
  const json ep = StartUp("llm-lost", &up);
  ASSERT_TRUE(ep.is_object());
  std::map<std::string, int> port;
  std::map<std::string, pid_t> pid;
  for (const auto& n : ep["nodes"]) {
    port[n["id"]] = n["api_port"];
    pid[n["id"]] = n["pid"];
  }
  const std::string body = json{
      {"model", "llama-demo"},
      {"prompt", "where did the server go"},
      {"max_tokens", 16},
      {"temperature", 0},
      {"ignore_eos", true}}.dump();
  httplib::Client b("127.0.0.1", port["b"]);
  b.set_read_timeout(60, 0);
  b.set_bearer_token_auth(credential_);
  // The answer while a serves it (asked at b: forwarded), once b routes it.
  std::string reference;
  for (auto until = Clock::now() + std::chrono::seconds(30);
       reference.empty() && Clock::now() < until;) {
    auto r = b.Post("/v1/completions", body, "application/json");
    if (r && r->status == 200)
      reference = json::parse(r->body)["choices"][0]["text"].get<std::string>();
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // bounded
  }
  ASSERT_FALSE(reference.empty());
  // Until the controller has run a period that saw the LLM (its record is in the store).
  bool planned = false;
  for (auto until = Clock::now() + std::chrono::seconds(30); !planned && Clock::now() < until;) {
    auto r = b.Get("/v1/plans");
    const json plans = r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
    planned = plans.is_array() && !plans.empty();
    if (!planned) std::this_thread::sleep_for(std::chrono::milliseconds(50));  // bounded
  }
  ASSERT_TRUE(planned) << up.Log();

  ASSERT_EQ(kill(pid["a"], SIGKILL), 0);
  const auto killed = Clock::now();
  // Until it is answered again, bounded: the lease runs out (1.5 s), the controller re-plans at
  // once and loads the stage, then the head.
  json answer;
  std::string by, last;
  for (auto until = Clock::now() + std::chrono::seconds(90);
       answer.is_null() && Clock::now() < until;) {
    auto r = b.Post("/v1/completions", body, "application/json");
    if (r && r->status == 200) {
      answer = json::parse(r->body);
      by = r->get_header_value("X-Epara-Node");
    } else {
      last = r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // bounded
    }
  }
  ASSERT_FALSE(answer.is_null()) << "never answered again; last: " << last << "\n" << up.Log();
  RecordProperty("seconds_to_answer_again",
                 std::to_string(std::chrono::duration<double>(Clock::now() - killed).count()));
  EXPECT_EQ(answer["choices"][0]["text"], reference);
  EXPECT_EQ(answer["usage"]["completion_tokens"], 16);
  EXPECT_NE(by, "a");
  // The cluster view shows the pipeline: a head on one board, the stage on the other.
  auto view = b.Get("/v1/cluster");
  ASSERT_TRUE(view && view->status == 200);
  std::string head, stage;
  const json cluster_view = json::parse(view->body);
  int head_end = -1, stage_first = -2, stage_end = 0;
  for (const auto& n : cluster_view["nodes"]) {
    for (const auto& i : n["instances"])
      if (i["model"] == "llama-demo" && i.contains("pipeline")) {
        head = n["id"];
        head_end = i["pipeline"]["end_layer"];
      }
    for (const auto& s : n.value("stages", json::array()))
      if (s["model"] == "llama-demo") {
        stage = n["id"];
        stage_first = s["first_layer"];
        stage_end = s["end_layer"];
      }
  }
  // The layers split by the boards' measured speeds, all 8 covered.
  EXPECT_EQ(head_end, stage_first);
  EXPECT_EQ(stage_end, 8);
  EXPECT_TRUE((head == "b" && stage == "c") || (head == "c" && stage == "b"))
      << "head " << head << ", stage " << stage << ": " << view->body;
  // The period record says what was done and why.
  auto plans = b.Get("/v1/plans");
  ASSERT_TRUE(plans && plans->status == 200);
  EXPECT_NE(plans->body.find("a pipeline over 2 nodes"), std::string::npos) << plans->body;
  // The controller logs the head's step once every node routes to it, which may be after this
  // node answered: a bounded wait for the line.
  const std::string step =
      "pipeline head llama-demo on " + head + " [0, " + std::to_string(head_end) + ") -> " + stage;
  for (auto until = Clock::now() + std::chrono::seconds(30);
       up.Log().find(step) == std::string::npos && Clock::now() < until;)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a log, bounded
  EXPECT_NE(up.Log().find(step), std::string::npos) << up.Log();
  (void)up.Stop(std::chrono::seconds(60));  // a node died: epara up may report it
}

// A pipeline the cluster file declares beside a whole instance is capacity (FS-MD), not the
// remains of a recovery: the controller's LLM modes keep it period after period (they tore it
// down within one period before session 28).
TEST_F(UpE2ETest, ADeclaredPipelineBesideTheWholeInstanceIsKept) {
  std::ofstream(root_ / "llm-declared.yaml")
      << "models: repo\nsync_interval_ms: 200\ndown_after_ms: 1500\n"
         "controller: {period_s: 0.5}\nnodes:\n"
         "  - {id: a, class: edge-server, serve: [llama-demo], cpu_threads: 1}\n"
         "  - {id: b, class: embedded, memory_mb: 256, serve: [tensor-demo]}\n"
         "  - {id: c, class: embedded, memory_mb: 256, serve: [tensor-demo]}\n"
         "pipelines:\n  llama-demo: {stages: [b, c]}\n";
  testing::ChildProcess up;
  const json ep = StartUp("llm-declared", &up);
  ASSERT_TRUE(ep.is_object());
  std::map<std::string, int> port;
  for (const auto& n : ep["nodes"]) port[n["id"]] = n["api_port"];
  httplib::Client b("127.0.0.1", port["b"]);
  b.set_read_timeout(30, 0);
  b.set_bearer_token_auth(credential_);
  // Until the controller has run 4 periods (each records itself), bounded.
  json plans;
  for (auto until = Clock::now() + std::chrono::seconds(60); Clock::now() < until;) {
    auto r = b.Get("/v1/plans");
    plans = r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
    if (plans.is_array() && plans.size() >= 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling a record, bounded
  }
  ASSERT_TRUE(plans.is_array() && plans.size() >= 4) << up.Log();
  EXPECT_EQ(plans.dump().find("unload the pipeline"), std::string::npos) << plans.dump();
  // The view still shows the whole instance on a, the head on b and its stage on c.
  auto view = b.Get("/v1/cluster");
  ASSERT_TRUE(view && view->status == 200);
  std::string whole, head, stage;
  const json cluster_view = json::parse(view->body);
  for (const auto& n : cluster_view["nodes"]) {
    const std::string id = n["id"].get<std::string>();
    for (const auto& i : n["instances"])
      if (i["model"] == "llama-demo") (i.contains("pipeline") ? head : whole) = id;
    for (const auto& s : n.value("stages", json::array()))
      if (s["model"] == "llama-demo") stage = id;
  }
  EXPECT_EQ(whole, "a") << view->body;
  EXPECT_EQ(head, "b") << view->body;
  EXPECT_EQ(stage, "c") << view->body;
  EXPECT_EQ(up.Stop(std::chrono::seconds(60)), 0) << up.Log();
}

// FS-MD from measured demand (issue 24, `controller: {llm_expand: true}`), under load: llama-demo
// runs whole on a slow node (10% of a core: a 400-token prompt alone takes longer than its 1 s
// time to first token), so its requests miss the SLO and the controller builds a pipeline over
// the two boards beside it; when the load stops and the demand falls, it tears the pipeline down.
// Every request sent meanwhile ends with its full answer or a clear error.
TEST_F(UpE2ETest, AnLlmMissingItsSloGainsAPipelineUnderLoadThatGoesWhenTheLoadEnds) {
  std::ofstream(root_ / "llm-expand.yaml")
      << "models: repo\nsync_interval_ms: 200\ndown_after_ms: 1500\n"
         "controller: {period_s: 1, grace_ms: 200, llm_expand: true}\nnodes:\n"
         "  - {id: a, class: edge-server, serve: [llama-demo], cpu_threads: 1, cpu_quota: 0.1}\n"
         "  - {id: b, class: embedded, memory_mb: 256, serve: [tensor-demo]}\n"
         "  - {id: c, class: embedded, memory_mb: 256, serve: [tensor-demo]}\n";
  testing::ChildProcess up;
  const json ep = StartUp("llm-expand", &up);
  ASSERT_TRUE(ep.is_object());
  std::map<std::string, int> port;
  for (const auto& n : ep["nodes"]) port[n["id"]] = n["api_port"];
  // The pipeline's head and stage nodes in the cluster view (empty: none).
  const auto pipeline = [&](std::string* head, std::string* stage) {
    httplib::Client admin("127.0.0.1", port["a"]);
    admin.set_bearer_token_auth(credential_);
    head->clear();
    stage->clear();
    auto view = admin.Get("/v1/cluster");
    if (!view || view->status != 200) return;
    const json v = json::parse(view->body, nullptr, false);
    if (!v.is_object()) return;
    for (const auto& n : v["nodes"]) {
      const std::string id = n["id"].get<std::string>();
      for (const auto& i : n["instances"])
        if (i["model"] == "llama-demo" && i.contains("pipeline")) *head = id;
      for (const auto& st : n.value("stages", json::array()))
        if (st["model"] == "llama-demo") *stage = id;
    }
  };
  const std::string body = json{
      {"model", "llama-demo"},
      {"prompt", std::string(400, 'x')},
      {"max_tokens", 8},
      {"temperature", 0},
      {"ignore_eos", true}}.dump();
  std::atomic<bool> stop{false};
  std::mutex mu;
  int answered = 0, refused = 0;
  std::vector<std::string> bad;  // anything but a full answer or a clear error
  const auto client = [&] {
    httplib::Client c("127.0.0.1", port["b"]);
    c.set_read_timeout(120, 0);
    while (!stop.load()) {
      auto r = c.Post("/v1/completions", body, "application/json");
      std::lock_guard<std::mutex> lock(mu);
      if (!r) {
        bad.push_back(httplib::to_string(r.error()));
      } else if (r->status == 200) {
        const json j = json::parse(r->body, nullptr, false);
        if (j.is_object() && j["usage"]["completion_tokens"] == 8)
          ++answered;
        else
          bad.push_back(r->body);
      } else {
        const json j = json::parse(r->body, nullptr, false);
        if (r->status >= 500 && j.is_object() && j.contains("error"))
          ++refused;  // a clear error (e.g. 503 while the queue is full)
        else
          bad.push_back(std::to_string(r->status) + " " + r->body);
      }
    }
  };
  std::vector<std::thread> clients;
  for (int i = 0; i < 6; ++i) clients.emplace_back(client);
  std::string head, stage;
  for (auto until = Clock::now() + std::chrono::seconds(90);
       (head.empty() || stage.empty()) && Clock::now() < until;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling the view, bounded
    pipeline(&head, &stage);
  }
  stop = true;
  for (std::thread& t : clients) t.join();
  ASSERT_FALSE(head.empty()) << "no pipeline was built\n" << up.Log();
  EXPECT_TRUE((head == "b" && stage == "c") || (head == "c" && stage == "b")) << head << stage;
  EXPECT_NE(up.Log().find("met the SLO on its whole instances (1): a pipeline over 2 nodes"),
            std::string::npos)
      << up.Log();
  // The load has ended: the demand falls and the pipeline goes, bounded.
  for (auto until = Clock::now() + std::chrono::seconds(60);
       (!head.empty() || !stage.empty() ||
        up.Log().find("it was built for") == std::string::npos) &&
       Clock::now() < until;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling the view, bounded
    pipeline(&head, &stage);
  }
  EXPECT_TRUE(head.empty() && stage.empty()) << head << " " << stage << "\n" << up.Log();
  EXPECT_NE(up.Log().find("it was built for"), std::string::npos) << up.Log();
  // Still answered whole on a.
  httplib::Client c("127.0.0.1", port["b"]);
  c.set_read_timeout(120, 0);
  auto last = c.Post("/v1/completions", body, "application/json");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->status, 200) << last->body;
  EXPECT_GT(answered, 0);
  EXPECT_TRUE(bad.empty()) << bad.size() << " requests ended badly, first: " << bad.front();
  RecordProperty("answered", answered);
  RecordProperty("refused", refused);
  EXPECT_EQ(up.Stop(std::chrono::seconds(60)), 0) << up.Log();
}

}  // namespace
}  // namespace epara
