// Prompt products on bfloat16 weights with the CPU's bfloat16 dot products (AVX512-BF16's
// vdpbf16ps: 32 products per instruction, 4x the F32 path's FMAs): the inputs are rounded to
// bfloat16 once per product, and 16 weight rows at a time are interleaved into a panel (a 32-bit
// lane per row holding 2 consecutive columns; llm/avx512_panel.h) that every input row passes
// through while it sits in L1/L2. The weights keep their layout in memory (decode reads them as
// rows). Only x86-64 CPUs with AVX512F/BW/VL and BF16 run it (Bf16GemmAvailable).
#pragma once

#include <cstdint>

namespace epara::llm::kernels {

// out[b * cols + i] = x[b * cols + i] rounded to bfloat16 (FloatToBf16), rows [r0, r1).
void RoundRowsToBf16(const float* x, int64_t cols, int r0, int r1, uint16_t* out);

// True when this CPU runs Bf16MatMulRows (AVX512F, BW, VL and BF16).
bool Bf16GemmAvailable();

// y[b * rows + r] = dot(W[r, :], x[b, :]) for r in [r0, r1), b in [0, n); W and x bfloat16
// ([rows, cols], [n, cols]). REQUIRES: Bf16GemmAvailable(), cols % 32 == 0.
void Bf16MatMulRows(const uint16_t* W, int64_t cols, const uint16_t* x, int n, int64_t rows,
                    float* y, int64_t r0, int64_t r1);

}  // namespace epara::llm::kernels
