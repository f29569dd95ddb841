// RateLimiter: one token bucket per API key (by name). A bucket holds up to `burst` tokens and
// refills at `rate_per_s`; each request takes one. Time is passed in, so tests drive it.
// Thread-safe. Buckets are created on first use and live as long as the limiter (one per key).
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace epara::security {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // Takes a token from `key`'s bucket at `now`. Returns 0 when granted; otherwise the seconds
  // until a token will be there (> 0), and takes nothing.
  double Take(const std::string& key, double rate_per_s, double burst, Clock::time_point now);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point last;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // GUARDED_BY(mu_)
};

}  // namespace epara::security
