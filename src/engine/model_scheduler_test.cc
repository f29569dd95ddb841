#include "engine/model_scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <thread>

namespace epara::engine {
namespace {

// Holds batches in Run() until opened; counts the batches that entered.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = true;
  int entered = 0;
  void Close() {
    std::lock_guard<std::mutex> lock(mu);
    open = false;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
  bool WaitEntered(int n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(20), [&] { return entered >= n; });
  }
  void Pass() {
    std::unique_lock<std::mutex> lock(mu);
    entered++;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
  }
};

// Doubles its single FP32 input; fails the whole batch if any element is negative. Records the
// rows of every batch it ran.
class FakeInstance : public backend::ModelInstance {
 public:
  explicit FakeInstance(std::vector<int64_t>* batches, std::mutex* mu, Gate* gate)
      : batches_(batches), mu_(mu), gate_(gate) {}
  Status Run(const std::vector<Tensor>& inputs, std::vector<Tensor>* outputs) override {
    gate_->Pass();
    {
      std::lock_guard<std::mutex> lock(*mu_);
      batches_->push_back(inputs[0].shape()[0]);
    }
    Tensor out(DataType::kFp32, inputs[0].shape());
    for (int64_t i = 0; i < out.num_elements(); ++i) {
      float v = inputs[0].data<float>()[i];
      if (v < 0) return InvalidArgument("negative input");
      out.data<float>()[i] = 2 * v;
    }
    outputs->assign(1, std::move(out));
    return Status::Ok();
  }
  int64_t MemoryFootprintBytes() const override { return 0; }
  const std::string& device() const override { return device_; }

 private:
  std::vector<int64_t>* batches_;
  std::mutex* mu_;
  Gate* gate_;
  std::string device_ = "cpu";
};

class SchedulerTest : public ::testing::Test {
 protected:
  void Make(int max_batch, int64_t delay_us, int max_queue) {
    BatchingConfig cfg;
    cfg.max_batch_size = max_batch;
    cfg.max_queue_delay_us = delay_us;
    cfg.max_queue_size = max_queue;
    std::vector<std::unique_ptr<backend::ModelInstance>> inst;
    inst.push_back(std::make_unique<FakeInstance>(&batches_, &mu_, &gate_));
    metrics_ = metrics::ModelMetrics::Create(&registry_, "m", max_batch);
    ASSERT_TRUE(ModelScheduler::Create(cfg, std::move(inst), metrics_, &scheduler_).ok());
  }
  // Enqueues one row [v, v+1]; the future yields the result.
  Status Submit(float v, std::future<InferenceResult>* f) {
    auto p = std::make_shared<std::promise<InferenceResult>>();
    *f = p->get_future();
    InferenceRequest r;
    Tensor t(DataType::kFp32, {1, 2});
    t.data<float>()[0] = v;
    t.data<float>()[1] = v + 1;
    r.inputs.push_back(std::move(t));
    r.rows = 1;
    r.on_complete = [p](InferenceResult res) { p->set_value(std::move(res)); };
    return scheduler_->Enqueue(std::move(r));
  }
  static InferenceResult Await(std::future<InferenceResult>& f) {
    EXPECT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    return f.get();
  }

