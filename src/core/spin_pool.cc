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
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

SpinPool::~SpinPool() {
  stop_.store(true);
  generation_.fetch_add(1, std::memory_order_release);
  Wake();
  for (auto& w : workers_) w.join();
}

void SpinPool::Run(int64_t n, int64_t grain, const void* body, Call call) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t most = std::min<int64_t>(int64_t{threads()} * kChunksPerThread, n / grain);
  if (threads() <= 1 || most <= 1) return call(body, 0, n);
  // Chunks of a multiple of `grain` items; their count follows from that size.
  const int64_t per = (n + most - 1) / most;
  chunk_ = (per + grain - 1) / grain * grain;
  const int64_t chunks = (n + chunk_ - 1) / chunk_;
  body_ = body;
  call_ = call;
  n_ = n;
  done_.store(0, std::memory_order_relaxed);
  ++loop_;
  claim_.store(uint64_t{loop_} << 32 | static_cast<uint64_t>(chunks), std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_release);
  Wake();
  RunChunks();
  while (done_.load(std::memory_order_acquire) != chunks) CpuRelax();
}

void SpinPool::RunChunks() {
  uint64_t c = claim_.load(std::memory_order_acquire);
  for (;;) {
    const uint64_t next = (c >> 16) & 0xffff, chunks = c & 0xffff;
    if (next >= chunks) return;
    // On failure `c` holds the current word: a later loop's claims are taken from it as well.
    if (!claim_.compare_exchange_weak(c, c + (uint64_t{1} << 16), std::memory_order_acq_rel,
                                      std::memory_order_acquire))
      continue;
    const int64_t begin = static_cast<int64_t>(next) * chunk_;
    call_(body_, begin, std::min(n_, begin + chunk_));
    done_.fetch_add(1, std::memory_order_acq_rel);
    c = claim_.load(std::memory_order_acquire);
  }
}

// Taking the mutex after the generation bump orders it against a worker that checked the
// generation under the mutex and is about to sleep: it either sees the bump or gets notified.
void SpinPool::Wake() {
  { std::lock_guard<std::mutex> lock(mu_); }
  cv_.notify_all();
}

void SpinPool::WorkerLoop() {
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
    RunChunks();
  }
}

}  // namespace epara
