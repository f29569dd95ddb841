#include "loadgen/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "loadgen/svg_chart.h"

namespace epara::loadgen {
namespace {

// A run of `n` requests of which `met` meet a 100 ms e2e SLO, `rejected` got a 503.
RunLog MakeRun(const std::string& policy, double rate, int n, int met, int rejected = 0) {
  RunLog r;
  r.policy = policy;
  r.workload = "w";
  r.rate = rate;
  r.duration_s = 10;
  for (int i = 0; i < n; ++i) {
    workload::RequestRecord rec;
    rec.sent_s = i * 0.1;
    const bool is_rejected = i >= n - rejected;
    rec.ok = !is_rejected;
    rec.e2e_ms = i < met ? 50 : 150;
    r.records.push_back(rec);
    r.service.push_back(0);
    r.status.push_back(is_rejected ? 503 : 200);
  }
  return r;
}

std::map<std::string, std::vector<ServiceInfo>> Services() {
  ServiceInfo s;
  s.model = "m";
  s.slo.e2e_ms = 100;
  return {{"w", {s}}};
}

TEST(ReportTest, GoodputPerPolicyAndTheRatioToTheStrongestBaseline) {
  // epara: 100%, 95%, 80% at 2, 4, 6 req/s -> goodput (90%) interpolated: 4 + 2 * (5/15) = 4.67.
  // triton-like: 100%, 70% at 2, 4 -> 2 + 2 * (10/30) = 2.67; replicate-rr: 50% at 2 -> 0.
  const std::vector<RunLog> runs = {
      MakeRun("epara", 2, 100, 100),      MakeRun("epara", 4, 100, 95),
      MakeRun("epara", 6, 100, 80, 10),   MakeRun("triton-like", 2, 100, 100),
      MakeRun("triton-like", 4, 100, 70), MakeRun("replicate-rr", 2, 100, 50)};
  const auto s = Summarize(runs, Services());
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(s[0].policies.size(), 3u);
  EXPECT_NEAR(s[0].policies[0].goodput90, 4 + 2.0 * 5 / 15, 1e-9);
  EXPECT_NEAR(s[0].policies[1].goodput90, 2 + 2.0 * 10 / 30, 1e-9);
  EXPECT_EQ(s[0].policies[2].goodput90, 0);
  EXPECT_EQ(s[0].strongest_baseline, "triton-like");
  EXPECT_NEAR(s[0].ratio, (4 + 2.0 * 5 / 15) / (2 + 2.0 * 10 / 30), 1e-9);
  // Counts: epara's 6 req/s run had 80 met, 10 late (ok but slow), 10 rejected.
  EXPECT_EQ(s[0].policies[0].ok, 100 + 95 + 80);
  EXPECT_EQ(s[0].policies[0].late, 5 + 10);
  EXPECT_EQ(s[0].policies[0].rejected, 10);
  EXPECT_EQ(s[0].policies[0].failed, 0);
  EXPECT_NEAR(s[0].policies[0].slo_meeting_rps[1], 9.5, 1e-9);
  EXPECT_TRUE(s[0].policies[0].limit_reached);
  // replicate-rr missed 90% at its lowest rate: not bracketed; epara and triton-like are.
  EXPECT_EQ(
      UnbracketedPolicies(s[0]),
      (std::vector<std::string>{"replicate-rr (missed 90% at the lowest swept rate: lower it)"}));
  const auto top =
      Summarize({MakeRun("epara", 2, 100, 100), MakeRun("epara", 4, 100, 95)}, Services());
  EXPECT_EQ(UnbracketedPolicies(top[0]),
            (std::vector<std::string>{"epara (met 90% at every swept rate: raise the top rate)"}));
}

// Repeated runs: each repeat's goodput from its own sweep; the summary's goodput is their mean with
// a 95% t interval, the attainment by rate their mean; the ratio counts as measured only when
// epara's and the strongest baseline's intervals separate.
TEST(ReportTest, RepeatsGiveAMeanGoodputWithItsIntervalAndTellWhetherIntervalsSeparate) {
  const auto repeat = [](RunLog r, int k) {
    r.repeat = k;
    return r;
  };
  // epara: 100% at 2, then 95% / 70% / 90% at 4 (repeats 0, 1, 2), 0% at 6.
  //   goodputs 4 + 2 * 5/95 = 4.105..., 2 + 2 * 10/30 = 2.667..., 4 (exactly 90% at 4).
  // alpaserve-like: 100% at 2, 50% at 4, each repeat: 2 + 2 * 10/50 = 2.4 (no spread).
  std::vector<RunLog> runs;
  const int met4[] = {95, 70, 90};
  for (int k = 0; k < 3; ++k) {
    runs.push_back(repeat(MakeRun("epara", 2, 100, 100), k));
    runs.push_back(repeat(MakeRun("epara", 4, 100, met4[k]), k));
    runs.push_back(repeat(MakeRun("epara", 6, 100, 0), k));
    runs.push_back(repeat(MakeRun("alpaserve-like", 2, 100, 100), k));
    runs.push_back(repeat(MakeRun("alpaserve-like", 4, 100, 50), k));
  }
  auto s = Summarize(runs, Services());
  ASSERT_EQ(s.size(), 1u);
  const PolicySummary& e = s[0].policies[0];
  EXPECT_EQ(e.repeats, 3);
  ASSERT_EQ(e.sweep.size(), 3u);  // one point per rate, not per run
  EXPECT_NEAR(e.sweep[1].attainment, 0.85, 1e-12);
  const std::vector<double> each = {4 + 2.0 * 5 / 95, 2 + 2.0 * 10 / 30, 4};
  const double mean = (each[0] + each[1] + each[2]) / 3;
  double ss = 0;
  for (double g : each) ss += (g - mean) * (g - mean);
  const double half = 4.303 * std::sqrt(ss / 2) / std::sqrt(3.0);
  EXPECT_NEAR(e.goodput90, mean, 1e-9);
  EXPECT_NEAR(e.goodput90_interval.lo, mean - half, 1e-9);
  EXPECT_NEAR(e.goodput90_interval.hi, mean + half, 1e-9);
  EXPECT_NEAR(s[0].policies[1].goodput90, 2.4, 1e-9);
  EXPECT_NEAR(s[0].ratio, mean / 2.4, 1e-9);
  // The spread of epara's repeats reaches below 2.4: the ratio is not a measured difference.
  ASSERT_LT(e.goodput90_interval.lo, 2.4);
  EXPECT_FALSE(s[0].separated);
  // With epara's repeats alike (95% at 4 each time) the intervals separate.
  for (RunLog& r : runs)
    if (r.policy == "epara" && r.rate == 4) r = repeat(MakeRun("epara", 4, 100, 95), r.repeat);
  s = Summarize(runs, Services());
  EXPECT_NEAR(s[0].policies[0].goodput90, 4 + 2.0 * 5 / 95, 1e-9);
  EXPECT_TRUE(s[0].separated);
}

TEST(ReportTest, WritesJsonMarkdownAndCharts) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("epara_report_" + std::to_string(getpid()));
  const std::vector<RunLog> runs = {MakeRun("epara", 2, 20, 20), MakeRun("triton-like", 2, 20, 10)};
  ASSERT_TRUE(WriteReport(dir.string(), "epara bench ...", runs, Services(), {"a note"}).ok());
  std::ifstream in(dir / "report.json");
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["command"], "epara bench ...");
  EXPECT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][0]["records"].size(), 20u);
  const nlohmann::json w = j["workloads"][0];
  EXPECT_EQ(w["strongest_baseline"], "triton-like");
  std::stringstream md;
  md << std::ifstream(dir / "report.md").rdbuf();
  EXPECT_NE(md.str().find("| epara | >= 2.00"), std::string::npos) << md.str();
  EXPECT_NE(md.str().find("a note"), std::string::npos);
  for (const char* f : {"attainment_w.svg", "goodput_w.svg", "slo_scale_w.svg", "cdf_w.svg"}) {
    std::stringstream svg;
    svg << std::ifstream(dir / f).rdbuf();
    EXPECT_EQ(svg.str().rfind("<svg", 0), 0u) << f;
    EXPECT_NE(svg.str().find("triton-like"), std::string::npos) << f;  // the legend
  }
  std::filesystem::remove_all(dir);
}