  Gate gate_;
  metrics::Registry registry_;
  metrics::ModelMetrics metrics_;
  std::mutex mu_;
  std::vector<int64_t> batches_;
  std::unique_ptr<ModelScheduler> scheduler_;
};

TEST_F(SchedulerTest, FullBatchRunsAtOnceAndEachRequestGetsItsOwnRows) {
  Make(/*max_batch=*/4, /*delay_us=*/60'000'000, /*max_queue=*/16);  // the delay never expires
  std::vector<std::future<InferenceResult>> f(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Submit(10.0f * i, &f[i]).ok());
  for (int i = 0; i < 4; ++i) {
    InferenceResult r = Await(f[i]);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.batch_rows, 4);
    ASSERT_EQ(r.outputs[0].shape(), (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(r.outputs[0].data<float>()[0], 20.0f * i);
    EXPECT_EQ(r.outputs[0].data<float>()[1], 20.0f * i + 2);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(batches_, (std::vector<int64_t>{4}));
    EXPECT_EQ(metrics_.exec_count->value(), 1.0);
    EXPECT_EQ(metrics_.batch_size->sum(), 4.0);
  }
  EXPECT_DOUBLE_EQ(scheduler_->CurrentLoad().batch_occupancy, 1.0);
}

TEST_F(SchedulerTest, ExpectedWaitCountsRowsOfRecentBatches) {
  // Batches of 1 row under max_batch 8 (no delay): a queued request costs a whole recent batch,
  // not 1/8 of one, as a CPU running a batch of 8 takes ~8x a batch of 1.
  Make(/*max_batch=*/8, /*delay_us=*/0, /*max_queue=*/16);
  std::vector<std::future<InferenceResult>> f(3);
  ASSERT_TRUE(Submit(1, &f[0]).ok());
  ASSERT_TRUE(Await(f[0]).status.ok());
  gate_.Close();
  ASSERT_TRUE(Submit(1, &f[0]).ok());
  ASSERT_TRUE(gate_.WaitEntered(2));
  ASSERT_TRUE(Submit(2, &f[1]).ok());
  ASSERT_TRUE(Submit(3, &f[2]).ok());
  const ModelScheduler::Load busy = scheduler_->CurrentLoad();
  EXPECT_EQ(busy.queued, 2u);
  EXPECT_GT(busy.service_ms, 0.0);
  // Two queued batches of one row, after what is left of the running one (0 to a whole batch,
  // by how long it has run: engine::BatchCost).
  EXPECT_GE(busy.expected_wait_ms, 2 * busy.service_ms);
  EXPECT_LE(busy.expected_wait_ms, 3 * busy.service_ms);
  gate_.Open();
  for (auto& x : f) ASSERT_TRUE(Await(x).status.ok());
}

TEST_F(SchedulerTest, LoadCountsQueuedAndRunningRequestsAndLearnsTheServiceTime) {
  Make(/*max_batch=*/1, /*delay_us=*/0, /*max_queue=*/16);
  EXPECT_EQ(scheduler_->CurrentLoad().service_ms, 0.0);  // nothing run yet
  gate_.Close();
  std::vector<std::future<InferenceResult>> f(3);
  ASSERT_TRUE(Submit(1, &f[0]).ok());
  ASSERT_TRUE(gate_.WaitEntered(1));
  ASSERT_TRUE(Submit(2, &f[1]).ok());
  ASSERT_TRUE(Submit(3, &f[2]).ok());
  ModelScheduler::Load busy = scheduler_->CurrentLoad();
  EXPECT_EQ(busy.in_flight, 1u);
  EXPECT_EQ(busy.queued, 2u);
  gate_.Open();
  for (auto& x : f) ASSERT_TRUE(Await(x).status.ok());
  ModelScheduler::Load idle = scheduler_->CurrentLoad();
  EXPECT_EQ(idle.in_flight, 0u);
  EXPECT_EQ(idle.queued, 0u);
  EXPECT_GT(idle.service_ms, 0.0);
  EXPECT_EQ(idle.expected_wait_ms, 0.0);
  EXPECT_DOUBLE_EQ(idle.batch_occupancy, 1.0);
  // The same backlog again predicts what is left of the running batch plus two whole ones.
  gate_.Close();
  ASSERT_TRUE(Submit(1, &f[0]).ok());
  ASSERT_TRUE(gate_.WaitEntered(4));
  ASSERT_TRUE(Submit(2, &f[1]).ok());
  ASSERT_TRUE(Submit(3, &f[2]).ok());
  ModelScheduler::Load again = scheduler_->CurrentLoad();
  EXPECT_GE(again.expected_wait_ms, 2 * again.service_ms);
  EXPECT_LE(again.expected_wait_ms, 3 * again.service_ms);
  gate_.Open();
  for (auto& x : f) ASSERT_TRUE(Await(x).status.ok());
}

TEST_F(SchedulerTest, QueueBoundRejectsAndShutdownAnswersEveryAcceptedRequest) {
  Make(/*max_batch=*/8, /*delay_us=*/60'000'000, /*max_queue=*/2);
  std::future<InferenceResult> a, b, c;
  ASSERT_TRUE(Submit(1, &a).ok());
  ASSERT_TRUE(Submit(2, &b).ok());
  Status rejected = Submit(3, &c);
  EXPECT_EQ(rejected.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(scheduler_->queued(), 2u);
  scheduler_->Shutdown();  // drains without waiting out the 60 s delay
  EXPECT_TRUE(Await(a).status.ok());
  EXPECT_TRUE(Await(b).status.ok());
  EXPECT_EQ(Submit(4, &c).code(), StatusCode::kUnavailable);
}

TEST_F(SchedulerTest, BackendErrorReachesEveryMemberOfTheBatch) {
  Make(/*max_batch=*/2, /*delay_us=*/60'000'000, /*max_queue=*/16);
  std::future<InferenceResult> a, b;
  ASSERT_TRUE(Submit(1, &a).ok());
  ASSERT_TRUE(Submit(-5, &b).ok());
  EXPECT_EQ(Await(a).status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Await(b).status.code(), StatusCode::kInvalidArgument);
  // The scheduler keeps serving afterwards.
  std::future<InferenceResult> c, d;
  ASSERT_TRUE(Submit(3, &c).ok());
  ASSERT_TRUE(Submit(4, &d).ok());
  EXPECT_TRUE(Await(c).status.ok());
  EXPECT_TRUE(Await(d).status.ok());
}

TEST_F(SchedulerTest, WithoutBatchingRequestsRunAlone) {
  Make(/*max_batch=*/0, /*delay_us=*/0, /*max_queue=*/16);
  std::vector<std::future<InferenceResult>> f(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Submit(i, &f[i]).ok());
  for (auto& x : f) EXPECT_TRUE(Await(x).status.ok());
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(batches_, (std::vector<int64_t>{1, 1, 1}));
}

}  // namespace
}  // namespace epara::engine

namespace epara::engine {
namespace {

// An emulated device: a batch of n rows takes 5 + 5 n ms (sleeping, so the host's own load barely
// matters), and echoes its input.
class EmulatedInstance : public backend::ModelInstance {
 public:
  Status Run(const std::vector<Tensor>& inputs, std::vector<Tensor>* outputs) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + 5 * inputs[0].shape()[0]));
    outputs->assign(1, inputs[0]);
    return Status::Ok();
  }
  int64_t MemoryFootprintBytes() const override { return 0; }
  const std::string& device() const override { return device_; }

