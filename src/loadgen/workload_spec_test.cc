#include "loadgen/workload_spec.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

namespace epara::loadgen {
namespace {

// A fresh directory for one test's files (the test removes it).
std::filesystem::path FreshDir(const std::string& prefix) {
  const auto dir = std::filesystem::temp_directory_path() / (prefix + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

// An Azure-trace CSV: the header, then `rows` lines written by `row(csv, i)`.
void WriteTrace(const std::filesystem::path& file, int rows,
                const std::function<void(std::ostream&, int)>& row) {
  std::ofstream csv(file);
  csv << "TIMESTAMP,ContextTokens,GeneratedTokens\n";
  for (int i = 0; i < rows; ++i) {
    row(csv, i);
    csv << "\n";
  }
}

constexpr const char* kMixed = R"(
name: mixed
seed: 7
duration_s: 20
rates: [4, 8]
services:
  - model: seg-demo
    kind: segmentation
    share: 3
    arrivals: {cv: 2}
    images: [{size: 256, weight: 3}, {size: 512, weight: 1}]
    slo: {e2e_ms: 800}
    ingress: {board-1: 1, micro-1: 1}
  - model: llama-demo
    kind: llm
    share: 1
    prompt_tokens: 40
    output_tokens: 16
    slo: {ttft_ms: 1500, tpot_ms: 250}
    ingress: {edge-1: 1}
shift: {at_s: 10, ingress: {seg-demo: {edge-1: 1}}}
)";

TEST(WorkloadSpecTest, ParsesEveryField) {
  WorkloadSpec s;
  ASSERT_TRUE(ParseWorkloadSpec(kMixed, "mixed.yaml", "/w", &s).ok());
  EXPECT_EQ(s.name, "mixed");
  EXPECT_EQ(s.seed, 7u);
  EXPECT_EQ(s.rates, (std::vector<double>{4, 8}));
  ASSERT_EQ(s.services.size(), 2u);
  EXPECT_FALSE(s.services[0].llm);
  EXPECT_DOUBLE_EQ(s.services[0].cv, 2);
  EXPECT_EQ(s.services[0].images.size(), 2u);
  EXPECT_DOUBLE_EQ(s.services[0].slo.e2e_ms, 800);
  EXPECT_TRUE(s.services[1].llm);
  EXPECT_EQ(s.services[1].prompt_tokens, 40);
  EXPECT_DOUBLE_EQ(s.services[1].slo.tpot_ms, 250);
  EXPECT_DOUBLE_EQ(s.shift_at_s, 10);
  EXPECT_DOUBLE_EQ(s.shift_ingress.at("seg-demo").at("edge-1"), 1);
}

TEST(WorkloadSpecTest, ErrorsNameTheFileAndField) {
  const std::pair<const char*, const char*> cases[] = {
      {"rates: [1]\nservices: []", "services"},
      {"rates: []\nservices: [{model: m, slo: {e2e_ms: 1}, ingress: {a: 1}}]", "rates"},
      {"rates: [1]\nservices: [{model: m, kind: video, slo: {e2e_ms: 1}, ingress: {a: 1}}]",
       "services[0].kind"},
      {"rates: [1]\nservices: [{model: m, ingress: {a: 1}}]", "services[0].slo"},
      {"rates: [1]\nservices: [{model: m, slo: {e2e_ms: 1}}]", "services[0].ingress"},
      {"rates: [1]\nservices: [{model: m, slo: {e2e_ms: 1}, ingress: {a: -1}}]", "ingress.a"},
      {"rates: [1]\nservices: [{model: m, slo: {e2e_ms: 1}, ingress: {a: 1}, trace: t.csv}]",
       "trace is for kind: llm"},
      {"rates: [1]\nservices: [{model: m, slo: {e2e_ms: 1}, ingress: {a: 1}}]\nshift: {at_s: 1, "
       "ingress: {other: {a: 1}}}",
       "shift.ingress.other"},
      {"rates: [x]\nservices: []", "rates"},
      // A scalar or a list where a mapping belongs: an error, not yaml-cpp's exception (found by
      // fuzz/config_fuzz.cc).
      {"rates: [1]\nservices: [{model: m, slo: 5, ingress: {a: 1}}]", "slo.e2e_ms"},
      {"rates: [1]\nservices: [{model: m, slo: [1, 2], ingress: {a: 1}}]", "slo.e2e_ms"},
      {"rates: [1]\nservices: [{model: m, slo: {e2e_ms: 1}, ingress: {[a]: 1}}]",
       "ingress keys must be names"},
  };
  for (const auto& [yaml, field] : cases) {
    WorkloadSpec s;
    const Status st = ParseWorkloadSpec(yaml, "w.yaml", "/", &s);
    ASSERT_FALSE(st.ok()) << yaml;
    EXPECT_NE(st.message().find("w.yaml"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(field), std::string::npos) << st.message();
  }
}

TEST(WorkloadSpecTest, ScheduleIsDeterministicSharedByWeightAndShifted) {
  WorkloadSpec s;
  ASSERT_TRUE(ParseWorkloadSpec(kMixed, "mixed.yaml", "/w", &s).ok());
  std::vector<ScheduledRequest> a, b;
  ASSERT_TRUE(BuildSchedule(s, 8, &a).ok());
  ASSERT_TRUE(BuildSchedule(s, 8, &b).ok());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].at_s, b[i].at_s);
    EXPECT_EQ(a[i].ingress, b[i].ingress);
  }
  int seg = 0, llm = 0, seg_before_at_edge = 0, seg_after_elsewhere = 0, big = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (i) {
      EXPECT_LE(a[i - 1].at_s, a[i].at_s);
    }
    EXPECT_LT(a[i].at_s, 20);
    if (a[i].service == 0) {
      ++seg;
      big += a[i].image_size == 512;
      if (a[i].at_s < 10 && a[i].ingress == "edge-1") ++seg_before_at_edge;
      if (a[i].at_s >= 10 && a[i].ingress != "edge-1") ++seg_after_elsewhere;
    } else {
      ++llm;
      EXPECT_EQ(a[i].ingress, "edge-1");
      EXPECT_EQ(a[i].prompt_tokens, 40);
    }
  }
  // 8 req/s x 20 s = 160 expected, 3:1 between the services (Gamma noise: wide bounds).
  EXPECT_GT(seg + llm, 100);
  EXPECT_LT(seg + llm, 230);
  EXPECT_GT(seg, 2 * llm);
  EXPECT_EQ(seg_before_at_edge, 0);   // before the shift: board-1 and micro-1 only
  EXPECT_EQ(seg_after_elsewhere, 0);  // after it: all at edge-1
  EXPECT_GT(big, seg / 8);            // weight 1 of 4
  EXPECT_LT(big, seg / 2);
  // Half the rate: the same pattern stretched to twice the time (cut at the duration).
  std::vector<ScheduledRequest> half;
  ASSERT_TRUE(BuildSchedule(s, 4, &half).ok());
  EXPECT_LT(half.size(), a.size());
  std::vector<ScheduledRequest> seg_fast, seg_slow;
  for (const auto& r : a)
    if (r.service == 0) seg_fast.push_back(r);
  for (const auto& r : half)
    if (r.service == 0) seg_slow.push_back(r);
  for (size_t k = 0; k < seg_slow.size() && k < seg_fast.size(); ++k) {
    if (seg_fast[k].at_s >= 5) break;  // before the shift in both
    EXPECT_NEAR(seg_slow[k].at_s, 2 * seg_fast[k].at_s, 1e-9) << k;
    EXPECT_EQ(seg_slow[k].image_size, seg_fast[k].image_size) << k;
  }
}

