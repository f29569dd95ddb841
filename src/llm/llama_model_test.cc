// Correctness of the Llama engine against an independent reference written plainly here (loops,
// double accumulation, no code shared with the engine).
#include "llm/llama_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "formats/ggml_quant.h"
#include "formats/safetensors.h"
#include "llm/bf16_gemm.h"
#include "llm/int8_gemm.h"
#include "llm/llama_kernels.h"
#include "llm/tokenizer.h"
#include "models/demo_llm.h"

namespace epara::llm {
namespace {

namespace fs = std::filesystem;
using Mat = std::vector<float>;  // row-major

struct Tiny {
  int vocab = 67, hidden = 64, inter = 96, layers = 2, heads = 4, kv_heads = 2, head_dim = 16;
  double eps = 1e-5, theta = 500000.0, linear_factor = 1.0;
  bool tied = false;
};

struct Weights {
  Mat embed, final_norm, lm_head;
  struct Layer {
    Mat in_norm, post_norm, q, k, v, o, gate, up, down;
  };
  std::vector<Layer> layers;
};

Mat Random(size_t n, std::mt19937& rng, float scale, float offset = 0) {
  std::normal_distribution<float> d(0.0f, scale);
  Mat m(n);
  for (float& x : m) x = offset + d(rng);
  return m;
}

Weights MakeWeights(const Tiny& c, uint32_t seed) {
  std::mt19937 rng(seed);
  Weights w;
  const size_t H = c.hidden, I = c.inter, Q = c.heads * c.head_dim, KV = c.kv_heads * c.head_dim;
  w.embed = Random(c.vocab * H, rng, 1.0f);
  for (int l = 0; l < c.layers; ++l) {
    Weights::Layer L;
    L.in_norm = Random(H, rng, 0.1f, 1.0f);
    L.post_norm = Random(H, rng, 0.1f, 1.0f);
    L.q = Random(Q * H, rng, 0.15f);
    L.k = Random(KV * H, rng, 0.15f);
    L.v = Random(KV * H, rng, 0.15f);
    L.o = Random(H * Q, rng, 0.15f);
    L.gate = Random(I * H, rng, 0.15f);
    L.up = Random(I * H, rng, 0.15f);
    L.down = Random(H * I, rng, 0.12f);
    w.layers.push_back(L);
  }
  w.final_norm = Random(H, rng, 0.1f, 1.0f);
  w.lm_head = c.tied ? w.embed : Random(c.vocab * H, rng, 0.2f);
  return w;
}

// ---- the reference ----
std::vector<double> RmsNorm(const std::vector<double>& x, const Mat& w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double r = 1.0 / std::sqrt(ss / x.size() + eps);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * r * w[i];
  return y;
}

std::vector<double> MatVec(const Mat& m, size_t rows, const std::vector<double>& x) {
  std::vector<double> y(rows, 0.0);
  for (size_t r = 0; r < rows; ++r)
    for (size_t j = 0; j < x.size(); ++j) y[r] += m[r * x.size() + j] * x[j];
  return y;
}

std::vector<std::vector<double>> Reference(const Tiny& c, const Weights& w,
                                           const std::vector<int32_t>& toks) {
  const size_t T = toks.size(), H = c.hidden, hd = c.head_dim;
  std::vector<std::vector<double>> x(T, std::vector<double>(H));
  for (size_t t = 0; t < T; ++t)
    for (size_t j = 0; j < H; ++j) x[t][j] = w.embed[toks[t] * H + j];
  std::vector<double> inv(hd / 2);
  for (size_t i = 0; i < hd / 2; ++i)
    inv[i] = 1.0 / std::pow(c.theta, 2.0 * i / hd) / c.linear_factor;
  auto rope = [&](std::vector<double>& v, size_t head, size_t pos) {
    for (size_t i = 0; i < hd / 2; ++i) {
      const double a = pos * inv[i], x1 = v[head * hd + i], x2 = v[head * hd + i + hd / 2];
      v[head * hd + i] = x1 * std::cos(a) - x2 * std::sin(a);
      v[head * hd + i + hd / 2] = x2 * std::cos(a) + x1 * std::sin(a);
    }
  };
  for (const auto& L : w.layers) {
    std::vector<std::vector<double>> q(T), k(T), v(T);
    for (size_t t = 0; t < T; ++t) {
      auto h = RmsNorm(x[t], L.in_norm, c.eps);
      q[t] = MatVec(L.q, c.heads * hd, h);
      k[t] = MatVec(L.k, c.kv_heads * hd, h);
      v[t] = MatVec(L.v, c.kv_heads * hd, h);
      for (int hh = 0; hh < c.heads; ++hh) rope(q[t], hh, t);
      for (int hh = 0; hh < c.kv_heads; ++hh) rope(k[t], hh, t);
    }
    for (size_t t = 0; t < T; ++t) {
      std::vector<double> attn(c.heads * hd, 0.0);
      for (int hh = 0; hh < c.heads; ++hh) {
        const size_t kvh = hh / (c.heads / c.kv_heads);
        std::vector<double> s(t + 1);
        double mx = -1e300;
        for (size_t j = 0; j <= t; ++j) {
          double dot = 0;
          for (size_t d = 0; d < hd; ++d) dot += q[t][hh * hd + d] * k[j][kvh * hd + d];
          s[j] = dot / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (size_t j = 0; j <= t; ++j)
          for (size_t d = 0; d < hd; ++d) attn[hh * hd + d] += s[j] / sum * v[j][kvh * hd + d];
      }
      auto o = MatVec(L.o, H, attn);
      for (size_t j = 0; j < H; ++j) x[t][j] += o[j];
      auto h = RmsNorm(x[t], L.post_norm, c.eps);
      auto g = MatVec(L.gate, c.inter, h), u = MatVec(L.up, c.inter, h);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      auto dn = MatVec(L.down, H, g);
      for (size_t j = 0; j < H; ++j) x[t][j] += dn[j];
    }
  }
  std::vector<std::vector<double>> logits(T);
  for (size_t t = 0; t < T; ++t)
    logits[t] = MatVec(w.lm_head, c.vocab, RmsNorm(x[t], w.final_norm, c.eps));
  return logits;
}

// ---- writing a Hugging Face folder ----
std::vector<uint8_t> F32Bytes(const Mat& m) {
  std::vector<uint8_t> b(m.size() * 4);
  std::memcpy(b.data(), m.data(), b.size());
  return b;
}
std::vector<uint8_t> HalfBytes(const Mat& m, bool bf16) {
  std::vector<uint8_t> b(m.size() * 2);
  for (size_t i = 0; i < m.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &m[i], 4);
    uint16_t h;
    if (bf16) {
      h = static_cast<uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >>
                                16);  // round to nearest even
    } else {  // |x| < 2^-14 (F16's normal range) flushes to zero; the weights stay far below 65504
      const uint32_t sign = (bits >> 16) & 0x8000;
      const int exp = static_cast<int>((bits >> 23) & 0xff) - 127 + 15;
      const uint32_t mant = bits & 0x7fffff;
      h = exp < 1 ? static_cast<uint16_t>(sign)
                  : static_cast<uint16_t>(sign | ((static_cast<uint32_t>(exp) << 10) +
                                                  ((mant + 0x1000) >> 13)));  // + carries
    }
    std::memcpy(&b[2 * i], &h, 2);
  }
  return b;
}

void WriteModel(const fs::path& dir, const Tiny& c, const Weights& w,
                formats::StDtype dtype = formats::StDtype::kF32, const std::string& skip = "",
                const std::string& extra_config = "") {
  fs::create_directories(dir);
  std::ofstream(dir / "config.json")
      << R"({"architectures": ["LlamaForCausalLM"], "hidden_act": "silu", "vocab_size": )"
      << c.vocab << ", \"hidden_size\": " << c.hidden << ", \"intermediate_size\": " << c.inter
      << ", \"num_hidden_layers\": " << c.layers << ", \"num_attention_heads\": " << c.heads
      << ", \"num_key_value_heads\": " << c.kv_heads << ", \"rms_norm_eps\": " << c.eps
      << ", \"rope_theta\": " << c.theta << ", \"max_position_embeddings\": 2048"
      << ", \"tie_word_embeddings\": " << (c.tied ? "true" : "false")
      << (c.linear_factor != 1.0 ? ", \"rope_scaling\": {\"type\": \"linear\", \"factor\": " +
                                       std::to_string(c.linear_factor) + "}"
                                 : "")
      << extra_config << ", \"bos_token_id\": 1, \"eos_token_id\": [2, 3]}";
  std::vector<formats::StWriteTensor> ts;
  auto add = [&](const std::string& name, const Mat& m, std::vector<int64_t> shape) {
    if (name == skip) return;
    ts.push_back({name, dtype, shape,
                  dtype == formats::StDtype::kF32
                      ? F32Bytes(m)
                      : HalfBytes(m, dtype == formats::StDtype::kBF16)});
  };
  const int64_t H = c.hidden, I = c.inter, Q = c.heads * c.head_dim, KV = c.kv_heads * c.head_dim;
  add("model.embed_tokens.weight", w.embed, {c.vocab, H});
  for (int l = 0; l < c.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const auto& L = w.layers[l];
    add(p + "input_layernorm.weight", L.in_norm, {H});
    add(p + "post_attention_layernorm.weight", L.post_norm, {H});
    add(p + "self_attn.q_proj.weight", L.q, {Q, H});
    add(p + "self_attn.k_proj.weight", L.k, {KV, H});
    add(p + "self_attn.v_proj.weight", L.v, {KV, H});
    add(p + "self_attn.o_proj.weight", L.o, {H, Q});
    add(p + "mlp.gate_proj.weight", L.gate, {I, H});
    add(p + "mlp.up_proj.weight", L.up, {I, H});
    add(p + "mlp.down_proj.weight", L.down, {H, I});
  }
  add("model.norm.weight", w.final_norm, {H});
  if (!c.tied) add("lm_head.weight", w.lm_head, {c.vocab, H});
  ASSERT_TRUE(formats::WriteSafetensors((dir / "model.safetensors").string(), ts).ok());
}

// Largest |a[i] - b[i]|; infinity for a size mismatch or a non-finite a[i].
double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i)
    d = std::isfinite(a[i]) ? std::max<double>(d, std::fabs(a[i] - b[i])) : INFINITY;
  return d;
}

