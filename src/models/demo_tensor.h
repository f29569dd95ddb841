// Writes `tensor-demo`: a tiny TorchScript model for KServe v2 clients and tests. Inputs a (FP32),
// b (INT64), c (UINT8), each [4] per row; outputs sum = a + b + c (FP32 [4]) and
// positive = count of sum > 0 (INT64 [1]). Exact arithmetic, so results are checkable.
#pragma once

#include <string>

#include "core/status.h"

namespace epara::models {

struct DemoTensorOptions {
  std::string name = "tensor-demo";
  int max_batch_size = 8;
  double max_queue_delay_ms = 1.0;
  int max_queue_size = 256;
};

// Creates `<repo_dir>/<name>/{model.pt, model.yaml}`.
Status WriteDemoTensorModel(const std::string& repo_dir, const DemoTensorOptions& options);

}  // namespace epara::models
