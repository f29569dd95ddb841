// Writes the deterministic demo segmentation model (an untrained UNet-style encoder-decoder in
// TorchScript) into a model repository folder. Same seed, same LibTorch -> same bytes of weights.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace epara::models {

struct DemoSegmentationOptions {
  std::string name = "seg-demo";
  int base_channels = 16;  // channels at full resolution; doubles at each of 4 downsamplings
  int classes = 4;
  int size = 256;  // input height and width; must be a multiple of 16
  uint64_t seed = 1234;
  int max_batch_size = 8;
  double max_queue_delay_ms = 2.0;
  double slo_latency_ms = 500.0;
  int instances = 1;  // instance count; each gets cores / instances intra-op threads
  // When set, the same network with the same weights is also written as ONNX, to
  // `<repo_dir>/<onnx_name>/{model.onnx, model.yaml}` (backend onnxruntime; the descriptor leaves
  // inputs and outputs to the model).
  std::string onnx_name;
};

// Creates `<repo_dir>/<name>/{model.pt, model.yaml}` (and the ONNX form, see onnx_name).
// Overwrites existing files.
Status WriteDemoSegmentationModel(const std::string& repo_dir,
                                  const DemoSegmentationOptions& options);

// Number of parameters the demo UNet has for these options (for docs and tests).
int64_t DemoSegmentationParameterCount(const DemoSegmentationOptions& options);

}  // namespace epara::models
