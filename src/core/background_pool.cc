#include "core/background_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <exception>

#include "core/thread_name.h"

namespace epara {

struct BackgroundPool::Job {
  const std::function<void()>* work = nullptr;
  std::exception_ptr error;
  bool done = false;  // GUARDED_BY(pool mu_)
  std::condition_variable finished;
};

BackgroundPool::BackgroundPool(int threads, bool idle_class) {
  std::atomic<int> refused{0};
  std::atomic<int> started{0};
  for (int i = 0; i < std::max(1, threads); ++i)
    workers_.emplace_back([this, idle_class, &refused, &started] {
      SetCurrentThreadName("ep-request-cpu");
      if (idle_class) {
        sched_param p{};
        if (sched_setscheduler(0, SCHED_IDLE, &p) != 0) refused.fetch_add(1);
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        started.fetch_add(1);
      }
      cv_.notify_all();
      WorkerLoop();
    });
  // Wait until every worker has applied its class, so idle_class() is final on return.
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return started.load() == static_cast<int>(workers_.size()); });
  idle_class_ = idle_class && refused.load() == 0;
}

BackgroundPool::~BackgroundPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void BackgroundPool::Run(const std::function<void()>& work) {
  Job job;
  job.work = &work;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!stopping_) {
      queue_.push_back(&job);
      lock.unlock();
      cv_.notify_one();
      lock.lock();
      job.finished.wait(lock, [&] { return job.done; });
      if (job.error) std::rethrow_exception(job.error);
      return;
    }
  }
  work();
}

void BackgroundPool::WorkerLoop() {
  for (;;) {
    Job* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = queue_.front();
      queue_.pop_front();
    }
    try {
      (*job->work)();
    } catch (...) {
      job->error = std::current_exception();
    }
    // Notify under the lock: the caller may return (destroying `job`) as soon as it can lock.
    std::lock_guard<std::mutex> lock(mu_);
    job->done = true;
    job->finished.notify_one();
  }
}

}  // namespace epara
