#include "backend/throttled_instance.h"

#include <chrono>
#include <thread>

namespace epara::backend {

ThrottledInstance::ThrottledInstance(std::unique_ptr<ModelInstance> inner, double quota)
    : inner_(std::move(inner)), quota_(quota) {}

Status ThrottledInstance::Run(const std::vector<Tensor>& inputs, std::vector<Tensor>* outputs) {
  const auto start = std::chrono::steady_clock::now();
  Status s = inner_->Run(inputs, outputs);
  if (quota_ < 1.0) {
    const auto busy = std::chrono::steady_clock::now() - start;
    // The emulated device is slower: it stays busy for the rest of its time slice.
    std::this_thread::sleep_for(
        std::chrono::duration_cast<std::chrono::nanoseconds>(busy * (1.0 / quota_ - 1.0)));
  }
  return s;
}

}  // namespace epara::backend
