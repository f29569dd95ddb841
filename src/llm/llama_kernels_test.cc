// The decode kernels' pieces against plain loops written here: the in-register transpose, the
// attention of one KV head's query group (vector max/sum and register accumulation of V; over an
// fp16 cache too), and RMSNorm. The whole step is checked against LibTorch ops in
// llama_model_test.cc.
#include "llm/llama_kernels.h"

#include "core/half.h"
#include "llm/kernel_testing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <tuple>
#include <vector>

namespace epara::llm::kernels {
namespace {

using kernel_testing::Random;

TEST(DecodeKernelsTest, TransposeTo16MatchesTheDefinitionForFullAndPartialGroups) {
  // 1413 columns: 88 full 16-column tiles and a 5-column scalar tail.
  for (int64_t cols : {int64_t{16}, int64_t{512}, int64_t{1413}, int64_t{7}})
    for (int n : {16, 9, 1}) {
      const std::vector<float> x = Random(static_cast<size_t>(n * cols), 7);
      std::vector<float> xt(static_cast<size_t>(cols * 16), -1.0f);
      TransposeTo16(x.data(), cols, n, xt.data());
      for (int64_t k = 0; k < cols; ++k)
        for (int j = 0; j < 16; ++j)
          ASSERT_EQ(xt[k * 16 + j], j < n ? x[j * cols + k] : 0.0f)
              << "cols " << cols << " n " << n << " k " << k << " j " << j;
    }
}

TEST(DecodeKernelsTest, AttendGroupEqualsSoftmaxOfScoresTimesValues) {
  // head_dim 64 takes the 64-column path, 48 the 16-column one, 24 and 88 end in single columns;
  // 1 and 17 positions leave odd
  // remainders for the two-keys-at-a-time loop and the 16-lane reductions.
  for (int64_t hd : {int64_t{64}, int64_t{128}, int64_t{24}, int64_t{48}, int64_t{88}})
    for (int64_t total : {int64_t{1}, int64_t{17}, int64_t{96}}) {
      const int64_t group = 2;
      const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
      const std::vector<float> q = Random(group * hd, 1), K = Random(total * hd, 2, 3.0f),
                               V = Random(total * hd, 3);
      std::vector<float> scores(group * total), out(group * hd);
      AttendGroup(q.data(), group, K.data(), V.data(), total, hd, scale, scores.data(), out.data());
      for (int64_t i = 0; i < group; ++i) {
        std::vector<double> p(total);
        double max_s = -INFINITY, sum = 0;
        for (int64_t t = 0; t < total; ++t) {
          double s = 0;
          for (int64_t d = 0; d < hd; ++d) s += double{q[i * hd + d]} * K[t * hd + d];
          p[t] = s * scale;
          max_s = std::max(max_s, p[t]);
        }
        for (double& v : p) sum += (v = std::exp(v - max_s));
        for (int64_t d = 0; d < hd; ++d) {
          double o = 0;
          for (int64_t t = 0; t < total; ++t) o += p[t] / sum * V[t * hd + d];
          ASSERT_NEAR(out[i * hd + d], o, 1e-5)
              << "hd " << hd << " total " << total << " query " << i << " d " << d;
        }
      }
    }
}

TEST(DecodeKernelsTest, AttendCausalEqualsAttendGroupPerToken) {
  // n tokens x group heads as one block against a cache of p0 + n positions, each token seeing
  // only positions up to its own: the same as AttendGroup per token with its own total.
  for (int64_t hd : {int64_t{64}, int64_t{24}, int64_t{48}})
    for (auto [n, group, p0] : {std::tuple<int64_t, int64_t, int64_t>{1, 2, 0},
                                {8, 2, 0},
                                {5, 3, 11},
                                {16, 1, 40},
                                {2, 8, 3}}) {
      const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
      const int64_t total = p0 + n, nh = group + 1;  // one extra head: rows have a stride
      const std::vector<float> q = Random(n * nh * hd, 4), K = Random(total * hd, 5, 3.0f),
                               V = Random(total * hd, 6);
      std::vector<float> scores(n * group * total), qt(hd * 16), out(n * nh * hd, -7.0f);
      AttendCausal(q.data(), nh * hd, n, group, p0, K.data(), V.data(), hd, scale, scores.data(),
                   qt.data(), out.data(), nh * hd);
      for (int64_t j = 0; j < n; ++j) {
        std::vector<float> sc(group * total), ref(group * hd);
        AttendGroup(q.data() + j * nh * hd, group, K.data(), V.data(), p0 + j + 1, hd, scale,
                    sc.data(), ref.data());
        for (int64_t e = 0; e < group * hd; ++e)
          ASSERT_NEAR(out[j * nh * hd + e], ref[e], 1e-5)
              << "hd " << hd << " n " << n << " group " << group << " token " << j;
        for (int64_t e = group * hd; e < nh * hd; ++e)  // the other head's slot is untouched
          ASSERT_EQ(out[j * nh * hd + e], -7.0f);
      }
    }
}

// An fp16 cache: the values it holds, as float and as fp16 bits.
struct HalfCache {
  std::vector<uint16_t> bits;
  std::vector<float> values;
};
HalfCache ToHalf(const std::vector<float>& v) {
  HalfCache h{std::vector<uint16_t>(v.size()), std::vector<float>(v.size())};
  for (size_t i = 0; i < v.size(); ++i) {
    h.bits[i] = FloatToHalf(v[i]);
    h.values[i] = HalfToFloat(h.bits[i]);
  }
  return h;
}

TEST(DecodeKernelsTest, AttentionOverAnFp16CacheEqualsTheF32KernelsOnItsValues) {
  // Totals below, at and across the 64-position conversion chunks; head sizes for each
  // column path; query groups of 1-8.
  for (int64_t hd : {int64_t{64}, int64_t{48}, int64_t{24}})
    for (int64_t total : {int64_t{1}, int64_t{63}, int64_t{64}, int64_t{65}, int64_t{150}})
      for (int64_t group : {int64_t{1}, int64_t{4}, int64_t{8}}) {
        const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
        const std::vector<float> q = Random(group * hd, 1);
        const HalfCache K = ToHalf(Random(total * hd, 2, 3.0f)), V = ToHalf(Random(total * hd, 3));
        std::vector<float> s1(group * total), s2(group * total), o1(group * hd), o2(group * hd, 9);
        AttendGroup(q.data(), group, K.values.data(), V.values.data(), total, hd, scale, s1.data(),
                    o1.data());
        AttendGroupHalf(q.data(), group, K.bits.data(), V.bits.data(), total, hd, scale, s2.data(),
                        o2.data());
        for (int64_t e = 0; e < group * hd; ++e)
          ASSERT_NEAR(o2[e], o1[e], 1e-5)
              << "hd " << hd << " total " << total << " group " << group;
      }
  for (int64_t hd : {int64_t{64}, int64_t{48}})
    for (auto [n, group, p0] : {std::tuple<int64_t, int64_t, int64_t>{1, 2, 0},
                                {8, 2, 60},
                                {16, 1, 100},
                                {5, 3, 127},
                                {2, 8, 63}}) {
      const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
      const int64_t total = p0 + n, nh = group + 1;
      const std::vector<float> q = Random(n * nh * hd, 4);
      const HalfCache K = ToHalf(Random(total * hd, 5, 3.0f)), V = ToHalf(Random(total * hd, 6));
      std::vector<float> scores(n * group * total), qt(hd * 16), o1(n * nh * hd, -7.0f),
          o2(n * nh * hd, -7.0f);
      AttendCausal(q.data(), nh * hd, n, group, p0, K.values.data(), V.values.data(), hd, scale,
                   scores.data(), qt.data(), o1.data(), nh * hd);
      AttendCausalHalf(q.data(), nh * hd, n, group, p0, K.bits.data(), V.bits.data(), hd, scale,
                       scores.data(), qt.data(), o2.data(), nh * hd);
      for (size_t e = 0; e < o1.size(); ++e)
        ASSERT_NEAR(o2[e], o1[e], 1e-5) << "hd " << hd << " n " << n << " p0 " << p0;
    }
}

TEST(DecodeKernelsTest, RmsNormEqualsTheDefinition) {
  for (int64_t n : {int64_t{512}, int64_t{37}}) {
    const std::vector<float> x = Random(n, 4, 5.0f), w = Random(n, 5);
    std::vector<float> out(n);
    RmsNorm(x.data(), w.data(), n, 1e-5f, out.data());
    double ss = 0;
    for (float v : x) ss += double{v} * v;
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(n) + 1e-5);
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(out[i], x[i] * inv * w[i], 1e-5) << i;
  }
}

}  // namespace
}  // namespace epara::llm::kernels
