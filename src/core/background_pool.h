// BackgroundPool: runs a request's CPU work (image decode and encode, tensor (de)serialization) on
// a few threads in Linux's SCHED_IDLE class, so it yields the cores to the models' intra-op
// threads.
//
// Measured reason (bench/results/README.md, session 4): on the 2-core box a served segmentation
// model ran ~9% slower per image than the same model called directly, although the request work
// took only ~5% of the CPU samples. The model's OpenMP team sleeps at every barrier when a
// process has more OpenMP threads than cores (libgomp's throttled spin), and a handler thread
// that takes a core from one team member stalls the whole team until it gets the core back.
// Work in SCHED_IDLE runs only while the model threads sleep, so it fills the gaps instead of
// opening new ones. SCHED_IDLE is not starvation: CFS still gives such a thread a small share
// (weight 3 against 1024), so it progresses under foreign load, slowly.
//
// Why a pool and not a priority switch on the HTTP thread: an unprivileged thread may enter
// SCHED_IDLE but not leave it (RLIMIT_NICE is 0 by default), and the HTTP threads must stay
// normal for health checks and token streaming.
//
// Thread safety: Run may be called from any number of threads.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace epara {

class BackgroundPool {
 public:
  // Starts `threads` workers (at least 1). `idle_class` false keeps them in the normal class
  // (for comparison, or where the work must not wait behind other processes).
  BackgroundPool(int threads, bool idle_class);
  ~BackgroundPool();  // finishes queued work, then joins
  BackgroundPool(const BackgroundPool&) = delete;
  BackgroundPool& operator=(const BackgroundPool&) = delete;

  // Runs `work` on a worker and returns when it has finished. Exceptions thrown by `work` are
  // rethrown here. Runs inline after shutdown has begun.
  void Run(const std::function<void()>& work);

  // Whether the workers run in SCHED_IDLE (false if requested but refused by the kernel).
  bool idle_class() const { return idle_class_; }

 private:
  struct Job;
  void WorkerLoop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;   // GUARDED_BY(mu_)
  bool idle_class_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace epara
