// Test helper: collects a ClusterStore watch's events; Wait blocks (bounded) until `n` arrived.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "cluster/cluster_store.h"

namespace epara::cluster {

class WatchEvents {
 public:
  std::function<void(const WatchEvent&)> callback() {
    return [this](const WatchEvent& e) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(e);
      cv_.notify_all();
    };
  }
  // The events so far once there are at least `n`, or after `timeout` (fewer).
  std::vector<WatchEvent> Wait(size_t n,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return events_.size() >= n; });
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<WatchEvent> events_;
};

}  // namespace epara::cluster
