#include "backend/device_probe.h"

#include <algorithm>
#include <vector>

namespace epara::backend {
namespace {

constexpr int kN = 128;

// c += a * b for kN x kN row-major matrices (i-k-j order: the inner loop vectorizes).
void MatMul(const float* a, const float* b, float* c) {
  for (int i = 0; i < kN; ++i)
    for (int k = 0; k < kN; ++k) {
      const float aik = a[i * kN + k];
      float* ci = c + i * kN;
      const float* bk = b + k * kN;
      for (int j = 0; j < kN; ++j) ci[j] += aik * bk[j];
    }
}

}  // namespace

double MeasureCpuGflops(int threads, std::chrono::milliseconds budget) {
  std::vector<float> a(kN * kN), b(kN * kN), c(kN * kN, 0.f);
  for (int i = 0; i < kN * kN; ++i) {
    a[i] = static_cast<float>(i % 7) * 0.01f;
    b[i] = static_cast<float>(i % 5) * 0.01f;
  }
  using Clock = std::chrono::steady_clock;
  MatMul(a.data(), b.data(), c.data());  // warm caches
  int64_t runs = 0;
  const auto start = Clock::now();
  auto now = start;
  do {
    MatMul(a.data(), b.data(), c.data());
    ++runs;
    now = Clock::now();
  } while (now - start < budget);
  volatile float sink = c[kN + 1];  // keeps the products observable
  (void)sink;
  const double seconds = std::chrono::duration<double>(now - start).count();
  const double flops = 2.0 * kN * kN * kN * static_cast<double>(runs);
  return flops / seconds / 1e9 * std::max(1, threads);
}

}  // namespace epara::backend