TEST(ReportTest, MissesAreCountedOnceByTheirFirstReasonAndByNode) {
  ServiceInfo llm;
  llm.llm = true;
  llm.slo.ttft_ms = 1000;
  llm.slo.tpot_ms = 100;
  RunLog r;
  r.policy = "epara";
  r.workload = "w";
  r.rate = 4;
  r.duration_s = 10;
  // met; rejected; cut (no answer, no node); late TTFT (and TPOT: counted as TTFT); late TPOT.
  const struct {
    bool ok;
    int status;
    double ttft, tpot;
    const char* node;
  } rows[] = {{true, 200, 500, 50, "a"},
              {false, 503, 0, 0, "b"},
              {false, 0, 0, 0, ""},
              {true, 200, 1500, 150, "a"},
              {true, 200, 900, 120, "b"}};
  for (const auto& row : rows) {
    workload::RequestRecord rec;
    rec.ok = row.ok;
    rec.ttft_ms = row.ttft;
    rec.tpot_ms = row.tpot;
    r.records.push_back(rec);
    r.service.push_back(0);
    r.status.push_back(row.status);
    r.ingress.push_back("in");
    r.node.push_back(row.node);
  }
  const MissBreakdown m = BreakDownMisses(r, {llm});
  EXPECT_EQ(m.requests, 5);
  EXPECT_EQ(m.missed, 4);
  EXPECT_EQ(m.rejected, 1);
  EXPECT_EQ(m.failed, 1);
  EXPECT_EQ(m.late_e2e, 0);
  EXPECT_EQ(m.late_ttft, 1);
  EXPECT_EQ(m.late_tpot, 1);
  const std::map<std::string, int> nodes = {{"a", 1}, {"b", 2}, {"ingress in", 1}};
  EXPECT_EQ(m.by_node, nodes);
}