class LlamaModelTest : public ::testing::Test {
 protected:
  // Writes the Tiny model of `seed` and loads it twice: on the kernels (3 workers, so rows split
  // across them) and on LibTorch ops (the reference).
  void LoadKernelsAndOps(uint32_t seed, std::unique_ptr<LlamaModel>* kernels,
                         std::unique_ptr<LlamaModel>* ops) {
    WriteModel(dir_, Tiny{}, MakeWeights(Tiny{}, seed));
    LlamaLoadOptions k{"cpu", 3}, o{"cpu", 1};
    o.cpu_kernels = false;
    ASSERT_TRUE(LlamaModel::Load(dir_.string(), k, kernels).ok());
    ASSERT_TRUE(LlamaModel::Load(dir_.string(), o, ops).ok());
  }
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("epara_llama_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::unique_ptr<LlamaModel> Load(const fs::path& d) {
    std::unique_ptr<LlamaModel> m;
    Status s = LlamaModel::Load(d.string(), {"cpu", 1}, &m);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return m;
  }
  static double MaxDiff(const std::vector<float>& got, const std::vector<std::vector<double>>& ref,
                        int vocab) {
    double m = 0;
    for (size_t t = 0; t < ref.size(); ++t)
      for (int v = 0; v < vocab; ++v) {
        const double d = std::fabs(got[t * vocab + v] - ref[t][v]);
        m = std::isfinite(d) ? std::max(m, d) : INFINITY;  // a NaN must fail, not vanish
      }
    return m;
  }
  fs::path dir_;
  const std::vector<int32_t> prompt_ = {1, 17, 42, 5, 66, 0, 23, 23, 9};
};