 private:
  std::string device_ = "cpu";
};

struct MixedResult {
  double ls_p99_ms = 0;
  double fs_per_s = 0;
};

// 16 closed-loop frequency-sensitive clients (SLO 1 s) and one latency-sensitive request every
// 20 ms (SLO 120 ms) for `seconds`.
MixedResult RunMixed(const BatchingConfig& cfg, double seconds) {
  metrics::Registry registry;
  const metrics::ModelMetrics metrics = metrics::ModelMetrics::Create(&registry, "m", 8);
  std::vector<std::unique_ptr<backend::ModelInstance>> inst;
  inst.push_back(std::make_unique<EmulatedInstance>());
  std::unique_ptr<ModelScheduler> s;
  EXPECT_TRUE(ModelScheduler::Create(cfg, std::move(inst), metrics, &s).ok());
  auto submit = [&](bool ls) {
    auto done = std::make_shared<std::promise<InferenceResult>>();
    auto f = done->get_future();
    InferenceRequest r;
    r.inputs.push_back(Tensor(DataType::kFp32, {1, 2}));
    r.rows = 1;
    r.slo_ms = ls ? 120 : 1000;
    r.latency_sensitive = ls;
    r.on_complete = [done](InferenceResult x) { done->set_value(std::move(x)); };
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(s->Enqueue(std::move(r)).ok());
    EXPECT_TRUE(f.get().status.ok());
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::atomic<int> fs_done{0};
  std::vector<std::thread> fs;
  for (int i = 0; i < 16; ++i)
    fs.emplace_back([&] {
      while (std::chrono::steady_clock::now() < until) {
        submit(false);
        fs_done++;
      }
    });
  std::vector<double> ls;
  std::vector<std::thread> ls_threads;
  std::mutex ls_mu;
  for (auto next = std::chrono::steady_clock::now(); next < until;
       next += std::chrono::milliseconds(20)) {
    std::this_thread::sleep_until(next);  // the arrival schedule of the load, not synchronization
    ls_threads.emplace_back([&] {
      const double ms = submit(true);
      std::lock_guard<std::mutex> lock(ls_mu);
      ls.push_back(ms);
    });
  }
  for (auto& t : fs) t.join();
  for (auto& t : ls_threads) t.join();
  std::sort(ls.begin(), ls.end());
  MixedResult r;
  r.ls_p99_ms = ls[static_cast<size_t>(0.99 * (ls.size() - 1))];
  r.fs_per_s = fs_done.load() / seconds;
  return r;
}

TEST(SloAwareBatchingTest, LatencySensitiveP99MeetsItsSloWhileBatchingRaisesThroughput) {
  BatchingConfig fixed;  // Triton-style: fixed batch, FIFO, no priority
  fixed.max_batch_size = 8;
  fixed.max_queue_delay_us = 30'000;
  BatchingConfig slo = fixed;
  slo.slo_aware = true;
  BatchingConfig unbatched = slo;
  unbatched.max_batch_size = 1;
  const MixedResult a = RunMixed(fixed, 1.5);
  const MixedResult b = RunMixed(slo, 1.5);
  const MixedResult c = RunMixed(unbatched, 1.5);
  RecordProperty("fixed_ls_p99_ms", std::to_string(a.ls_p99_ms));
  RecordProperty("slo_ls_p99_ms", std::to_string(b.ls_p99_ms));
  RecordProperty("fixed_fs_per_s", std::to_string(a.fs_per_s));
  RecordProperty("slo_fs_per_s", std::to_string(b.fs_per_s));
  RecordProperty("unbatched_fs_per_s", std::to_string(c.fs_per_s));
  // Latency: within the 120 ms SLO with priority; the fixed, FIFO batcher misses it.
  EXPECT_LE(b.ls_p99_ms, 120) << "fixed " << a.ls_p99_ms;
  EXPECT_GT(a.ls_p99_ms, b.ls_p99_ms + 20);
  // Throughput: batching still pays for the frequency-sensitive traffic.
  EXPECT_GT(b.fs_per_s, 1.5 * c.fs_per_s) << "unbatched " << c.fs_per_s;
  EXPECT_GT(b.fs_per_s, 0.7 * a.fs_per_s) << "fixed " << a.fs_per_s;
}

}  // namespace
}  // namespace epara::engine
