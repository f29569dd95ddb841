// The device management protocol's fixed micro-benchmark: a node measures each device's speed
// when it registers, so routing and placement can compare heterogeneous nodes.
//
// CPU: a 128x128x128 single-precision matrix product (auto-vectorized loop nest, 4.2 MFLOP), run
// for at least `budget` on one thread; speed = that thread's GFLOP/s x the device's threads. A
// comparable number across nodes, not a peak (LibTorch's kernels reach several times more).
#pragma once

#include <chrono>

namespace epara::backend {

double MeasureCpuGflops(int threads,
                        std::chrono::milliseconds budget = std::chrono::milliseconds(30));

}  // namespace epara::backend
