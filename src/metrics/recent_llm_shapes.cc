#include "metrics/recent_llm_shapes.h"

#include <algorithm>

namespace epara::metrics {

RecentLlmShapes::RecentLlmShapes(size_t per_model) : per_model_(std::max<size_t>(1, per_model)) {}

void RecentLlmShapes::Record(const std::string& model, int prompt_tokens, int completion_tokens) {
  if (prompt_tokens <= 0 || completion_tokens <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  Ring& r = rings_[model];
  const LlmShape s{prompt_tokens, completion_tokens};
  if (r.shapes.size() < per_model_) {
    r.shapes.push_back(s);
    return;
  }
  r.shapes[r.next] = s;
  r.next = (r.next + 1) % per_model_;
}

std::map<std::string, std::vector<LlmShape>> RecentLlmShapes::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::vector<LlmShape>> out;
  for (const auto& [model, r] : rings_) {
    std::vector<LlmShape>& v = out[model];
    v.reserve(r.shapes.size());
    // Full ring: the oldest is at `next`.
    for (size_t i = 0; i < r.shapes.size(); ++i)
      v.push_back(r.shapes[(r.next + i) % r.shapes.size()]);
  }
  return out;
}

}  // namespace epara::metrics
