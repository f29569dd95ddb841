#include "loadgen/open_loop.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>

namespace epara::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

struct Flight {
  std::thread thread;
  std::atomic<bool> go{false};
  std::atomic<bool> done{false};
};

// The calling thread to SCHED_FIFO, `above` levels over the lowest real-time priority; false when
// not permitted. Request threads sit one level above the dispatcher, so a released thread
// preempts the dispatcher that released it instead of waiting for it to sleep.
bool EnterRealtime(int above) {
  sched_param p{};
  p.sched_priority = sched_get_priority_min(SCHED_FIFO) + above;
  return pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) == 0;
}

}  // namespace

double PercentileOf(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(p / 100.0 * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

OpenLoopResult RunOpenLoop(const std::vector<double>& times_s,
                           const std::function<SendOutcome(size_t)>& send,
                           const OpenLoopOptions& options) {
  OpenLoopResult result;
  result.outcomes.resize(times_s.size());
  result.lateness_ms.resize(times_s.size());
  std::atomic<int> in_flight{0}, max_in_flight{0};
  std::list<std::unique_ptr<Flight>> flights;
  std::deque<Flight*> parked;  // started, not yet released, in schedule order
  auto reap = [&](bool all) {
    for (auto it = flights.begin(); it != flights.end();) {
      if (all || (*it)->done.load()) {
        (*it)->thread.join();
        it = flights.erase(it);
      } else {
        ++it;
      }
    }
  };
  (void)prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // wake-ups at 1 ns slack, not 50 us
  // The dispatcher is the calling thread: its scheduling is restored on return.
  int old_policy = SCHED_OTHER;
  sched_param old_param{};
  (void)pthread_getschedparam(pthread_self(), &old_policy, &old_param);
  const bool realtime = options.realtime && EnterRealtime(0);
  result.realtime = realtime;
  const auto start = Clock::now() + options.lead + std::chrono::milliseconds(5);
  auto due_of = [&](size_t i) {
    return start +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(times_s[i]));
  };
  // Threads are started `lead` ahead and park on their flag; the dispatcher (one thread, so one
  // spinner) releases each at its due time.
  size_t next_start = 0;
  for (size_t i = 0; i < times_s.size();) {
    const auto due = due_of(i);
    for (; next_start < times_s.size() && due_of(next_start) - options.lead <= Clock::now();
         ++next_start) {
      auto f = std::make_unique<Flight>();
      Flight* raw = f.get();
      const size_t k = next_start;
      const auto k_due = due_of(k);
      f->thread = std::thread([&, k, k_due, raw, realtime] {
        if (realtime && EnterRealtime(1)) {
          // A real-time timer wake preempts at once but is sometimes ms late in a VM (see the
          // header): wake `spin` early and spin the rest.
          std::this_thread::sleep_until(k_due - options.spin);
          while (Clock::now() < k_due) {
          }
        } else {
          raw->go.wait(false);
        }
        const auto sent = Clock::now();
        result.lateness_ms[k] = std::chrono::duration<double, std::milli>(sent - k_due).count();
        const int now = ++in_flight;
        for (int m = max_in_flight.load();
             now > m && !max_in_flight.compare_exchange_weak(m, now);) {
        }
        result.outcomes[k] = send(k);
        --in_flight;
        raw->done.store(true);
      });
      parked.push_back(raw);
      flights.push_back(std::move(f));
    }
    if (realtime) {
      // Each thread sleeps until its own due time: the dispatcher only starts them on time
      // (a release from here would cost a cross-core wake-up, ~0.1 ms on this VM).
      if (next_start <= i) {
        std::this_thread::sleep_until(due_of(next_start) - options.lead);
        continue;
      }
      parked.pop_front();
      if (i % 64 == 0) reap(false);
      ++i;
      continue;
    }
    // Sleep until just before the due time (or until the next thread must start), then spin.
    const auto wake = std::min(
        due - options.spin, next_start < times_s.size() ? due_of(next_start) - options.lead : due);
    std::this_thread::sleep_until(wake);
    // Woke early to start more threads, or so late (a descheduled dispatcher on a saturated host)
    // that request i's thread has not been started yet: start them first.
    if (next_start <= i || Clock::now() < due - options.spin) continue;
    while (Clock::now() < due) {
    }
    Flight* f = parked.front();
    parked.pop_front();
    f->go.store(true);
    f->go.notify_one();
    if (i % 64 == 0) reap(false);
    ++i;
  }
  reap(true);
  if (realtime) (void)pthread_setschedparam(pthread_self(), old_policy, &old_param);
  result.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  result.lateness_p50_ms = PercentileOf(result.lateness_ms, 50);
  result.lateness_p99_ms = PercentileOf(result.lateness_ms, 99);
  result.lateness_max_ms =
      result.lateness_ms.empty()
          ? 0
          : *std::max_element(result.lateness_ms.begin(), result.lateness_ms.end());
  result.max_in_flight = max_in_flight.load();
  return result;
}

}  // namespace epara::loadgen
