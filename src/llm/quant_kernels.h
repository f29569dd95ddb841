// Weight products on GGML block-quantized matrices (formats/ggml_quant.h has the block layouts):
// Q8_0, Q4_0, Q4_K and Q6_K, the types of the GGUF files edge users run (Q4_K_M is Q4_K with Q6_K
// for some matrices). The weights stay quantized in memory and are dequantized in registers.
//
// Two paths, as for F32 weights (llm/llama_kernels.h):
//   - few input rows (decode): the inputs are quantized once per product (QuantizeInput: Q8_0
//     blocks, and Q8_K super-blocks for the K-quants) and every weight block meets them as
//     int8 x int8 products, as llama.cpp does; the K-quants' sub-block scales multiply integer
//     sums (Q4_K's mins meet the inputs' 16-value sums). The inputs' rounding (~0.4% of each
//     block's largest input) is the price of half the instructions.
//   - many input rows (prompts): rows are dequantized 8 at a time into an L1 tile that every
//     transposed group of 16 inputs passes through (F32 products; the weights are read once).
// x86-64 with AVX2 gets hand-written register tiles (Q4_0 at batch 1 one vpdpbusd per block where the
// CPU has AVX512-VNNI); everything else (and the reference the tests compare against) runs the
// portable loops. Where the CPU has VNNI, steps of 4+ inputs take the int8 panels of
// llm/int8_gemm.h instead of either path (the caller, llm/llama_kernels.cc, chooses). Row widths must be whole blocks: 32 weights for
// Q8_0 / Q4_0, 256 for the K-quants.
#pragma once

#include <cstdint>
#include <vector>

#include "formats/gguf.h"

namespace epara::llm::kernels {

// kBF16: bfloat16 weights (a float's top 16 bits; half of F32's bytes, F32's range), multiplied
// with float inputs (MatVecRowsBf16 in llm/llama_kernels.h), not through QuantizeInput.
enum class WeightType : uint8_t { kF32, kQ8_0, kQ4_0, kQ4_K, kQ6_K, kBF16 };
const char* WeightTypeName(WeightType t);
// The GGUF tensor type of each weight type, and back (false for types the kernels do not read
// in place: F16).
formats::GgmlType GgmlTypeOf(WeightType t);
bool WeightTypeOf(formats::GgmlType g, WeightType* out);
// Weights per block (1 for F32) and bytes per block.
int WeightBlockElements(WeightType t);
int WeightBlockBytes(WeightType t);
// Bytes of one row of `cols` weights. REQUIRES: cols a multiple of WeightBlockElements(t).
int64_t WeightRowBytes(WeightType t, int64_t cols);

// Input rows for the quantized products, in the form each weight type multiplies:
//   for Q8_0 / Q4_0: each row as cols / 32 Q8_0 blocks (a scale per 32 values, as the weights);
//   for Q4_K / Q6_K (when cols % 256 == 0): per 256 values one float scale and 256 int8 values,
//     and the sum of every 16 int8 values (llama.cpp's Q8_K): the sub-block products then add up
//     as integers, with one float multiply per super-block.
struct QuantizedInput {
  std::vector<uint8_t> blocks;
  std::vector<float> k_scale;
  std::vector<int8_t> k_q;
  std::vector<int16_t> k_sum16;
};
// REQUIRES: cols % 32 == 0. `q8_0` / `q8_k`: which forms to fill (the weight types of the
// product ask for one or both; the K form only when cols % 256 == 0).
void QuantizeInput(const float* x, int rows, int64_t cols, QuantizedInput* out, bool q8_0 = true,
                   bool q8_k = true);
// The values row `row` of `x` stands for in products with `t`-typed weights (tests' references).
void DequantizeInput(WeightType t, const QuantizedInput& x, int row, int64_t cols, float* out);

// y[b * rows + r] = dot(W[r, :], x[b, :]) for r in [r0, r1), b in [0, batch); W is `t`-typed
// (a block type: not F32 or BF16) rows of `cols` weights; x quantized by QuantizeInput.
void MatVecRowsQuant(WeightType t, const uint8_t* W, int64_t cols, const QuantizedInput& x,
                     int batch, int64_t rows, float* y, int64_t r0, int64_t r1);
// The same with float inputs given as ceil(n / 16) transposed groups (TransposeTo16), as
// MatMulRowsT: prompts.
void MatMulRowsQuantT(WeightType t, const uint8_t* W, int64_t cols, const float* xt, int n,
                      int64_t rows, float* y, int64_t r0, int64_t r1);

// `elements` consecutive weights (whole blocks) of a `t`-typed matrix to floats (AVX2 where the
// CPU has it; the portable loops of formats/ggml_quant.h otherwise).
void DequantizeWeights(WeightType t, const uint8_t* W, int64_t elements, float* out);
void DequantizeWeightsPortable(WeightType t, const uint8_t* W, int64_t elements, float* out);

// The portable loops (the non-AVX2 path), exposed so tests compare both paths on any host.
void MatVecRowsQuantPortable(WeightType t, const uint8_t* W, int64_t cols, const QuantizedInput& x,
                             int batch, int64_t rows, float* y, int64_t r0, int64_t r1);

}  // namespace epara::llm::kernels