TEST_F(LlamaModelTest, ForwardMatchesThePlainReference) {
  for (bool tied : {false, true}) {
    Tiny c;
    c.tied = tied;
    Weights w = MakeWeights(c, tied ? 11 : 7);
    const fs::path d = dir_ / (tied ? "tied" : "untied");
    WriteModel(d, c, w);
    auto m = Load(d);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->config().head_dim, 16);
    EXPECT_EQ(m->config().eos_token_ids, (std::vector<int>{2, 3}));
    auto cache = m->NewCache(64);
    std::vector<float> logits;
    ASSERT_TRUE(m->Forward(prompt_, cache.get(), &logits).ok());
    ASSERT_EQ(logits.size(), prompt_.size() * c.vocab);
    const double diff = MaxDiff(logits, Reference(c, w, prompt_), c.vocab);
    EXPECT_LT(diff, 1e-4) << (tied ? "tied" : "untied");
    EXPECT_EQ(cache->length(), static_cast<int>(prompt_.size()));
  }
}

TEST_F(LlamaModelTest, RopeScalingAndThetaAreApplied) {
  Tiny c;
  c.theta = 10000.0;
  c.linear_factor = 4.0;
  Weights w = MakeWeights(c, 3);
  WriteModel(dir_, c, w);
  auto m = Load(dir_);
  ASSERT_TRUE(m);
  auto cache = m->NewCache(64);
  std::vector<float> logits;
  ASSERT_TRUE(m->Forward(prompt_, cache.get(), &logits).ok());
  EXPECT_LT(MaxDiff(logits, Reference(c, w, prompt_), c.vocab), 1e-4);
  Tiny unscaled = c;
  unscaled.linear_factor = 1.0;
  EXPECT_GT(MaxDiff(logits, Reference(unscaled, w, prompt_), c.vocab),
            1e-3);  // the scaling mattered
}

TEST_F(LlamaModelTest, IncrementalDecodeWithTheCacheEqualsFullRecomputation) {
  Tiny c;
  Weights w = MakeWeights(c, 5);
  WriteModel(dir_, c, w);
  auto m = Load(dir_);
  ASSERT_TRUE(m);
  std::vector<float> full;
  auto full_cache = m->NewCache(64);
  ASSERT_TRUE(m->Forward(prompt_, full_cache.get(), &full).ok());
  // One token at a time.
  auto cache = m->NewCache(64);
  for (size_t t = 0; t < prompt_.size(); ++t) {
    std::vector<float> step;
    ASSERT_TRUE(m->Forward(std::span(&prompt_[t], 1), cache.get(), &step).ok());
    double diff = 0;
    for (int v = 0; v < c.vocab; ++v)
      diff = std::max<double>(diff, std::fabs(step[v] - full[t * c.vocab + v]));
    EXPECT_LT(diff, 1e-4) << "position " << t;
  }
  // Chunked prefill (4 + 5) gives the same last-position logits.
  auto chunked = m->NewCache(64);
  std::vector<float> a, b;
  ASSERT_TRUE(m->Forward(std::span(prompt_.data(), 4), chunked.get(), &a).ok());
  ASSERT_TRUE(m->Forward(std::span(prompt_.data() + 4, 5), chunked.get(), &b).ok());
  for (int v = 0; v < c.vocab; ++v) EXPECT_NEAR(b[4 * c.vocab + v], full[8 * c.vocab + v], 1e-4);
  // Truncate and replay a different continuation.
  chunked->Truncate(4);
  std::vector<float> again;
  ASSERT_TRUE(m->Forward(std::span(prompt_.data() + 4, 5), chunked.get(), &again).ok());
  EXPECT_EQ(again, b);
}