TEST(ReportTest, TheReportBreaksDownMissesWhereEparaFirstFellBelow90Percent) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("epara_report_miss_" + std::to_string(getpid()));
  // epara: 100%, 80% (10 late, 10 rejected) at 2, 4 req/s; triton-like: 60% at 4.
  const std::vector<RunLog> runs = {MakeRun("epara", 2, 100, 100), MakeRun("epara", 4, 100, 80, 10),
                                    MakeRun("triton-like", 2, 100, 100),
                                    MakeRun("triton-like", 4, 100, 60)};
  ASSERT_TRUE(WriteReport(dir.string(), "epara bench ...", runs, Services(), {}).ok());
  std::stringstream md;
  md << std::ifstream(dir / "report.md").rdbuf();
  EXPECT_NE(md.str().find("Where requests were missed at 4 req/s"), std::string::npos) << md.str();
  EXPECT_NE(md.str().find("| epara | 20 of 100 | 10 | 0 | 10 | 0 | 0 |"), std::string::npos)
      << md.str();
  EXPECT_NE(md.str().find("| triton-like | 40 of 100 | 0 | 0 | 40 | 0 | 0 |"), std::string::npos)
      << md.str();
  std::ifstream in(dir / "report.json");
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["workloads"][0]["misses"].size(), 2u);
  std::filesystem::remove_all(dir);
}

TEST(ReportTest, ReportRunsReadBackAsWritten) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("epara_report_read_" + std::to_string(getpid()));
  RunLog a = MakeRun("epara", 2, 20, 15, 3);
  a.repeat = 2;
  a.lateness_ms.assign(20, 0.25);
  a.ingress.assign(20, "edge-1");
  a.node.assign(20, "board-1");
  a.lateness_p99_ms = 0.5;
  a.realtime = true;
  a.node_busy["board-1"] = {0.5, 0.75};
  ASSERT_TRUE(WriteReport(dir.string(), "epara bench x", {a}, Services(), {"n1", "n2"}).ok());
  std::vector<RunLog> back;
  std::string command;
  std::vector<std::string> notes;
  ASSERT_TRUE(ReadReportRuns((dir / "report.json").string(), &back, &command, &notes).ok());
  EXPECT_EQ(command, "epara bench x");
  EXPECT_EQ(notes, (std::vector<std::string>{"n1", "n2"}));
  ASSERT_EQ(back.size(), 1u);
  const RunLog& b = back[0];
  EXPECT_EQ(b.policy, "epara");
  EXPECT_EQ(b.rate, 2);
  EXPECT_EQ(b.repeat, 2);
  EXPECT_EQ(b.lateness_p99_ms, 0.5);
  EXPECT_TRUE(b.realtime);
  EXPECT_EQ(b.node_busy, a.node_busy);
  ASSERT_EQ(b.records.size(), 20u);
  for (size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(b.records[i].ok, a.records[i].ok) << i;
    EXPECT_EQ(b.records[i].e2e_ms, a.records[i].e2e_ms) << i;
    EXPECT_EQ(b.status[i], a.status[i]) << i;
  }
  EXPECT_EQ(b.node, a.node);
  EXPECT_EQ(b.ingress, a.ingress);
  // The same summary from the read-back runs.
  EXPECT_EQ(Summarize(back, Services())[0].policies[0].ok, 15);
  // A file that is not a report is an error, not a crash.
  std::ofstream(dir / "bad.json") << R"({"runs": [{"policy": 3}]})";
  const Status s = ReadReportRuns((dir / "bad.json").string(), &back, &command, &notes);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_EQ(ReadReportRuns((dir / "none.json").string(), &back, &command, &notes).code(),
            StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(ReportTest, SvgChartScalesPointsIntoThePlotAndEscapesText) {
  const std::string svg = SvgLineChart({{"a<b", {{0, 0}, {10, 100}}}}, {"t & t", "x", "y"});
  EXPECT_NE(svg.find("a&lt;b"), std::string::npos);
  EXPECT_NE(svg.find("t &amp; t"), std::string::npos);
  // x 0 -> the plot's left edge (70), x 10 -> its right edge (640 - 170).
  EXPECT_NE(svg.find("points=\"70,"), std::string::npos) << svg;
  EXPECT_NE(svg.find(" 470,"), std::string::npos) << svg;
}

}  // namespace
}  // namespace epara::loadgen
