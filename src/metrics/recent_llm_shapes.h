// RecentLlmShapes: the sizes of the last requests an LLM engine here ended (prompt and completion
// tokens), kept per model in a bounded ring (issue 24). A node lists them in its cluster view, so
// the controller's digital twin replays the sizes clients really send instead of a default (an
// LLM's cost is its prompt and its output: a forecast with the wrong sizes is wrong at any rate).
//
// Bounded: `per_model` shapes per model, the oldest overwritten; models are those the node served
// (callers record only served models). Thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace epara::metrics {

struct LlmShape {
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

class RecentLlmShapes {
 public:
  explicit RecentLlmShapes(size_t per_model = 64);

  // One ended request. Ignored unless both counts are positive (a request that generated nothing
  // ended in an error and says nothing about the sizes clients send).
  void Record(const std::string& model, int prompt_tokens, int completion_tokens);

  // Per model, the kept shapes oldest first.
  std::map<std::string, std::vector<LlmShape>> Snapshot() const;

 private:
  struct Ring {
    std::vector<LlmShape> shapes;
    size_t next = 0;  // where the next one goes once the ring is full
  };
  const size_t per_model_;
  mutable std::mutex mu_;
  std::map<std::string, Ring> rings_;
};

}  // namespace epara::metrics