TEST_F(LlamaModelTest, BatchedSequencesEqualSeparateRuns) {
  Tiny c;
  Weights w = MakeWeights(c, 21);
  WriteModel(dir_, c, w);
  auto m = Load(dir_);
  ASSERT_TRUE(m);
  // Three sequences of different lengths: prefill together, then greedy-decode 5 more steps
  // together.
  const std::vector<std::vector<int32_t>> prompts = {{1, 5, 9}, {1, 44, 2, 60, 7, 7, 30}, {1}};
  auto argmax = [&](const float* row) {
    return static_cast<int32_t>(std::max_element(row, row + c.vocab) - row);
  };
  auto generate_alone = [&](const std::vector<int32_t>& p) {
    auto cache = m->NewCache(32);
    std::vector<float> logits;
    EXPECT_TRUE(m->Forward(p, cache.get(), &logits).ok());
    std::vector<int32_t> out = {argmax(&logits[(p.size() - 1) * c.vocab])};
    for (int step = 0; step < 5; ++step) {
      EXPECT_TRUE(m->Forward(std::span(&out.back(), 1), cache.get(), &logits).ok());
      out.push_back(argmax(logits.data()));
    }
    return out;
  };
  std::vector<std::unique_ptr<KvCache>> caches;
  std::vector<LlamaModel::Chunk> chunks;
  for (const auto& p : prompts) {
    caches.push_back(m->NewCache(32));
    chunks.push_back({p, caches.back().get()});
  }
  std::vector<float> logits;
  ASSERT_TRUE(m->ForwardBatch(chunks, /*all_positions=*/false, &logits).ok());
  ASSERT_EQ(logits.size(), prompts.size() * c.vocab);
  std::vector<std::vector<int32_t>> together(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) together[i].push_back(argmax(&logits[i * c.vocab]));
  for (int step = 0; step < 5; ++step) {
    for (size_t i = 0; i < prompts.size(); ++i)
      chunks[i] = {std::span(&together[i].back(), 1), caches[i].get()};
    ASSERT_TRUE(m->ForwardBatch(chunks, false, &logits).ok());
    for (size_t i = 0; i < prompts.size(); ++i) together[i].push_back(argmax(&logits[i * c.vocab]));
  }
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(together[i], generate_alone(prompts[i])) << "sequence " << i;
  // A failing chunk leaves every cache untouched.
  const std::vector<int32_t> bad = {999};
  chunks = {{std::span(&together[0].back(), 1), caches[0].get()}, {bad, caches[1].get()}};
  const int before = caches[0]->length();
  EXPECT_EQ(m->ForwardBatch(chunks, false, &logits).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(caches[0]->length(), before);
}

TEST_F(LlamaModelTest, DecodeKernelsMatchLibTorchOps) {
  // The decode kernels against LibTorch ops, at batch sizes that exercise every register tile and
  // its remainders: dot-product tiles below 8, transposed groups of 16 from 8 on (9: one padded
  // group; 21: a group and a dot-product tail; 27: two groups, the second padded).
  const Tiny c;
  std::unique_ptr<LlamaModel> mk, mo;
  LoadKernelsAndOps(33, &mk, &mo);
  ASSERT_TRUE(mk && mo);
  for (int batch : {1, 2, 6, 9, 16, 21, 27}) {
    std::vector<std::unique_ptr<KvCache>> ck, co;
    std::vector<LlamaModel::Chunk> chk, cho;
    std::vector<std::vector<int32_t>> prompts;
    for (int b = 0; b < batch; ++b) {
      prompts.push_back({});
      for (int t = 0; t <= 2 * b + 1; ++t) prompts.back().push_back((7 * b + 3 * t + 1) % c.vocab);
    }
    for (int b = 0; b < batch; ++b) {
      ck.push_back(mk->NewCache(64));
      co.push_back(mo->NewCache(64));
      chk.push_back({prompts[b], ck.back().get()});
      cho.push_back({prompts[b], co.back().get()});
    }
    std::vector<float> lk, lo;
    ASSERT_TRUE(mk->ForwardBatch(chk, false, &lk).ok());
    ASSERT_TRUE(mo->ForwardBatch(cho, false, &lo).ok());
    std::vector<int32_t> next(batch);
    for (int step = 0; step < 4; ++step) {
      for (int b = 0; b < batch; ++b) {
        const float* row = &lo[b * c.vocab];
        next[b] = static_cast<int32_t>(std::max_element(row, row + c.vocab) - row);
        chk[b] = {std::span(&next[b], 1), ck[b].get()};
        cho[b] = {std::span(&next[b], 1), co[b].get()};
      }
      ASSERT_TRUE(mk->ForwardBatch(chk, false, &lk).ok());
      ASSERT_TRUE(mo->ForwardBatch(cho, false, &lo).ok());
      EXPECT_LT(MaxAbsDiff(lk, lo), 1e-4) << "batch " << batch << " step " << step;
      for (int b = 0; b < batch; ++b) EXPECT_EQ(ck[b]->length(), co[b]->length());
    }
  }
}

// Prefill and mixed steps on the kernels: prompts (their tokens are the step's rows, every
// matrix-product path: dot tiles below 8, 16-token groups, padded groups, a dot-product tail),
// prompt chunks continuing a cache, and a step mixing a prompt with decoding sequences, against
// LibTorch ops, for every position's logits and for the last ones only.
TEST_F(LlamaModelTest, PrefillAndMixedStepsOnTheKernelsMatchLibTorchOps) {
  const Tiny c;
  std::unique_ptr<LlamaModel> mk, mo;
  LoadKernelsAndOps(41, &mk, &mo);
  ASSERT_TRUE(mk && mo);
  const auto prompt = [&](int n, int salt) {
    std::vector<int32_t> p;
    for (int t = 0; t < n; ++t) p.push_back((5 * t + 11 * salt + 2) % c.vocab);
    return p;
  };
  // Whole prompts, every position's logits.
  for (int n : {1, 5, 8, 16, 17, 27, 40, 61}) {
    auto ck = mk->NewCache(96), co = mo->NewCache(96);
    const auto p = prompt(n, n);
    std::vector<float> lk, lo;
    ASSERT_TRUE(mk->Forward(p, ck.get(), &lk).ok());
    ASSERT_TRUE(mo->Forward(p, co.get(), &lo).ok());
    EXPECT_EQ(lk.size(), static_cast<size_t>(n) * c.vocab);
    EXPECT_LT(MaxAbsDiff(lk, lo), 1e-4) << "prompt of " << n;
    EXPECT_EQ(ck->length(), n);
  }
  // A mixed step: a new 23-token prompt, a sequence decoding one token after 9, and a 7-token
  // chunk continuing a 12-token prompt (chunked prefill), with both logits layouts.
  for (bool all_positions : {false, true}) {
    std::vector<std::unique_ptr<KvCache>> ck, co;
    const std::vector<int> cached = {0, 9, 12}, step = {23, 1, 7};
    std::vector<std::vector<int32_t>> steps;
    std::vector<LlamaModel::Chunk> chk, cho;
    std::vector<float> lk, lo;
    for (int i = 0; i < 3; ++i) {
      ck.push_back(mk->NewCache(64));
      co.push_back(mo->NewCache(64));
      if (cached[i] > 0) {
        const auto head = prompt(cached[i], 100 + i);
        ASSERT_TRUE(mk->Forward(head, ck.back().get(), &lk).ok());
        ASSERT_TRUE(mo->Forward(head, co.back().get(), &lo).ok());
      }
      steps.push_back(prompt(step[i], 200 + i));
    }
    for (int i = 0; i < 3; ++i) {
      chk.push_back({steps[i], ck[i].get()});
      cho.push_back({steps[i], co[i].get()});
    }
    ASSERT_TRUE(mk->ForwardBatch(chk, all_positions, &lk).ok());
    ASSERT_TRUE(mo->ForwardBatch(cho, all_positions, &lo).ok());
    EXPECT_EQ(lk.size(), static_cast<size_t>(all_positions ? 31 : 3) * c.vocab);
    EXPECT_LT(MaxAbsDiff(lk, lo), 1e-4) << "all_positions " << all_positions;
    for (int i = 0; i < 3; ++i) EXPECT_EQ(ck[i]->length(), cached[i] + step[i]);
  }
  // A prompt run in two chunks leaves the same cache as one pass: the next token's logits agree.
  auto one = mk->NewCache(64), two = mk->NewCache(64);
  const auto p = prompt(30, 7);
  std::vector<float> l1, l2;
  ASSERT_TRUE(mk->Forward(p, one.get(), &l1).ok());
  ASSERT_TRUE(mk->Forward(std::span(p).first(13), two.get(), &l2).ok());
  ASSERT_TRUE(mk->Forward(std::span(p).subspan(13), two.get(), &l2).ok());
  const std::vector<float> last1(l1.end() - c.vocab, l1.end()), last2(l2.end() - c.vocab, l2.end());
  EXPECT_LT(MaxAbsDiff(last1, last2), 1e-5);
  const int32_t next = 3;
  ASSERT_TRUE(mk->Forward(std::span(&next, 1), one.get(), &l1).ok());
  ASSERT_TRUE(mk->Forward(std::span(&next, 1), two.get(), &l2).ok());
  EXPECT_LT(MaxAbsDiff(l1, l2), 1e-5);
}

// An fp16 KV cache: half the bytes per token; a prompt in chunks (across the kernels' 64-position
// conversion chunks) leaves the cache one pass leaves; decode and mixed steps stay within the
// rounding of the cached values of the F32 cache's logits, with the same greedy tokens wherever
// the F32 model's top two are further apart than that; and it needs the kernels.
TEST_F(LlamaModelTest, AnFp16KvCacheHoldsHalfAndComputesWhatTheF32CacheComputes) {
  const Tiny c;
  WriteModel(dir_, c, MakeWeights(c, 61));
  LlamaLoadOptions f32{"cpu", 2}, f16{"cpu", 2};
  f16.kv_cache = LlamaLoadOptions::KvCache::kF16;
  std::unique_ptr<LlamaModel> mf, mh;
  ASSERT_TRUE(LlamaModel::Load(dir_.string(), f32, &mf).ok());
  ASSERT_TRUE(LlamaModel::Load(dir_.string(), f16, &mh).ok());
  EXPECT_EQ(mh->kv_bytes_per_token() * 2, mf->kv_bytes_per_token());
  EXPECT_EQ(mh->NewCache(96)->bytes() * 2, mf->NewCache(96)->bytes());
  std::vector<int32_t> p;
  for (int t = 0; t < 80; ++t) p.push_back((7 * t + 3) % c.vocab);
  auto cf = mf->NewCache(128), ch = mh->NewCache(128), chunked = mh->NewCache(128);
  std::vector<float> lf, lh, lc;
  ASSERT_TRUE(mf->Forward(p, cf.get(), &lf).ok());
  ASSERT_TRUE(mh->Forward(p, ch.get(), &lh).ok());
  ASSERT_TRUE(mh->Forward(std::span(p).first(70), chunked.get(), &lc).ok());
  ASSERT_TRUE(mh->Forward(std::span(p).subspan(70), chunked.get(), &lc).ok());
  const std::vector<float> last_h(lh.end() - c.vocab, lh.end()),
      last_c(lc.end() - c.vocab, lc.end());
  EXPECT_LT(MaxAbsDiff(last_h, last_c), 1e-5);
  double range = 0;
  for (float f : lf) range = std::max<double>(range, std::fabs(f));
  const double tol = 5e-3 * range;  // fp16 keeps 11 significant bits of each K and V
  EXPECT_LT(MaxAbsDiff(lf, lh), tol);
  EXPECT_GT(MaxAbsDiff(lf, lh), 0.0) << "no rounding: not an fp16 cache";
  int checked = 0;
  for (int step = 0; step < 12; ++step) {
    const float* row = &lf[lf.size() - c.vocab];
    std::vector<float> sorted(row, row + c.vocab);
    std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<float>());
    const int32_t next_f = static_cast<int32_t>(std::max_element(row, row + c.vocab) - row);
    const float* rh = &lh[lh.size() - c.vocab];
    const int32_t next_h = static_cast<int32_t>(std::max_element(rh, rh + c.vocab) - rh);
    if (sorted[0] - sorted[1] > 2 * tol) {
      EXPECT_EQ(next_h, next_f) << "step " << step;
      ++checked;
    }
    ASSERT_TRUE(mf->Forward(std::span(&next_f, 1), cf.get(), &lf).ok());
    ASSERT_TRUE(mh->Forward(std::span(&next_f, 1), ch.get(), &lh).ok());
    EXPECT_LT(MaxAbsDiff(lf, lh), tol) << "step " << step;
  }
  EXPECT_GT(checked, 6);
  // A mixed step: a 20-token chunk continuing a 50-token prompt beside a sequence decoding.
  std::vector<std::unique_ptr<KvCache>> mixed_f, mixed_h;
  for (auto* v : {&mixed_f, &mixed_h}) {
    LlamaModel* m = v == &mixed_f ? mf.get() : mh.get();
    v->push_back(m->NewCache(96));
    v->push_back(m->NewCache(96));
    ASSERT_TRUE(m->Forward(std::span(p).first(50), (*v)[0].get(), &lc).ok());
    ASSERT_TRUE(m->Forward(std::span(p).subspan(10, 30), (*v)[1].get(), &lc).ok());
    const std::vector<LlamaModel::Chunk> step = {{std::span(p).subspan(50, 20), (*v)[0].get()},
                                                 {std::span(p).subspan(40, 1), (*v)[1].get()}};
    ASSERT_TRUE(m->ForwardBatch(step, true, v == &mixed_f ? &lf : &lh).ok());
  }
  EXPECT_EQ(lf.size(), static_cast<size_t>(21 * c.vocab));
  EXPECT_LT(MaxAbsDiff(lf, lh), tol);
  LlamaLoadOptions ops = f16;
  ops.cpu_kernels = false;
  EXPECT_EQ(LlamaModel::Load(dir_.string(), ops, &mh).code(), StatusCode::kInvalidArgument);
}

