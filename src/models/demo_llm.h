// Writes `llama-demo`: a deterministic, UNTRAINED Llama-architecture model in the Hugging Face
// layout (config.json + model.safetensors in BF16) with the byte-level tokenizer, so the demo runs
// the same loader path as users' checkpoints. ~24 M parameters, context 4096. Output is gibberish.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace epara::models {

struct DemoLlmOptions {
  std::string name = "llama-demo";
  int hidden = 512;
  int layers = 8;
  int heads = 8;
  int kv_heads = 4;
  int intermediate = 1408;
  int max_positions = 4096;
  // 259: the byte tokenizer's ids. More leaves ids it never produces: the embedding and LM head
  // of a real model's size, for benchmarks that measure real shapes (bench/peer_bench.cc).
  int vocab = 259;
  uint64_t seed = 4321;
};

// Creates `<repo_dir>/<name>/{config.json, model.safetensors, epara_tokenizer.json, model.yaml}`.
Status WriteDemoLlm(const std::string& repo_dir, const DemoLlmOptions& options);
int64_t DemoLlmParameterCount(const DemoLlmOptions& options);

}  // namespace epara::models
