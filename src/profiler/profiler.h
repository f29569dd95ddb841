// The profiler behind `epara profile` (issue 5): measures a service on this host's device —
// latency vs batch size and thread count (vision, tensor), prefill time vs prompt length and
// decode-step time vs batch (LLM), and the memory one instance holds — repeating every point so the
// profile reports its spread. Uses the backend API and the LLM model API; no LibTorch headers.
#pragma once

#include <vector>

#include "allocator/profile.h"
#include "backend/backend_registry.h"
#include "repo/model_descriptor.h"

namespace epara::profiler {

struct ProfilerOptions {
  std::vector<int> threads = {1, 2};        // intra-op thread counts (capped at the model's limits)
  std::vector<int> batches = {1, 2, 4, 8};  // vision/tensor (only up to the model's max batch)
  std::vector<int> prompt_tokens = {32, 128, 512};
  std::vector<int> decode_batches = {1, 4, 16};
  int repeats = 5;
  std::string device_class = "edge-server";  // the label the profile is stored under
};

// Measures `d`. Unimplemented for models whose input shapes are not fully known (-1 dims).
Status ProfileModel(const ModelDescriptor& d, backend::BackendRegistry* backends,
                    const ProfilerOptions& options, allocator::Profile* out);

}  // namespace epara::profiler