// Q8_0 weights: a checkpoint whose matrices are already Q8_0-representable (quantized and back)
// loaded with weights: kQ8_0 quantizes them to exactly those values. Prompts of 8 tokens or more
// (F32 inputs against dequantized tiles) then give the F32 model's logits up to summation order;
// smaller steps (decode) also round their inputs to Q8_0 (int8 x int8 products), which moves this
// tiny random model's logits by up to ~2% of their range; and the model holds less.
TEST_F(LlamaModelTest, Q8_0WeightsComputeWhatTheirF32ValuesCompute) {
  Tiny c;
  Weights w = MakeWeights(c, 53);
  const auto round_trip = [](Mat* m) {
    std::vector<uint8_t> q(m->size() / formats::kQ8_0Block * formats::kQ8_0Bytes);
    formats::QuantizeQ8_0(m->data(), static_cast<int64_t>(m->size()), q.data());
    formats::DequantizeQ8_0(q.data(), static_cast<int64_t>(m->size()), m->data());
  };
  for (auto& L : w.layers)
    for (Mat* m : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) round_trip(m);
  round_trip(&w.lm_head);
  WriteModel(dir_, c, w);
  LlamaLoadOptions f32{"cpu", 2}, q8{"cpu", 2};
  q8.weights = LlamaLoadOptions::Weights::kQ8_0;
  q8.panel_products = false;  // the F32-input paths; the int8 panels are checked below
  LlamaLoadOptions q8i = q8;
  q8i.panel_products = true;
  std::unique_ptr<LlamaModel> mf, mq, mi;
  ASSERT_TRUE(LlamaModel::Load(dir_.string(), f32, &mf).ok());
  ASSERT_TRUE(LlamaModel::Load(dir_.string(), q8, &mq).ok());
  ASSERT_TRUE(LlamaModel::Load(dir_.string(), q8i, &mi).ok());
  EXPECT_LT(mq->weight_bytes(), mf->weight_bytes() * 6 / 10);  // embeddings and norms stay F32
  // Prompts (dot tiles below 12 tokens, dequantized tiles for 16-token groups and for a last group
  // of 12 or more; a tail of fewer than 12 takes dot tiles) and decode steps.
  for (int n : {1, 5, 9, 16, 20, 24, 28, 37}) {
    auto cf = mf->NewCache(64), cq = mq->NewCache(64);
    std::vector<int32_t> p;
    for (int t = 0; t < n; ++t) p.push_back((3 * t + n) % c.vocab);
    std::vector<float> lf, lq;
    ASSERT_TRUE(mf->Forward(p, cf.get(), &lf).ok());
    ASSERT_TRUE(mq->Forward(p, cq.get(), &lq).ok());
    const auto range = [](const std::vector<float>& v) {
      double m = 0;
      for (float f : v) m = std::max<double>(m, std::fabs(f));
      return m;
    };
    const bool f32_inputs = n % 16 == 0 || n % 16 >= kernels::kQuantizedTransposedMinBatch;
    if (f32_inputs)
      EXPECT_LT(MaxAbsDiff(lf, lq), 1e-4) << "prompt of " << n;
    else
      EXPECT_LT(MaxAbsDiff(lf, lq), 0.05 * range(lf)) << "prompt of " << n;
    // The int8 panels (prompts of kInt8MinBatch tokens or more, where the CPU has VNNI) round
    // the inputs per 32 values, as the dot tiles do.
    auto ci = mi->NewCache(64);
    std::vector<float> li;
    ASSERT_TRUE(mi->Forward(p, ci.get(), &li).ok());
    EXPECT_LT(MaxAbsDiff(lf, li), 0.05 * range(lf)) << "int8 prompt of " << n;
    if (kernels::Int8GemmAvailable() && n >= kernels::kInt8MinBatch) {
      EXPECT_GT(MaxAbsDiff(li, lq), 0.0) << "prompt of " << n << " did not take the int8 panels";
    }
    for (int step = 0; step < 3; ++step) {
      const int32_t next = (11 * step + n) % c.vocab;
      ASSERT_TRUE(mf->Forward(std::span(&next, 1), cf.get(), &lf).ok());
      ASSERT_TRUE(mq->Forward(std::span(&next, 1), cq.get(), &lq).ok());
      EXPECT_LT(MaxAbsDiff(lf, lq), 0.05 * range(lf)) << "prompt of " << n << ", step " << step;
      EXPECT_GT(MaxAbsDiff(lf, lq), 0.0) << "the inputs' rounding left no trace: not the int8 path";
    }
  }
  // Q8_0 needs the kernels and widths in whole blocks.
  LlamaLoadOptions ops = q8;
  ops.cpu_kernels = false;
  EXPECT_EQ(LlamaModel::Load(dir_.string(), ops, &mq).code(), StatusCode::kInvalidArgument);
}

