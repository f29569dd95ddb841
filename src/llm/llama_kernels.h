// Plain C++ kernels for the Llama forward on CPU: every step (decode, prefill, chunked prefill
// mixed with decodes) runs here; LibTorch ops remain as the reference (LlamaLoadOptions).
//
// Why they exist: at batch 1 the Llama forward is a chain of matrix-vector products, and
// LibTorch's per-op dispatch, allocation and OpenMP fork/join (~25 ops per layer) cost more than
// reading the weights does (measured: 26% of the memory-bandwidth bound on the 2-core dev box).
// These kernels read each weight row once for all sequences of the step (register tiles of
// weight rows x sequences) and run everything between the weight products without allocation.
// At batch 16-64 they also beat LibTorch's GEMM plus per-sequence attention ops (measured in
// bench/results/llm_bench_demo.json). A prompt is the same computation with its tokens as the
// batch: the weight products become matrix products (row blocks that stay in L2 while every
// 16-token group passes through them), and each token attends causally to the positions up to
// its own, which the step writes before any token attends. They see only raw float pointers, so
// this file compiles without LibTorch.
//
// Layouts (F32 unless stated, row-major, contiguous):
//   weight matrices [rows, cols] (as stored by Hugging Face: out_features x in_features), F32 or
//     GGML blocks along each row (WeightMatrix)
//   KV cache per layer [kv_heads, capacity, head_dim], F32 or IEEE fp16 (KvType)
//   rotary tables [max_positions, head_dim], rotate-half layout
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "core/spin_pool.h"
#include "llm/bf16_gemm.h"
#include "llm/int8_gemm.h"
#include "llm/quant_kernels.h"

