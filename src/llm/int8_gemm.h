// Prompt products on integer dot products: block-quantized weights (Q8_0, Q4_0, Q4_K, Q6_K) times
// many input rows, with the inputs quantized to int8 and every multiply an int8 x uint8 one
// (AVX512-VNNI's vpdpbusd: 64 products per instruction, 4x the F32 path's FMAs per instruction).
//
// How (the layout llama.cpp repacks its weights into at load time, built here per product
// instead, so the weights keep one layout in memory for decode and prompts):
//   - 16 weight rows at a time are unpacked into a panel of unsigned bytes, interleaved so that
//     one 64-byte vector holds 4 consecutive columns of each of the 16 rows (a lane per row).
//     The panel (16 x cols bytes) stays in L1/L2 while every input row passes through it, so its
//     unpacking is paid once per 16 rows and step, not per input.
//   - each input row is int8 with a float scale per 32 values (QuantizeInt8Rows); a 4-byte piece
//     of it is broadcast against the panel's vector: the 16 lanes accumulate their rows' sums
//     with no horizontal reduction.
//   - per weight group (32 columns; 16 for Q6_K) the integer sums meet the group's weight scale
//     (per row, a vector) and the input's scale; the weights' offsets (Q4_0's -8, Q8_0's +128
//     bias, Q4_K's mins, Q6_K's -32) meet the input group's sum.
// Only x86-64 CPUs with AVX512F/BW/VL and VNNI run it (Int8GemmAvailable); others keep the F32
// path of quant_kernels.h.
#pragma once

#include <cstdint>
#include <vector>

#include "llm/quant_kernels.h"

namespace epara::llm::kernels {

// n input rows of `cols` values as int8: q[b * cols + i]; per 32 values a scale (the row's value
// is scale * q); per 16 and per 32 values the scaled sum of q (scale * sum q).
struct Int8Rows {
  int n = 0;
  int64_t cols = 0;
  std::vector<int8_t> q;
  std::vector<float> scale32;  // [n, cols / 32]
  std::vector<float> sum32;    // [n, cols / 32]
  std::vector<float> sum16;    // [n, cols / 16]
};

// Sizes `out` for n rows. REQUIRES: cols % 32 == 0.
void PrepareInt8Rows(int n, int64_t cols, Int8Rows* out);
// Quantizes rows [r0, r1) of x ([n, cols]) into `out` (prepared): scale = max |v| / 127,
// q = nearbyint(v / scale). Disjoint row ranges may run on different threads.
void QuantizeInt8Rows(const float* x, int r0, int r1, Int8Rows* out);

// True when this CPU runs Int8MatMulRows (AVX512F, BW, VL and VNNI).
bool Int8GemmAvailable();
// True for the weight types it multiplies: Q8_0, Q4_0, Q4_K, Q6_K.
bool Int8GemmSupports(WeightType t);

// y[b * rows + r] = dot(W[r, :], x[b, :]) for r in [r0, r1), b in [0, x.n); W is `t`-typed rows
// of x.cols weights. REQUIRES: Int8GemmAvailable(), Int8GemmSupports(t), x.cols a multiple of
// t's block.
void Int8MatMulRows(WeightType t, const uint8_t* W, const Int8Rows& x, int64_t rows, float* y,
                    int64_t r0, int64_t r1);

// The 16-row panel the kernel builds (tests): panel[(c / 4) * 64 + 4 * lane + c % 4] is the
// unsigned byte of row r0 + lane, column c (rows past `count` are zero); scale[g * 16 + lane] and
// offset[g * 16 + lane] are the row's weight for group g (32 columns; 16 for Q6_K): the row's
// weight at column c of group g is scale * byte + offset.
void UnpackInt8Panel(WeightType t, const uint8_t* W, int64_t cols, int64_t r0, int count,
                     uint8_t* panel, float* scale, float* offset);

}  // namespace epara::llm::kernels