// The other weight types converted at load: Q4_0 (its values round-tripped first, so prompts of
// 16 tokens give the F32 logits up to summation order), bfloat16 (within its rounding of the
// weights), both at the footprint their type implies; the K-quants refuse this model's 64-wide
// rows (super-blocks are 256 weights), naming the rule.
TEST_F(LlamaModelTest, WeightTypesConvertedAtLoadComputeWhatTheirValuesCompute) {
  Tiny c;
  Weights w = MakeWeights(c, 59);
  for (auto& L : w.layers)
    for (Mat* m : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) {
      std::vector<uint8_t> q(m->size() / 32 * 18);
      ASSERT_TRUE(formats::QuantizeBlocks(formats::GgmlType::kQ4_0, m->data(),
                                          static_cast<int64_t>(m->size()), q.data()));
      formats::DequantizeQ4_0(q.data(), static_cast<int64_t>(m->size()), m->data());
    }
  std::vector<uint8_t> q(w.lm_head.size() / 32 * 18);
  ASSERT_TRUE(formats::QuantizeBlocks(formats::GgmlType::kQ4_0, w.lm_head.data(),
                                      static_cast<int64_t>(w.lm_head.size()), q.data()));
  formats::DequantizeQ4_0(q.data(), static_cast<int64_t>(w.lm_head.size()), w.lm_head.data());
  WriteModel(dir_, c, w);
  LlamaLoadOptions f32{"cpu", 2}, q4{"cpu", 2}, bf{"cpu", 2};
  q4.weights = LlamaLoadOptions::Weights::kQ4_0;
  q4.panel_products = false;  // F32 inputs: the F32 logits up to summation order
  bf.weights = LlamaLoadOptions::Weights::kBF16;
  std::unique_ptr<LlamaModel> mf, mq, mb;
  ASSERT_TRUE(LlamaModel::Load(dir_.string(), f32, &mf).ok());
  ASSERT_TRUE(LlamaModel::Load(dir_.string(), q4, &mq).ok());
  ASSERT_TRUE(LlamaModel::Load(dir_.string(), bf, &mb).ok());
  EXPECT_LT(mq->weight_bytes(), mf->weight_bytes() * 4 / 10);
  EXPECT_LT(mb->weight_bytes(), mf->weight_bytes() * 7 / 10);
  std::vector<int32_t> p;
  for (int t = 0; t < 16; ++t) p.push_back((5 * t + 2) % c.vocab);
  auto cf = mf->NewCache(64), cq = mq->NewCache(64), cb = mb->NewCache(64);
  std::vector<float> lf, lq, lb;
  ASSERT_TRUE(mf->Forward(p, cf.get(), &lf).ok());
  ASSERT_TRUE(mq->Forward(p, cq.get(), &lq).ok());
  ASSERT_TRUE(mb->Forward(p, cb.get(), &lb).ok());
  double range = 0;
  for (float f : lf) range = std::max<double>(range, std::fabs(f));
  EXPECT_LT(MaxAbsDiff(lf, lq), 1e-4);
  EXPECT_LT(MaxAbsDiff(lf, lb), 0.03 * range);
  EXPECT_GT(MaxAbsDiff(lf, lb), 0.0) << "no rounding: not bfloat16 weights";
  {  // The same prompt on F32 inputs (no bfloat16 panels): also within the weights' rounding, and
     // where the CPU has AVX512-BF16 not the panels' result (their inputs are rounded too).
    LlamaLoadOptions bf_f32 = bf;
    bf_f32.panel_products = false;
    std::unique_ptr<LlamaModel> mr;
    ASSERT_TRUE(LlamaModel::Load(dir_.string(), bf_f32, &mr).ok());
    auto cr = mr->NewCache(64);
    std::vector<float> lr;
    ASSERT_TRUE(mr->Forward(p, cr.get(), &lr).ok());
    EXPECT_LT(MaxAbsDiff(lf, lr), 0.03 * range);
    if (kernels::Bf16GemmAvailable()) {
      EXPECT_GT(MaxAbsDiff(lr, lb), 0.0) << "the prompt did not take the bfloat16 panels";
    }
  }
  for (int step = 0; step < 3; ++step) {  // decode: bfloat16 dot tiles on float inputs
    const int32_t next = (7 * step + 1) % c.vocab;
    ASSERT_TRUE(mf->Forward(std::span(&next, 1), cf.get(), &lf).ok());
    ASSERT_TRUE(mb->Forward(std::span(&next, 1), cb.get(), &lb).ok());
    EXPECT_LT(MaxAbsDiff(lf, lb), 0.03 * range) << "step " << step;
  }
  LlamaLoadOptions k4 = f32;
  k4.weights = LlamaLoadOptions::Weights::kQ4_K;
  const Status s = LlamaModel::Load(dir_.string(), k4, &mq);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("multiples of 256"), std::string::npos) << s.ToString();
}

