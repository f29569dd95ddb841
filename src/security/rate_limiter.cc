#include "security/rate_limiter.h"

#include <algorithm>

namespace epara::security {

double RateLimiter::Take(const std::string& key, double rate_per_s, double burst,
                         Clock::time_point now) {
  if (rate_per_s <= 0) return 0;
  burst = std::max(1.0, burst);
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(key);
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = burst;
  } else if (now > b.last) {
    b.tokens = std::min(
        burst, b.tokens + std::chrono::duration<double>(now - b.last).count() * rate_per_s);
  }
  b.last = std::max(b.last, now);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return (1 - b.tokens) / rate_per_s;
}

}  // namespace epara::security