namespace epara::llm::kernels {

// y[b * rows + r] = dot(W[r, :], x[b, :]) for r in [r0, r1), b in [0, batch); x is [batch, cols].
void MatVecRows(const float* W, int64_t cols, const float* x, int batch, int64_t rows, float* y,
                int64_t r0, int64_t r1);

// The same product with bfloat16 weights (WeightType::kBF16): each weight widened in registers.
void MatVecRowsBf16(const uint16_t* W, int64_t cols, const float* x, int batch, int64_t rows,
                    float* y, int64_t r0, int64_t r1);

// The same product for up to 16 sequences from x transposed (TransposeTo16): each weight is
// broadcast against the 16 sequences' inputs at once (16 accumulators of 8 rows x 2 inner steps),
// so no lanes need reducing at the end. From batch kTransposedMinBatch on it beats MatVecRows.
inline constexpr int kTransposedMinBatch = 8;
// Block-quantized weights switch later: their dot tiles decode each block once for up to 4 inputs
// (llm/quant_kernels.h), and the transposed path dequantizes the whole matrix every step (measured
// on 2 cores, 134M shape: 8 inputs 12 vs 20 ms per step, 16 inputs 24 vs 21).
inline constexpr int kQuantizedTransposedMinBatch = 12;
// Where the CPU has AVX512-VNNI, block-quantized weights meet this many inputs or more through the
// int8 panels of llm/int8_gemm.h instead of the dot tiles or the transposed F32 path (measured on
// one core, 2048 x 768 Q4_K, input quantizing and panel unpacking included: 3 inputs 1.24x the
// dot tiles' time, 4 inputs 0.80x, 8 0.57x, 16 0.37x; 128 inputs 0.28x the transposed path's).
inline constexpr int kInt8MinBatch = 4;
// The same for bfloat16 weights on bfloat16 panels (llm/bf16_gemm.h) where the CPU has
// AVX512-BF16 (measured as above: 6 inputs 0.67x the dot tiles' time, 8 0.84x, 16 0.64x; the
// dot tiles' 4-input tile wins at 4; 128 inputs 0.64x the transposed path's).
inline constexpr int kBf16MinBatch = 6;
void MatVecRowsT(const float* W, int64_t cols, const float* xt, int batch, int64_t rows, float* y,
                 int64_t r0, int64_t r1);
// The same product for any n rows of input given as ceil(n / 16) transposed groups, one after
// another in xt ([cols, 16] each; TransposeTo16): each tile of 8 weight rows meets every group
// while it is in L1 (a prompt's matrix product: the weights are read once per step).
void MatMulRowsT(const float* W, int64_t cols, const float* xt, int n, int64_t rows, float* y,
                 int64_t r0, int64_t r1);
// xt[k * 16 + j] = x[j * cols + k] for j < n (n <= 16), 0 for j in [n, 16).
void TransposeTo16(const float* x, int64_t cols, int n, float* xt);

// out = x / sqrt(mean(x^2) + eps) * w, n elements. out may alias x.
void RmsNorm(const float* x, const float* w, int64_t n, float eps, float* out);

// out[i] = silu(gate_up[i]) * gate_up[n + i] for i in [0, n) (the SwiGLU of one sequence).
void SwiGlu(const float* gate_up, int64_t n, float* out);

// Rotate-half rotary embedding in place on `heads` vectors of head_dim (even) each.
void ApplyRope(float* v, int64_t heads, int64_t head_dim, const float* cos, const float* sin);

// The `group` query heads q [group, head_dim] that share one KV head, against `total` cached
// positions: out[i] = softmax(q_i . K^T * scale) V. scores must hold group * total floats.
void AttendGroup(const float* q, int64_t group, const float* K, const float* V, int64_t total,
                 int64_t head_dim, float scale, float* scores, float* out);

// The same with the cached keys and values in fp16 (uint16_t bits): they are converted to float
// 64 positions at a time into a per-thread buffer that stays in L1 (the cache is read from memory
// once, at half the bytes), then meet the f32 tiles. Results equal AttendGroup on the converted
// cache up to the order of additions (~1e-6 relative).
void AttendGroupHalf(const float* q, int64_t group, const uint16_t* K, const uint16_t* V,
                     int64_t total, int64_t head_dim, float scale, float* scores, float* out);

// Causal attention for `n` consecutive tokens of one sequence, at positions [p0, p0 + n), and the
// `group` query heads that share one KV head: q row (j, i) = token j's head i is at
// q + j * q_stride + i * head_dim; it attends to cached positions [0, p0 + j] and its output goes
// to out + j * out_stride + i * head_dim. The keys are read once for all n * group rows (n * group
// <= 16: one transposed group). scores must hold n * group * (p0 + n) floats, qt head_dim * 16.
void AttendCausal(const float* q, int64_t q_stride, int64_t n, int64_t group, int64_t p0,
                  const float* K, const float* V, int64_t head_dim, float scale, float* scores,
                  float* qt, float* out, int64_t out_stride);
// The same with an fp16 cache, converted in chunks as AttendGroupHalf does.
void AttendCausalHalf(const float* q, int64_t q_stride, int64_t n, int64_t group, int64_t p0,
                      const uint16_t* K, const uint16_t* V, int64_t head_dim, float scale,
                      float* scores, float* qt, float* out, int64_t out_stride);

// A weight matrix [rows, cols] as row blocks stacked in order, each F32 row-major or rows of GGML
// blocks (llm/quant_kernels.h): one part for a plain matrix; a fused matrix (q/k/v) keeps one part
// per source matrix, since a GGUF file may store them in different types (Q4_K_M: Q6_K values
// beside Q4_K queries and keys). No parts: absent.
struct WeightPart {
  WeightType type = WeightType::kF32;
  const void* data = nullptr;
  int64_t rows = 0;
};
struct WeightMatrix {
  std::vector<WeightPart> parts;
  bool empty() const { return parts.empty(); }
  static WeightMatrix F32(const float* data, int64_t rows) {
    return {{{WeightType::kF32, data, rows}}};
  }
};

// As MatMulRowsT for `count` (<= 8) rows held contiguously at `tile` (e.g. just dequantized):
// they are the output rows at y (already offset to the first of them; `rows` is y's row stride).
void MatMulTileT(const float* tile, int count, int64_t cols, const float* xt, int n, int64_t rows,
                 float* y);

// Weights of one decoder layer (fused q/k/v and gate/up, as the LibTorch model keeps them).
struct LayerWeights {
  const float* input_norm;  // [H]
  const float* post_norm;   // [H]
  WeightMatrix w_qkv;       // [(nh + 2 nkv) hd, H]
  WeightMatrix wo;          // [H, nh hd]
  WeightMatrix w_gate_up;   // [2 I, H]
  WeightMatrix w_down;      // [H, I]
};

// How a cache holds keys and values: F32, or IEEE fp16 (half the memory and the bytes read per
// decode step; rounding each cached value to 11 significant bits, as llama.cpp's default cache).
enum class KvType { kF32, kF16 };
inline int64_t KvElementBytes(KvType t) { return t == KvType::kF16 ? 2 : 4; }

// A pipeline stage holds some of the layers: embed is null on every stage but the first, and
// final_norm / lm_head are null on every stage but the last.
struct ModelWeights {
  int64_t hidden = 0, intermediate = 0, heads = 0, kv_heads = 0, head_dim = 0, vocab = 0;
  float rms_eps = 1e-5f;
  const void* embed = nullptr;  // [vocab, H] rows of embed_type; null: the input is hidden states
  WeightType embed_type = WeightType::kF32;
  const float* final_norm = nullptr;  // [H]
  WeightMatrix lm_head;               // [vocab, H]; empty: the output is hidden states
  const float* rope_cos = nullptr;    // [max_positions, hd]
  const float* rope_sin = nullptr;
  std::vector<LayerWeights> layers;
  KvType kv_type = KvType::kF32;  // how every StepToken's cache holds K and V
  // Products of many inputs on int8 or bfloat16 panels where the CPU has the instructions
  // (kInt8MinBatch, kBf16MinBatch; LlamaLoadOptions::panel_products).
  bool panel_products = true;
};

// One token of the step: the token, its position in its sequence, and the sequence's cache
// (per-layer K and V bases, of ModelWeights::kv_type elements, and capacity). Its K/V row is
// written at `position`. A prompt chunk is several tokens of one sequence at consecutive positions
// sharing one cache; each attends to positions [0, position]. `output`: whether this token's row is
// written to the step's output.
struct StepToken {
  int32_t token = 0;
  int64_t position = 0;
  int64_t capacity = 0;
  std::span<void*const> k, v;  // per layer
  bool output = true;
};

// Scratch reused across steps (grows to the largest step seen; no allocation once warm).
struct StepScratch {
  std::vector<float> x, h, qkv, attn, gate_up, act, xt;
  QuantizedInput xq;         // inputs as Q8_0 blocks, for quantized weights' dot tiles
  Int8Rows xi;               // inputs as int8 rows, for the int8 prompt products (llm/int8_gemm.h)
  std::vector<uint16_t> xb;  // inputs as bfloat16, for the bfloat16 ones (llm/bf16_gemm.h)
  std::vector<std::pair<int64_t, int64_t>> blocks;  // a prompt chunk's attention blocks
  // fp16 caches: a prompt chunk's keys and values converted to float once per layer, for all of
  // its blocks: per block its chunk's offset into `staged` (-1: not staged) and positions.
  std::vector<int64_t> block_stage, block_total;
  std::vector<std::pair<size_t, size_t>> staged_chunks;  // (first block, blocks)
  std::vector<float> staged;
};

// Runs the forward of `w`'s layers for the step's tokens (any mix of sequences' single tokens and
// prompt chunks). Input: the tokens' embeddings when w.embed is set, else `hidden_in` [tokens, H].
// Output `out`, one row per token whose `output` is set, in order: logits [vocab] when w.lm_head
// is not empty, else the hidden state [H]. Inputs must already be validated (token ids in range,
// position < capacity, a chunk's positions consecutive and not overlapping another's).
void ForwardStep(const ModelWeights& w, std::span<const StepToken> tokens, SpinPool& pool,
                 StepScratch* scratch, const float* hidden_in, float* out);

}  // namespace epara::llm::kernels
