#include "backend/throttled_instance.h"

#include <gtest/gtest.h>

#include <chrono>

namespace epara::backend {
namespace {

// Computes (spins) for `busy` per run.
class BusyInstance : public ModelInstance {
 public:
  explicit BusyInstance(std::chrono::milliseconds busy) : busy_(busy) {}
  Status Run(const std::vector<Tensor>&, std::vector<Tensor>* outputs) override {
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < busy_) {
    }
    outputs->clear();
    return status_;
  }
  int64_t MemoryFootprintBytes() const override { return 42; }
  const std::string& device() const override { return device_; }
  Status status_;

 private:
  std::chrono::milliseconds busy_;
  std::string device_ = "cpu";
};

TEST(ThrottledInstanceTest, ARunTakesItsComputeTimeOverTheQuota) {
  auto inner = std::make_unique<BusyInstance>(std::chrono::milliseconds(20));
  BusyInstance* raw = inner.get();
  raw->status_ = Status(StatusCode::kInternal, "kept");
  ThrottledInstance slow(std::move(inner), 0.25);
  std::vector<Tensor> out;
  const auto start = std::chrono::steady_clock::now();
  Status s = slow.Run({}, &out);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(s.message(), "kept");                  // the inner status passes through
  EXPECT_GE(took, std::chrono::milliseconds(80));  // 20 ms / 0.25; more if the host is busy
  EXPECT_EQ(slow.MemoryFootprintBytes(), 42);
  EXPECT_EQ(slow.device(), "cpu");
}

}  // namespace
}  // namespace epara::backend
