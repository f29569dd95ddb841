// LlamaModel: a Llama-architecture decoder (RMSNorm, rotary embeddings with rope_theta and
// rope_scaling, grouped-query attention, SwiGLU MLP, tied or untied embeddings) loaded from a
// Hugging Face folder (config.json + safetensors, F32/F16/BF16 stored, computed in F32 on CPU).
//
// This header is LibTorch-free; the implementation (llama_model_torch.cc) is in epara_torch.
// Thread-compatible: one Forward() at a time per model (the engine's worker serializes them).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "llm/llama_config.h"

namespace epara::llm {

// The keys and values of one sequence, for every layer, with room for `capacity()` tokens.
class KvCache {
 public:
  virtual ~KvCache() = default;
  virtual int length() const = 0;  // tokens already processed (the next token's position)
  virtual int capacity() const = 0;
  virtual int64_t bytes() const = 0;  // memory held
  // Forgets tokens from `length` on (e.g. to reuse a prefix). REQUIRES: length <= this->length().
  virtual void Truncate(int length) = 0;
  // Becomes a copy of `other`'s first other.length() tokens (every layer's keys and values) and
  // its length: a sequence forked after a shared prompt. REQUIRES: `other` is a cache of the same
  // model, other.length() <= capacity().
  virtual void CopyFrom(const KvCache& other) = 0;
};

struct LlamaLoadOptions {
  std::string device = "cpu";
  int threads = 0;  // intra-op threads on cpu; 0 = all cores
  // On cpu, every step (decode, prefill, both mixed) runs on epara's kernels
  // (llm/llama_kernels.h); false: LibTorch ops (the reference, for tests and comparison).
  bool cpu_kernels = true;
  // Weight matrices as the kernels read them: kF32, or converted at load to bfloat16 (half the
  // bytes, F32's range) or GGML blocks (Q8_0: ~3.8x less memory to read per token; Q4_0 ~7.1x;
  // Q4_K ~7.1x and Q6_K ~5.3x with finer scales); embeddings and norms stay F32. All but kF32
  // need cpu, cpu_kernels and every matrix width a multiple of the type's block (32 for Q8_0 and
  // Q4_0, 256 for the K-quants).
  enum class Weights { kF32, kQ8_0, kBF16, kQ4_0, kQ4_K, kQ6_K };
  Weights weights = Weights::kF32;
  // How caches hold keys and values: F32, or IEEE fp16 (half the memory, so twice the tokens in
  // the same KV budget, and half the bytes each decode step reads; llm/llama_kernels.h KvType).
  // F16 needs cpu and cpu_kernels.
  enum class KvCache { kF32, kF16 };
  KvCache kv_cache = KvCache::kF32;
  // Steps of many tokens (prompts, batched decodes) on the CPU's dot-product instructions:
  // block-quantized weights as int8 x int8 products where the CPU has AVX512-VNNI (from
  // kernels::kInt8MinBatch tokens; llm/int8_gemm.h: the inputs rounded to int8 per 32 values, as
  // decode steps already round them), bfloat16 weights as bfloat16 products where it has
  // AVX512-BF16 (from kernels::kBf16MinBatch; llm/bf16_gemm.h: the inputs rounded to bfloat16).
  // false: F32 inputs against dequantized weights (slower; the reference tests compare against).
  bool panel_products = true;
  // Pipeline stages: load only decoder layers [first_layer, end_layer) (end_layer 0: the last).
  // The first stage holds the embedding, the last the final norm and the LM head; each holds the
  // KV cache of its own layers only.
  int first_layer = 0;
  int end_layer = 0;
};

class LlamaModel {
 public:
  // Reads `dir`/config.json and the weights; or, when `dir` names a GGUF model (a .gguf file, or a
  // folder whose only model is one: llm/gguf_llama.h), that file. Errors name the file and the
  // tensor: missing tensors and shape mismatches are InvalidArgument, a missing folder or file
  // NotFound.
  static Status Load(const std::string& dir, const LlamaLoadOptions& options,
                     std::unique_ptr<LlamaModel>* out);
  virtual ~LlamaModel() = default;

  virtual const LlamaConfig& config() const = 0;
  virtual int64_t weight_bytes() const = 0;
  // KV-cache bytes per token of context (all layers, keys and values).
  virtual int64_t kv_bytes_per_token() const = 0;
  // An empty cache for one sequence, preallocated for `capacity` tokens.
  virtual std::unique_ptr<KvCache> NewCache(int capacity) = 0;

  // Runs `tokens` at positions [cache->length(), cache->length() + n), appends their keys/values
  // to `cache`, and writes the logits of every position, row-major [n, vocab], to `logits`.
  // InvalidArgument for token ids outside the vocabulary; ResourceExhausted when the cache is full.
  Status Forward(std::span<const int32_t> tokens, KvCache* cache, std::vector<float>* logits);

  struct Chunk {
    std::span<const int32_t>
        tokens;      // the next tokens of one sequence (prompt part or one decode token)
    KvCache* cache;  // that sequence's cache; distinct per chunk
  };
  // Runs several sequences in one pass: the linear layers see all chunks' tokens as one batch (the
  // weights are read once), attention runs per sequence against its own cache. `logits` receives,
  // per chunk in order, every position's row (all_positions) or only the last position's row.
  // Validation happens before any cache changes: on error no cache is modified.
  // On a pipeline stage other than the first this is InvalidArgument (it needs hidden states).
  Status ForwardBatch(std::span<const Chunk> chunks, bool all_positions,
                      std::vector<float>* logits) {
    return ForwardStage(chunks, {}, all_positions, logits);
  }

  // Layers [first_layer(), end_layer()) of the whole model's num_hidden_layers.
  virtual int first_layer() const = 0;
  virtual int end_layer() const = 0;
  bool is_first_stage() const { return first_layer() == 0; }
  bool is_last_stage() const { return end_layer() == config().num_hidden_layers; }

  // One pipeline stage's part of ForwardBatch. The first stage embeds the chunks' tokens and
  // `hidden_in` must be empty; a later stage takes `hidden_in`, the previous stage's output
  // [sum of the chunks' tokens, hidden_size] row-major (the tokens then only give the counts).
  // The last stage writes logits as ForwardBatch does; earlier stages write their output hidden
  // states for every position, [sum of tokens, hidden_size]. Same validation rule as ForwardBatch.
  virtual Status ForwardStage(std::span<const Chunk> chunks, std::span<const float> hidden_in,
                              bool all_positions, std::vector<float>* out) = 0;
};

// Checks ForwardStage's inputs for a model (stage) with config `c` holding layers from
// `first_layer`: at least one chunk, none empty, token ids inside the vocabulary, caches with room
// for the chunks' tokens (ResourceExhausted otherwise), and hidden_in empty on the first stage and
// [sum of tokens, hidden_size] on later ones. `*tokens` receives the sum of the chunks' tokens.
Status ValidateStageInput(const LlamaConfig& c, int first_layer,
                          std::span<const LlamaModel::Chunk> chunks,
                          std::span<const float> hidden_in, int64_t* tokens);

}  // namespace epara::llm