TEST(WorkloadSpecTest, TraceServicesReplayTheScaledTraceAndReportAMissingFile) {
  const auto dir = FreshDir("epara_wl_");
  WriteTrace(dir / "t.csv", 100, [](std::ostream& csv, int i) {
    csv << "2023-11-16 18:15:" << (i < 10 ? "0" : "") << i / 2 << "." << (i % 2 ? "5" : "0")
        << "000000," << 100 * (1 + i % 4) << "," << 10 * (1 + i % 3);
  });
  std::ofstream(dir / "w.yaml") << "rates: [10]\nduration_s: 3\nservices: [{model: l, kind: llm, "
                                   "trace: t.csv, max_context: 100, slo: {ttft_ms: 9}, ingress: "
                                   "{a: 1}}]\n";
  WorkloadSpec s;
  ASSERT_TRUE(LoadWorkloadSpec((dir / "w.yaml").string(), &s).ok());
  EXPECT_EQ(s.services[0].trace, (dir / "t.csv").string());
  std::vector<ScheduledRequest> r;
  ASSERT_TRUE(BuildSchedule(s, 10, &r).ok());
  // The trace has 2 requests/s; scaled to 10/s, 3 s hold about 30 of them.
  EXPECT_GE(r.size(), 28u);
  EXPECT_LE(r.size(), 31u);
  for (const ScheduledRequest& q : r) EXPECT_LE(q.prompt_tokens + q.output_tokens, 100);
  std::filesystem::remove(dir / "t.csv");
  EXPECT_FALSE(BuildSchedule(s, 10, &r).ok());
  std::filesystem::remove_all(dir);
}

TEST(WorkloadSpecTest, AddingAHigherRateExtendsTheSameStretchOfTheTrace) {
  const auto dir = FreshDir("epara_wl2_");
  // One request per second, lengths that differ request by request.
  WriteTrace(dir / "t.csv", 2000, [](std::ostream& csv, int i) {
    csv << "2023-11-16 " << 10 + i / 3600 << ":" << (i / 60 % 60 < 10 ? "0" : "") << i / 60 % 60
        << ":" << (i % 60 < 10 ? "0" : "") << i % 60 << ".000000," << 50 + (i * 37) % 400 << ","
        << 5 + (i * 11) % 90;
  });
  std::vector<std::vector<std::pair<int, int>>> lengths;
  for (const char* rates : {"[4]", "[4, 8]", "[4, 8, 16]"}) {
    std::ofstream(dir / "w.yaml") << "rates: " << rates
                                  << "\nduration_s: 5\nseed: 21\nservices: [{model: l, kind: llm, "
                                     "trace: t.csv, max_context: 1000, slo: {ttft_ms: 9}, ingress: "
                                     "{a: 1}}]\n";
    WorkloadSpec s;
    ASSERT_TRUE(LoadWorkloadSpec((dir / "w.yaml").string(), &s).ok());
    std::vector<ScheduledRequest> r;
    ASSERT_TRUE(BuildSchedule(s, 4, &r).ok());
    ASSERT_GE(r.size(), 8u);
    lengths.emplace_back();
    for (size_t k = 0; k < 8; ++k)
      lengths.back().emplace_back(r[k].prompt_tokens, r[k].output_tokens);
  }
  EXPECT_EQ(lengths[0], lengths[1]);
  EXPECT_EQ(lengths[0], lengths[2]);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace epara::loadgen
