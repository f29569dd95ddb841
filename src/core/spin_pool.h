// A small fork/join pool for many short parallel loops in a row (the LLM decode step runs ~40
// per token, each ~20-60 us). Workers spin briefly between loops, so handing out the next loop
// costs an atomic store instead of a futex wake-up; after `spin_us` without work they block.
//
// Measured reason (docs/ARCHITECTURE.md): with LibTorch's OpenMP team the decode kernels got no
// speedup from a second core on the 2-core dev box, while a streaming read did (1.6x).
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

  // Splits [0, n) into at most threads() contiguous ranges of at least `grain` items and runs
  // body(begin, end) on them, the caller taking the first; returns when all are done. `body` is
  // called through a plain pointer (no std::function: nothing is allocated per loop).
  template <typename Body>
  void ParallelFor(int64_t n, int64_t grain, Body&& body) {
    Run(n, grain, &body, [](const void* f, int64_t b, int64_t e) {
      (*static_cast<const std::remove_reference_t<Body>*>(f))(b, e);
    });
  }

 private:
  using Call = void (*)(const void* body, int64_t begin, int64_t end);
  void Run(int64_t n, int64_t grain, const void* body, Call call);
  void WorkerLoop(int index);

  std::vector<std::thread> workers_;
  const int spin_us_;
  void Wake();

  std::atomic<uint64_t> generation_{0};
  // Workers that stopped spinning sleep here.
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  // The current loop (written before generation_ is bumped).
  const void* body_ = nullptr;
  Call call_ = nullptr;
  int64_t n_ = 0, chunk_ = 0;
};

}  // namespace epara
