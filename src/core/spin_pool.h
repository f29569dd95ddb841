// A small fork/join pool for many short parallel loops in a row (the LLM decode step runs ~40
// per token, each ~20-60 us). Workers spin briefly between loops, so handing out the next loop
// costs an atomic store instead of a futex wake-up; after `spin_us` without work they block.
//
// Measured reason (docs/ARCHITECTURE.md): with LibTorch's OpenMP team the decode kernels got no
// speedup from a second core on the 2-core dev box, while a streaming read did (1.6x).
//
// A loop is cut into up to kChunksPerThread chunks per thread, which the caller and the workers
// claim one at a time. A worker that is descheduled (another thread took its core, or it has not
// woken yet) holds up at most the one chunk it claimed: the caller takes the rest. With one fixed
// range per thread the whole loop waited for a descheduled worker's range.
//
// Thread safety: ParallelFor may be called from one thread at a time (the model's step thread).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace epara {

class SpinPool {
 public:
  // `threads` counts the caller: threads - 1 workers are started. threads <= 1: runs inline.
  explicit SpinPool(int threads, int spin_us = 200);
  ~SpinPool();
  SpinPool(const SpinPool&) = delete;
  SpinPool& operator=(const SpinPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  static constexpr int kChunksPerThread = 2;

  // Splits [0, n) into at most threads() * kChunksPerThread contiguous ranges of at least `grain`
  // items (a multiple of `grain`, but the last) and runs body(begin, end) on each once, on
  // whichever thread claims it (the caller included); returns when all are done. `body` is called
  // through a plain pointer (no std::function: nothing is allocated per loop).
  template <typename Body>
  void ParallelFor(int64_t n, int64_t grain, Body&& body) {
    Run(n, grain, &body, [](const void* f, int64_t b, int64_t e) {
      (*static_cast<const std::remove_reference_t<Body>*>(f))(b, e);
    });
  }

 private:
  using Call = void (*)(const void* body, int64_t begin, int64_t end);
  void Run(int64_t n, int64_t grain, const void* body, Call call);
  void WorkerLoop();
  // Claims and runs chunks of the loop published in claim_ until none is left.
  void RunChunks();

  std::vector<std::thread> workers_;
  const int spin_us_;
  void Wake();

  std::atomic<uint64_t> generation_{0};
  // Workers that stopped spinning sleep here.
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  // The current loop: loop number (high 32 bits), next chunk (16 bits), chunk count (low 16
  // bits). A claim is a compare-exchange on the whole word, so a thread still looking at an
  // earlier loop can never claim a chunk of the next one.
  std::atomic<uint64_t> claim_{0};
  std::atomic<int64_t> done_{0};  // chunks of the current loop finished
  // Read only after a successful claim (written before claim_ is published).
  const void* body_ = nullptr;
  Call call_ = nullptr;
  int64_t n_ = 0, chunk_ = 0;
  uint32_t loop_ = 0;  // caller only
};

}  // namespace epara
