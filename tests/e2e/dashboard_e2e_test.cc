// The dashboard (issue 26) in a real browser: headless Chromium (Debian's `chromium`, installed by
// scripts/setup.sh for the tests) loads GET /dashboard from a 3-node `epara up` cluster, with the
// cluster credential in the link's fragment, runs the page's script and dumps the DOM: the three
// nodes and their models are shown, a request routed during the test appears among the decisions
// with its explanation, the cluster-wide SLO window counts it (GET /v1/slo?scope=cluster, and the
// page's SLO table), the controller's period records are served (GET /v1/plans) and shown, and a
// node killed during the test is shown down within 5 s. A screenshot
// is left in the test's working directory (dashboard_e2e.png). Skips when Chromium is absent.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "up_fixture.h"

namespace epara {
namespace {

const char* kChromium = "/usr/bin/chromium";

// Runs the browser on `url` (bounded by `timeout 90`) and returns what it printed: the DOM after
// the page's script ran for `budget_ms` of virtual time.
std::string DumpDom(const std::string& url, int budget_ms, const std::string& screenshot = "") {
  std::string cmd =
      std::string("timeout 90 ") + kChromium +
      " --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir=" +
      std::filesystem::temp_directory_path().string() + "/epara-chromium-" +
      std::to_string(getpid()) + " --virtual-time-budget=" + std::to_string(budget_ms) +
      (screenshot.empty() ? " --dump-dom '"
                          : " --window-size=1200,800 --screenshot=" + screenshot + " '") +
      url + "' 2>/dev/null";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    pclose(p);
  }
  return out;
}

class DashboardE2ETest : public UpE2ETest {};

TEST_F(DashboardE2ETest, ShowsTheNodesTheirModelsARoutedRequestAndANodeThatDied) {
  if (!std::filesystem::exists(kChromium))
    GTEST_SKIP() << "no " << kChromium << " (scripts/setup.sh installs it with EPARA_TEST_TOOLS=1)";
  std::ofstream(root_ / "dash.yaml") << "models: repo\nnodes:\n"
                                        "  - {id: edge, class: edge-server, serve: [seg-demo]}\n"
                                        "  - {id: board, class: embedded, serve: [tensor-demo]}\n"
                                        "  - {id: micro, class: microcomputer, serve: [seg-demo]}\n"
                                        "controller: {period_s: 1}\n";
  testing::ChildProcess up;
  const json ep = StartUp("dash", &up);
  ASSERT_TRUE(ep.is_object());
  std::map<std::string, int> port;
  std::map<std::string, pid_t> pid;
  for (const auto& n : ep["nodes"]) {
    port[n["id"]] = n["api_port"];
    pid[n["id"]] = n["pid"].get<pid_t>();
  }
  ASSERT_EQ(port.size(), 3u);
  const std::string url =
      "http://127.0.0.1:" + std::to_string(port["board"]) + "/dashboard#key=" + credential_;

  // A segmentation request at board, which does not hold seg-demo: routed to edge or micro.
  httplib::Client board("127.0.0.1", port["board"]);
  board.set_read_timeout(60, 0);
  const std::string png =
      testing::ReadTextFile((root_ / "repo" / "seg-demo" / "sample.png").string());
  std::string routed_to;
  int sent = 0, served = 0;
  for (auto until = Clock::now() + std::chrono::seconds(30);
       routed_to.empty() && Clock::now() < until;) {  // bounded: until board has its peers' digests
    auto r = board.Post("/v1/segment/seg-demo", png.empty() ? std::string("x") : png, "image/png");
    ASSERT_TRUE(r);
    ++sent;
    if (r->status == 200) {
      ++served;
      routed_to = r->get_header_value("X-Epara-Node");
    }
  }
  ASSERT_FALSE(routed_to.empty()) << "no seg-demo request was served through board";
  // One more entering at edge: the cluster-wide SLO window merges both nodes' ingress.
  httplib::Client edge("127.0.0.1", port["edge"]);
  edge.set_read_timeout(60, 0);
  auto at_edge = edge.Post("/v1/segment/seg-demo", png, "image/png");
  ASSERT_TRUE(at_edge);
  ASSERT_EQ(at_edge->status, 200) << at_edge->body;
  board.set_bearer_token_auth(credential_);
  auto slo = board.Get("/v1/slo?scope=cluster");
  ASSERT_TRUE(slo);
  ASSERT_EQ(slo->status, 200) << slo->body;
  const json window = json::parse(slo->body);
  EXPECT_EQ(window["nodes"].size(), 3u) << slo->body;
  const json& seg = window["models"]["seg-demo"];
  ASSERT_TRUE(seg.is_object()) << slo->body;
  EXPECT_GE(seg["requests"].get<int>(), served + 1) << slo->body;
  EXPECT_LE(seg["requests"].get<int>(), sent + 1) << slo->body;
  EXPECT_GT(seg["p50_ms"].get<double>(), 0) << slo->body;
  // The controller's period records (period 1 s), bounded.
  json plans = json::array();
  for (auto until = Clock::now() + std::chrono::seconds(30);
       plans.empty() && Clock::now() < until;) {
    auto r = board.Get("/v1/plans");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    plans = json::parse(r->body);
    if (plans.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling
  }
  ASSERT_FALSE(plans.empty()) << "no controller period record within 30 s";
  EXPECT_TRUE(plans.back().contains("predicted_goodput_rps")) << plans.dump();

  const std::string dom = DumpDom(url, 6000);
  ASSERT_FALSE(dom.empty()) << "Chromium printed nothing";
  for (const char* id : {"edge", "board", "micro"})
    EXPECT_NE(dom.find(std::string("data-node=\"") + id + "\" data-state=\"up\""),
              std::string::npos)
        << id << " not shown up:\n"
        << dom.substr(0, 4000);
  EXPECT_NE(dom.find("seg-demo (replica"), std::string::npos);
  EXPECT_NE(dom.find("tensor-demo (replica"), std::string::npos);
  EXPECT_NE(dom.find("forward to " + routed_to), std::string::npos)
      << "the routed request is not among the decisions:\n"
      << dom.substr(0, 6000);
  EXPECT_NE(dom.find("data-model=\"seg-demo\""), std::string::npos)
      << "seg-demo not in the SLO table:\n"
      << dom.substr(0, 6000);
  EXPECT_NE(dom.find("from 3 node(s)"), std::string::npos);
  EXPECT_NE(dom.find("data-period="), std::string::npos) << "no controller plan shown";
  EXPECT_EQ(dom.find("id=\"status\" class=\"err\""), std::string::npos)
      << "the page reported an error";
  DumpDom(url, 6000, (std::filesystem::current_path() / "dashboard_e2e.png").string());

  // micro dies: the page shows it down within 5 s (its digest ages past down_after, 3 s).
  ASSERT_EQ(kill(pid["micro"], SIGKILL), 0);
  const auto killed = Clock::now();
  bool down = false;
  double shown_after_s = 0;
  while (!down && Clock::now() - killed < std::chrono::seconds(5)) {
    const auto started = Clock::now();
    down = DumpDom(url, 2500).find("data-node=\"micro\" data-state=\"down\"") != std::string::npos;
    shown_after_s = std::chrono::duration<double>(started - killed).count();
  }
  EXPECT_TRUE(down) << "micro not shown down within 5 s of its death:\n" << DumpDom(url, 2500);
  std::printf("micro shown down in a page loaded %.1f s after the kill\n", shown_after_s);
  EXPECT_EQ(up.Stop(std::chrono::seconds(60)), 0) << up.Log();
}

}  // namespace
}  // namespace epara
