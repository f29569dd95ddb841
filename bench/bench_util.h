// Helpers the benchmarks share: durations, order statistics, and the load generator's priority.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace epara::bench {

inline double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The p-th percentile (nearest rank); 0 for no samples.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(p / 100.0 * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

inline double Median(std::vector<double> v) { return Percentile(std::move(v), 50); }

// Load-generator threads stand in for remote machines: at nice 10 they take as little as
// possible of the cores the server is measured on. `idle`: SCHED_IDLE instead, so a client thread
// runs only when a core has nothing else to do and its own CPU time (spent on its own machine when
// the client is remote) stays out of the server's measurement; falls back to nice 10.
inline void LowerClientThreadPriority(bool idle = false) {
  sched_param p{};
  if (idle && pthread_setschedparam(pthread_self(), SCHED_IDLE, &p) == 0) return;
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
}

}  // namespace epara::bench