// Pipeline stages: layer ranges run one after another on the previous stage's hidden states give
// the whole model's logits, for prefill (LibTorch ops) and decode (the kernels), tied or untied.
TEST_F(LlamaModelTest, PipelineStagesChainedEqualTheWholeModel) {
  for (bool tied : {false, true}) {
    Tiny c;
    c.layers = 3;
    c.tied = tied;
    const fs::path d = dir_ / (tied ? "tied" : "untied");
    WriteModel(d, c, MakeWeights(c, 44));
    std::unique_ptr<LlamaModel> whole;
    ASSERT_TRUE(LlamaModel::Load(d.string(), {"cpu", 2}, &whole).ok());
    std::vector<std::unique_ptr<LlamaModel>> stages(3);
    for (int i = 0; i < 3; ++i) {
      LlamaLoadOptions o{"cpu", 2};
      o.first_layer = i;
      o.end_layer = i + 1;
      ASSERT_TRUE(LlamaModel::Load(d.string(), o, &stages[i]).ok());
    }
    EXPECT_TRUE(stages[0]->is_first_stage() && !stages[0]->is_last_stage());
    EXPECT_TRUE(stages[2]->is_last_stage() && !stages[2]->is_first_stage());
    EXPECT_EQ(stages[1]->kv_bytes_per_token() * 3, whole->kv_bytes_per_token());
    EXPECT_LT(stages[1]->weight_bytes(), whole->weight_bytes() / 2);  // no embedding, no head
    auto wc = whole->NewCache(16);
    std::vector<std::unique_ptr<KvCache>> sc;
    for (auto& s : stages) sc.push_back(s->NewCache(16));
    std::vector<int32_t> tokens = prompt_;
    std::vector<float> ref, hidden, next;
    for (int step = 0; step < 4; ++step) {
      ASSERT_TRUE(whole->Forward(tokens, wc.get(), &ref).ok());
      const LlamaModel::Chunk first{tokens, sc[0].get()};
      ASSERT_TRUE(stages[0]->ForwardStage(std::span(&first, 1), {}, true, &hidden).ok());
      ASSERT_EQ(hidden.size(), tokens.size() * c.hidden);
      for (int i = 1; i < 3; ++i) {
        const LlamaModel::Chunk ch{tokens, sc[i].get()};
        ASSERT_TRUE(stages[i]->ForwardStage(std::span(&ch, 1), hidden, true, &next).ok());
        hidden.swap(next);
      }
      ASSERT_EQ(hidden.size(), ref.size());
      double diff = 0;
      for (size_t i = 0; i < ref.size(); ++i)
        diff = std::isfinite(hidden[i]) ? std::max<double>(diff, std::fabs(hidden[i] - ref[i]))
                                        : INFINITY;
      EXPECT_LT(diff, 1e-5) << "tied " << tied << " step " << step;
      const float* row = &ref[ref.size() - c.vocab];
      tokens = {static_cast<int32_t>(std::max_element(row, row + c.vocab) - row)};
    }
    for (auto& cache : sc) EXPECT_EQ(cache->length(), wc->length());
    // A later stage without hidden states, or with the wrong amount, is refused untouched.
    const LlamaModel::Chunk ch{tokens, sc[1].get()};
    EXPECT_EQ(stages[1]->ForwardBatch(std::span(&ch, 1), true, &next).code(),
              StatusCode::kInvalidArgument);
    std::vector<float> short_hidden(c.hidden - 1);
    Status s = stages[1]->ForwardStage(std::span(&ch, 1), short_hidden, true, &next);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("expects hidden states of 1 x 64"), std::string::npos)
        << s.message();
    EXPECT_EQ(sc[1]->length(), wc->length());
  }
  std::unique_ptr<LlamaModel> m;
  LlamaLoadOptions bad{"cpu", 1};
  bad.first_layer = 2;
  bad.end_layer = 2;
  Status s = LlamaModel::Load((dir_ / "untied").string(), bad, &m);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("layer range [2, 2)"), std::string::npos) << s.message();
}

