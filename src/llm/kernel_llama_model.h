// KernelLlamaModel: a LlamaModel that runs only on epara's CPU kernels (llm/llama_kernels.h),
// with no LibTorch: its weights are raw pointers (F32 or GGML blocks) into storage it keeps alive,
// such as a memory-mapped GGUF file (llm/gguf_llama.h) whose quantized matrices are used in place.
//
// Thread-compatible: one ForwardStage() at a time (the engine's worker serializes them).
#pragma once

#include <memory>
#include <vector>

#include "core/spin_pool.h"
#include "llm/llama_kernels.h"
#include "llm/llama_model.h"

namespace epara::llm {

class KernelLlamaModel final : public LlamaModel {
 public:
  // `weights` must describe layers [first_layer, end_layer) of `config` (embed set only on the
  // first stage, final_norm and lm_head only on the last; rope tables for
  // config.max_position_embeddings positions); `storage` owns everything they point to.
  // `weight_bytes`: the memory the weights hold. `threads` >= 1 kernel workers (caller included).
  KernelLlamaModel(LlamaConfig config, kernels::ModelWeights weights,
                   std::shared_ptr<const void> storage, int64_t weight_bytes, int first_layer,
                   int end_layer, int threads);

  const LlamaConfig& config() const override { return config_; }
  int64_t weight_bytes() const override { return weight_bytes_; }
  int64_t kv_bytes_per_token() const override;
  std::unique_ptr<KvCache> NewCache(int capacity) override;
  int first_layer() const override { return first_layer_; }
  int end_layer() const override { return end_layer_; }
  Status ForwardStage(std::span<const Chunk> chunks, std::span<const float> hidden_in,
                      bool all_positions, std::vector<float>* out) override;

 private:
  LlamaConfig config_;
  kernels::ModelWeights weights_;
  std::shared_ptr<const void> storage_;
  int64_t weight_bytes_;
  int first_layer_, end_layer_;
  SpinPool pool_;
  kernels::StepScratch scratch_;
  std::vector<kernels::StepToken> tokens_;
};

// Rotary tables for `c.max_position_embeddings` positions, [positions, head_dim] each, rotate-half
// layout, from RopeInverseFrequencies(c) (as the LibTorch model computes them, in float).
void BuildRopeTables(const LlamaConfig& c, std::vector<float>* cos, std::vector<float>* sin);

}  // namespace epara::llm
