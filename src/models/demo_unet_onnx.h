// The demo UNet (models/demo_segmentation.h) as an ONNX graph, from the same weights, so that one
// network can be compared engine against engine (LibTorch vs ONNX Runtime). Torch-free: the
// LibTorch side hands over the weights as plain float arrays.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace epara::models {

struct NamedWeights {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// Writes `path` (ONNX, opset 17): input "image" FP32 [N, 3, size, size] (N dynamic), output
// "logits" FP32 [N, classes, size, size]. `weights` holds every parameter of the demo UNet by its
// TorchScript name (e0_w1, ..., head_b). InvalidArgument when one is missing.
Status WriteDemoUNetOnnx(const std::string& path,
                         const std::map<std::string, NamedWeights>& weights, int size, int classes);

}  // namespace epara::models