TEST_F(LlamaModelTest, HalfPrecisionCheckpointsLoadAndStayClose) {
  Tiny c;
  Weights w = MakeWeights(c, 9);
  WriteModel(dir_ / "f32", c, w);
  WriteModel(dir_ / "f16", c, w, formats::StDtype::kF16);
  WriteModel(dir_ / "bf16", c, w, formats::StDtype::kBF16);
  std::vector<float> ref;
  auto m32 = Load(dir_ / "f32");
  ASSERT_TRUE(m32->Forward(prompt_, m32->NewCache(16).get(), &ref).ok());
  for (const char* sub : {"f16", "bf16"}) {
    auto m = Load(dir_ / sub);
    ASSERT_TRUE(m);
    std::vector<float> got;
    ASSERT_TRUE(m->Forward(prompt_, m->NewCache(16).get(), &got).ok());
    double diff = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      ASSERT_TRUE(std::isfinite(got[i])) << sub << " logit " << i;  // std::max would hide a NaN
      diff = std::max<double>(diff, std::fabs(got[i] - ref[i]));
    }
    EXPECT_LT(diff, std::string(sub) == "f16" ? 0.05 : 0.3) << sub;
    EXPECT_GT(diff, 0.0) << sub << " weights were not rounded";
  }
}

TEST_F(LlamaModelTest, BadCheckpointsAndInputsAreClearErrors) {
  Tiny c;
  Weights w = MakeWeights(c, 1);
  std::unique_ptr<LlamaModel> m;
  WriteModel(dir_ / "missing", c, w, formats::StDtype::kF32, "model.layers.1.mlp.up_proj.weight");
  Status s = LlamaModel::Load((dir_ / "missing").string(), {}, &m);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("model.layers.1.mlp.up_proj.weight"), std::string::npos)
      << s.message();

  Tiny wrong = c;
  wrong.inter = 80;  // config says 96 below, weights are 80 wide
  WriteModel(dir_ / "shape", wrong, MakeWeights(wrong, 1));
  std::ofstream(dir_ / "shape" / "config.json", std::ios::app);  // keep file
  {
    std::ifstream in(dir_ / "shape" / "config.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.replace(text.find("\"intermediate_size\": 80"), 23, "\"intermediate_size\": 96");
    std::ofstream(dir_ / "shape" / "config.json") << text;
  }
  s = LlamaModel::Load((dir_ / "shape").string(), {}, &m);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("gate_proj.weight' has shape [80, 64], config.json implies [96, 64]"),
            std::string::npos)
      << s.message();

  WriteModel(dir_ / "badcfg", c, w, formats::StDtype::kF32, "", ", \"num_key_value_heads\": 3");
  s = LlamaModel::Load((dir_ / "badcfg").string(), {}, &m);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("num_key_value_heads"), std::string::npos) << s.message();

  EXPECT_EQ(LlamaModel::Load((dir_ / "nope").string(), {}, &m).code(), StatusCode::kNotFound);

  WriteModel(dir_ / "ok", c, w);
  ASSERT_TRUE(LlamaModel::Load((dir_ / "ok").string(), {}, &m).ok());
  auto cache = m->NewCache(4);
  std::vector<float> logits;
  const std::vector<int32_t> bad = {1, 67};
  EXPECT_EQ(m->Forward(bad, cache.get(), &logits).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cache->length(), 0);
  EXPECT_EQ(m->Forward(prompt_, cache.get(), &logits).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(m->Forward(std::span(prompt_.data(), 4), cache.get(), &logits).ok());
  EXPECT_EQ(m->kv_bytes_per_token(), 2 * 2 * 2 * 16 * 4);
}

TEST_F(LlamaModelTest, DemoModelLoadsThroughTheSameLoaderAndIsDeterministic) {
  models::DemoLlmOptions o;
  o.hidden = 64;
  o.layers = 2;
  o.heads = 4;
  o.kv_heads = 2;
  o.intermediate = 96;
  ASSERT_TRUE(models::WriteDemoLlm((dir_ / "a").string(), o).ok());
  ASSERT_TRUE(models::WriteDemoLlm((dir_ / "b").string(), o).ok());
  auto a = Load(dir_ / "a" / o.name);
  auto b = Load(dir_ / "b" / o.name);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->weight_bytes(), models::DemoLlmParameterCount(o) * 4);  // held as F32
  std::unique_ptr<Tokenizer> tok;
  ASSERT_TRUE(LoadTokenizer((dir_ / "a" / o.name).string(), &tok).ok());
  std::vector<int32_t> ids = {tok->bos_id()};
  for (int32_t id : tok->Encode("Hello")) ids.push_back(id);
  std::vector<float> la, lb;
  ASSERT_TRUE(a->Forward(ids, a->NewCache(16).get(), &la).ok());
  ASSERT_TRUE(b->Forward(ids, b->NewCache(16).get(), &lb).ok());
  EXPECT_EQ(la, lb);
}

TEST(LlamaConfigTest, Llama3RopeScalingFollowsTransformers) {
  LlamaConfig c;
  ASSERT_TRUE(
      ParseLlamaConfig(
          R"({"vocab_size": 8, "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1,
      "num_attention_heads": 1, "rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0,
      "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})",
          "cfg", &c)
          .ok());
  const std::vector<double> inv = RopeInverseFrequencies(c);
  ASSERT_EQ(inv.size(), 32u);
  EXPECT_DOUBLE_EQ(inv[0], 1.0);  // high frequency: unchanged (wavelength 2*pi < 2048)
  const double base_last = 1.0 / std::pow(500000.0, 62.0 / 64.0);
  EXPECT_NEAR(inv[31], base_last / 8.0, 1e-15);  // low frequency: divided by factor
  EXPECT_EQ(ParseLlamaConfig(R"({"vocab_size": 8})", "cfg", &c).message(),
            "cfg: field 'hidden_size' missing");
  EXPECT_NE(
      ParseLlamaConfig(
          R"({"vocab_size": 8, "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1,
      "num_attention_heads": 1, "rope_scaling": {"type": "yarn", "factor": 2}})",
          "cfg", &c)
          .message()
          .find("'yarn'"),
      std::string::npos);
}

}  // namespace
}  // namespace epara::llm
