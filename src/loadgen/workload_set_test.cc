#include "loadgen/workload_set.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace epara::loadgen {
namespace {

namespace fs = std::filesystem;

TEST(WorkloadSetTest, AppliesOverridesAndSkipsWorkloadsWhoseTraceIsMissing) {
  const fs::path dir = fs::temp_directory_path() / ("epara_wset_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "seg.yaml") << R"(
name: seg
rates: [2, 4]
duration_s: 10
services:
  - {model: m, kind: segmentation, slo: {e2e_ms: 600}, ingress: {a: 1}}
)";
  std::ofstream(dir / "trace.yaml") << R"(
name: chat
rates: [1]
services:
  - {model: l, kind: llm, trace: missing.csv, slo: {ttft_ms: 900}, ingress: {a: 1}}
)";
  WorkloadSet set;
  ASSERT_TRUE(LoadWorkloads({(dir / "seg.yaml").string(), (dir / "trace.yaml").string()},
                            {5, {1, 3}, 2}, &set)
                  .ok());
  ASSERT_EQ(set.specs.size(), 1u);
  EXPECT_DOUBLE_EQ(set.specs[0].duration_s, 5);
  EXPECT_EQ(set.specs[0].rates, (std::vector<double>{2, 6}));  // replaced, then scaled
  ASSERT_EQ(set.services["seg"].size(), 1u);
  EXPECT_DOUBLE_EQ(set.services["seg"][0].slo.e2e_ms, 600);
  ASSERT_EQ(set.skipped.size(), 1u);
  EXPECT_NE(set.skipped[0].find("chat"), std::string::npos);
  EXPECT_FALSE(LoadWorkloads({(dir / "nope.yaml").string()}, {}, &set).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace epara::loadgen
