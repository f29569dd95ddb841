#include "core/spin_pool.h"

#include <algorithm>
#include <chrono>

namespace epara {
namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

SpinPool::SpinPool(int threads, int spin_us) : spin_us_(spin_us) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

SpinPool::~SpinPool() {
  stop_.store(true);
  generation_.fetch_add(1, std::memory_order_release);
  Wake();
  for (auto& w : workers_) w.join();
}

void SpinPool::Run(int64_t n, int64_t grain, const void* body, Call call) {
  if (n <= 0) return;
  const int64_t parts =
      std::min<int64_t>(threads(), std::max<int64_t>(1, n / std::max<int64_t>(1, grain)));
  if (parts <= 1) return call(body, 0, n);
  body_ = body;
  call_ = call;
  n_ = n;
  chunk_ = (n + parts - 1) / parts;
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  Wake();
  call(body, 0, std::min(n, chunk_));
  while (pending_.load(std::memory_order_acquire) != 0) CpuRelax();
}

// Taking the mutex after the generation bump orders it against a worker that checked the
// generation under the mutex and is about to sleep: it either sees the bump or gets notified.
void SpinPool::Wake() {
  { std::lock_guard<std::mutex> lock(mu_); }
  cv_.notify_all();
}

void SpinPool::WorkerLoop(int index) {
  // Generation 0 is the constructor's; reading the counter here instead could skip a loop handed
  // out before this thread first ran.
  uint64_t seen = 0;
  for (;;) {
    const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
    int polls = 0;
    while (generation_.load(std::memory_order_acquire) == seen) {
      CpuRelax();
      if (++polls % 64 == 0 && std::chrono::steady_clock::now() > spin_until) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        break;
      }
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    const int64_t begin = index * chunk_, end = std::min(n_, begin + chunk_);
    if (begin < end) call_(body_, begin, end);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace epara
