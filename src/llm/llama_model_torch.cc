// LibTorch implementation of LlamaModel (see llama_model.h). Follows Hugging Face's
// modeling_llama: pre-norm decoder layers, rotate-half rotary embeddings, GQA, SwiGLU.
#include <torch/script.h>

#include <cmath>
#include <list>
#include <thread>

#include "backend/libtorch/torch_threads.h"
#include "core/spin_pool.h"
#include "formats/ggml_quant.h"
#include "llm/checkpoint.h"
#include "llm/gguf_llama.h"
#include "llm/kernel_llama_model.h"
#include "llm/llama_kernels.h"
#include "llm/llama_model.h"

namespace epara::llm {
namespace {

struct Layer {
  at::Tensor input_norm, post_norm, wq, wk, wv, wo, w_gate, w_up, w_down;
  // Fused at load: one matmul for q/k/v and one for gate/up (fewer, larger ops per token).
  at::Tensor w_qkv, w_gate_up;
};

class TorchKvCache final : public KvCache {
 public:
  TorchKvCache(const LlamaConfig& c, int layers, int capacity, const at::TensorOptions& opts)
      : capacity_(capacity) {
    for (int l = 0; l < layers; ++l) {
      k.push_back(at::zeros({c.num_key_value_heads, capacity, c.head_dim}, opts));
      v.push_back(at::zeros({c.num_key_value_heads, capacity, c.head_dim}, opts));
      if (opts.device().is_cpu()) {
        k_ptr.push_back(k.back().data_ptr());
        v_ptr.push_back(v.back().data_ptr());
      }
    }
  }
  int length() const override { return length_; }
  int capacity() const override { return capacity_; }
  int64_t bytes() const override {
    int64_t b = 0;
    for (size_t i = 0; i < k.size(); ++i) b += (k[i].numel() + v[i].numel()) * k[i].element_size();
    return b;
  }
  void Truncate(int length) override { length_ = std::min(length_, std::max(0, length)); }
  void CopyFrom(const KvCache& other) override {
    const auto& o = static_cast<const TorchKvCache&>(other);
    for (size_t l = 0; l < k.size(); ++l) {
      k[l].narrow(1, 0, o.length_).copy_(o.k[l].narrow(1, 0, o.length_));
      v[l].narrow(1, 0, o.length_).copy_(o.v[l].narrow(1, 0, o.length_));
    }
    length_ = o.length_;
  }

  std::vector<at::Tensor> k, v;     // per layer [kv_heads, capacity, head_dim]
  std::vector<void*> k_ptr, v_ptr;  // their data, for the kernels (cpu only)
  int length_ = 0;

 private:
  int capacity_;
};

kernels::WeightType KernelWeightType(LlamaLoadOptions::Weights w) {
  switch (w) {
    case LlamaLoadOptions::Weights::kQ8_0:
      return kernels::WeightType::kQ8_0;
    case LlamaLoadOptions::Weights::kBF16:
      return kernels::WeightType::kBF16;
    case LlamaLoadOptions::Weights::kQ4_0:
      return kernels::WeightType::kQ4_0;
    case LlamaLoadOptions::Weights::kQ4_K:
      return kernels::WeightType::kQ4_K;
    case LlamaLoadOptions::Weights::kQ6_K:
      return kernels::WeightType::kQ6_K;
    case LlamaLoadOptions::Weights::kF32:
      break;
  }
  return kernels::WeightType::kF32;
}

at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& w, double eps) {
  return x * at::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps) * w;
}

at::Tensor RotateHalf(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

class TorchLlamaModel final : public LlamaModel {
 public:
  const LlamaConfig& config() const override { return config_; }
  int64_t weight_bytes() const override { return weight_bytes_; }
  int64_t kv_bytes_per_token() const override {
    return int64_t{2} * static_cast<int64_t>(layers_.size()) * config_.num_key_value_heads *
           config_.head_dim * kernels::KvElementBytes(kernel_weights_.kv_type);
  }
  std::unique_ptr<KvCache> NewCache(int capacity) override {
    return std::make_unique<TorchKvCache>(
        config_, static_cast<int>(layers_.size()), capacity,
        kernel_weights_.kv_type == kernels::KvType::kF16 ? opts_.dtype(at::kHalf) : opts_);
  }
  int first_layer() const override { return first_layer_; }
  int end_layer() const override { return end_layer_; }

  Status ForwardStage(std::span<const Chunk> chunks, std::span<const float> hidden_in,
                      bool all_positions, std::vector<float>* logits) override {
    int64_t total = 0;
    EPARA_RETURN_IF_ERROR(ValidateStageInput(config_, first_layer_, chunks, hidden_in, &total));
    std::vector<int64_t> ids, positions;
    ids.reserve(static_cast<size_t>(total));
    for (const Chunk& ch : chunks) {
      const int64_t start = ch.cache->length();
      for (size_t i = 0; i < ch.tokens.size(); ++i) {
        ids.push_back(ch.tokens[i]);
        positions.push_back(start + static_cast<int64_t>(i));
      }
    }
    const int64_t H = config_.hidden_size;
    try {
      if (opts_.device().is_cpu()) backend::ApplyIntraOpThreads(threads_);
      if (opts_.device().is_cpu() && cpu_kernels_)
        return KernelStep(chunks, hidden_in, all_positions, logits);
      c10::InferenceMode guard;
      const LlamaConfig& c = config_;
      const int64_t nh = c.num_attention_heads, nkv = c.num_key_value_heads, hd = c.head_dim,
                    g = nh / nkv;
      const int64_t N = static_cast<int64_t>(ids.size());
      at::Tensor x =  // [N, H]
          is_first_stage() ? embed_.index_select(0, at::tensor(ids, at::kLong).to(opts_.device()))
                           : at::from_blob(const_cast<float*>(hidden_in.data()), {N, H}, at::kFloat)
                                 .to(opts_.device(), /*non_blocking=*/false, /*copy=*/true);
      // Rotary cos/sin rows for these positions, from the table built at load.
      at::Tensor pos = at::tensor(positions, at::kLong).to(opts_.device());
      at::Tensor cos = rope_cos_.index_select(0, pos).unsqueeze(1);  // [N, 1, hd]
      at::Tensor sin = rope_sin_.index_select(0, pos).unsqueeze(1);
      // Per chunk: its rows in the batch and its causal mask over [n, start + n].
      struct Span {
        int64_t offset, n, start;
        at::Tensor mask;
      };
      std::vector<Span> spans;
      int64_t offset = 0;
      for (const Chunk& ch : chunks) {
        const int64_t n = static_cast<int64_t>(ch.tokens.size());
        const int64_t start = static_cast<TorchKvCache*>(ch.cache)->length_;
        at::Tensor mask;  // a single query sees every cached key: no mask
        if (n > 1)
          mask = at::full({n, start + n}, -std::numeric_limits<float>::infinity(), opts_)
                     .triu(start + 1);
        spans.push_back({offset, n, start, mask});
        offset += n;
      }
      const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
      for (size_t l = 0; l < layers_.size(); ++l) {
        const Layer& L = layers_[l];
        at::Tensor h = RmsNorm(x, L.input_norm, c.rms_norm_eps);
        at::Tensor qkv = at::linear(h, L.w_qkv);  // [N, (nh + 2 nkv) hd]
        at::Tensor q = qkv.narrow(1, 0, nh * hd).view({N, nh, hd});
        at::Tensor k = qkv.narrow(1, nh * hd, nkv * hd).view({N, nkv, hd});
        at::Tensor v = qkv.narrow(1, (nh + nkv) * hd, nkv * hd).view({N, nkv, hd});
        q = q * cos + RotateHalf(q) * sin;
        k = k * cos + RotateHalf(k) * sin;
        std::vector<at::Tensor> outs;
        for (size_t i = 0; i < chunks.size(); ++i) {
          const Span& sp = spans[i];
          auto* cache = static_cast<TorchKvCache*>(chunks[i].cache);
          cache->k[l].narrow(1, sp.start, sp.n).copy_(k.narrow(0, sp.offset, sp.n).transpose(0, 1));
          cache->v[l].narrow(1, sp.start, sp.n).copy_(v.narrow(0, sp.offset, sp.n).transpose(0, 1));
          const int64_t total = sp.start + sp.n;
          at::Tensor K = cache->k[l].narrow(1, 0, total).unsqueeze(1);  // [nkv, 1, total, hd]
          at::Tensor V = cache->v[l].narrow(1, 0, total).unsqueeze(1);
          at::Tensor qg =
              q.narrow(0, sp.offset, sp.n).view({sp.n, nkv, g, hd}).permute({1, 2, 0, 3});
          at::Tensor scores = at::matmul(qg, K.transpose(-1, -2)) * scale;  // [nkv, g, n, total]
          if (sp.mask.defined()) scores = scores + sp.mask;
          outs.push_back(at::matmul(at::softmax(scores, -1), V)
                             .permute({2, 0, 1, 3})
                             .reshape({sp.n, nh * hd}));
        }
        at::Tensor attn = outs.size() == 1 ? outs[0] : at::cat(outs, 0);
        x = x + at::linear(attn, L.wo);
        h = RmsNorm(x, L.post_norm, c.rms_norm_eps);
        at::Tensor gate_up = at::linear(h, L.w_gate_up);  // [N, 2 I]
        const int64_t inter = c.intermediate_size;
        x = x + at::linear(at::silu(gate_up.narrow(1, 0, inter)) * gate_up.narrow(1, inter, inter),
                           L.w_down);
      }
      if (!is_last_stage()) {  // the next stage needs every position (for its KV cache)
        at::Tensor out = x.to(at::kCPU).contiguous();
        logits->assign(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
        for (size_t i = 0; i < chunks.size(); ++i)
          static_cast<TorchKvCache*>(chunks[i].cache)->length_ += spans[i].n;
        return Status::Ok();
      }
      if (!all_positions) {  // only the rows the caller samples from go through the LM head
        std::vector<int64_t> last;
        for (const Span& sp : spans) last.push_back(sp.offset + sp.n - 1);
        x = x.index_select(0, at::tensor(last, at::kLong).to(opts_.device()));
      }
      at::Tensor out =
          at::linear(RmsNorm(x, final_norm_, c.rms_norm_eps), lm_head_).to(at::kCPU).contiguous();
      logits->assign(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
      for (size_t i = 0; i < chunks.size(); ++i)
        static_cast<TorchKvCache*>(chunks[i].cache)->length_ += spans[i].n;
      return Status::Ok();
    } catch (const std::exception& e) {
      return Internal(std::string("llama forward: ") + e.what());
    }
  }

  // Every chunk's tokens through llm/llama_kernels (inputs validated by ForwardStage): a
  // prompt chunk's tokens are rows of the step like decoding sequences' tokens.
  Status KernelStep(std::span<const Chunk> chunks, std::span<const float> hidden_in,
                    bool all_positions, std::vector<float>* out) {
    std::vector<kernels::StepToken>& tokens = step_tokens_;
    tokens.clear();
    for (const Chunk& ch : chunks) {
      auto* cache = static_cast<TorchKvCache*>(ch.cache);
      const int64_t n = static_cast<int64_t>(ch.tokens.size());
      for (int64_t i = 0; i < n; ++i)
        tokens.push_back({ch.tokens[i], cache->length_ + i, cache->capacity(), cache->k_ptr,
                          cache->v_ptr,
                          /*output=*/!is_last_stage() || all_positions || i == n - 1});
    }
    size_t rows = 0;
    for (const kernels::StepToken& t : tokens) rows += t.output ? 1 : 0;
    out->resize(rows *
                static_cast<size_t>(is_last_stage() ? config_.vocab_size : config_.hidden_size));
    kernels::ForwardStep(kernel_weights_, tokens, *pool_, &scratch_, hidden_in.data(), out->data());
    for (const Chunk& ch : chunks)
      static_cast<TorchKvCache*>(ch.cache)->length_ += static_cast<int>(ch.tokens.size());
    return Status::Ok();
  }

  // Raw pointers into the weight tensors for the kernels (cpu only; the tensors outlive
  // them).
  void BuildKernelWeights() {
    const LlamaConfig& c = config_;
    kernels::ModelWeights& w = kernel_weights_;
    w.hidden = c.hidden_size;
    w.intermediate = c.intermediate_size;
    w.heads = c.num_attention_heads;
    w.kv_heads = c.num_key_value_heads;
    w.head_dim = c.head_dim;
    w.vocab = c.vocab_size;
    w.rms_eps = static_cast<float>(c.rms_norm_eps);
    w.embed = is_first_stage() ? embed_.data_ptr<float>() : nullptr;
    w.final_norm = is_last_stage() ? final_norm_.data_ptr<float>() : nullptr;
    w.rope_cos = rope_cos_.data_ptr<float>();
    w.rope_sin = rope_sin_.data_ptr<float>();
    // Each matrix as F32, or converted here (the F32 copies of the layers are dropped).
    const kernels::WeightType type = KernelWeightType(weights_);
    const bool q8 = type != kernels::WeightType::kF32;  // converted: the F32 copies go
    // `replaces`: the F32 matrix is dropped (a tied LM head's is the embedding, which stays).
    const auto matrix = [&](at::Tensor* t, bool replaces = true) {
      if (!q8) return kernels::WeightMatrix::F32(t->data_ptr<float>(), t->size(0));
      std::vector<uint8_t>& q = quantized_.emplace_back(
          static_cast<size_t>(t->size(0) * kernels::WeightRowBytes(type, t->size(1))));
      formats::QuantizeBlocks(kernels::GgmlTypeOf(type), t->data_ptr<float>(), t->numel(),
                              q.data());
      weight_bytes_ += static_cast<int64_t>(q.size()) - (replaces ? t->numel() * 4 : 0);
      return kernels::WeightMatrix{{{type, q.data(), t->size(0)}}};
    };
    if (is_last_stage()) {
      const bool tied = lm_head_.is_same(embed_);
      w.lm_head = matrix(&lm_head_, !tied);
      if (q8 && !tied) lm_head_ = at::Tensor();
    }
    for (Layer& L : layers_) {
      w.layers.push_back({L.input_norm.data_ptr<float>(), L.post_norm.data_ptr<float>(),
                          matrix(&L.w_qkv), matrix(&L.wo), matrix(&L.w_gate_up),
                          matrix(&L.w_down)});
      if (q8) L.w_qkv = L.wo = L.w_gate_up = L.w_down = at::Tensor();
    }
  }

  Status LoadWeights(const std::string& dir) {
    std::unique_ptr<Checkpoint> ckpt;
    EPARA_RETURN_IF_ERROR(Checkpoint::Open(dir, &ckpt));
    const LlamaConfig& c = config_;
    const int64_t H = c.hidden_size, I = c.intermediate_size,
                  q_out = int64_t{c.num_attention_heads} * c.head_dim,
                  kv_out = int64_t{c.num_key_value_heads} * c.head_dim;
    auto load = [&](const std::string& name, std::vector<int64_t> shape,
                    at::Tensor* out) -> Status {
      const formats::SafetensorsFile* file = nullptr;
      const formats::StTensorInfo* info = nullptr;
      EPARA_RETURN_IF_ERROR(ckpt->Find(name, &file, &info));
      if (info->shape != shape)
        return InvalidArgument(file->path() + ": tensor '" + name + "' has shape " +
                               c10::str(c10::IntArrayRef(info->shape)) + ", config.json implies " +
                               c10::str(c10::IntArrayRef(shape)));
      at::Tensor t = at::empty(shape, at::kFloat);
      Status s = formats::ToFloat32(info->dtype, file->Data(*info), static_cast<size_t>(t.numel()),
                                    t.data_ptr<float>());
      if (!s.ok()) return InvalidArgument(file->path() + ": tensor '" + name + "': " + s.message());
      *out = t.to(opts_.device());
      weight_bytes_ += out->numel() * 4;
      return Status::Ok();
    };
    // A stage loads only what it runs: the embedding on the first stage (and on the last when the
    // LM head is tied to it), its layers, the final norm and LM head on the last.
    if (is_first_stage() || (is_last_stage() && c.tie_word_embeddings))
      EPARA_RETURN_IF_ERROR(load("model.embed_tokens.weight", {c.vocab_size, H}, &embed_));
    for (int l = first_layer_; l < end_layer_; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      Layer L;
      EPARA_RETURN_IF_ERROR(load(p + "input_layernorm.weight", {H}, &L.input_norm));
      EPARA_RETURN_IF_ERROR(load(p + "post_attention_layernorm.weight", {H}, &L.post_norm));
      EPARA_RETURN_IF_ERROR(load(p + "self_attn.q_proj.weight", {q_out, H}, &L.wq));
      EPARA_RETURN_IF_ERROR(load(p + "self_attn.k_proj.weight", {kv_out, H}, &L.wk));
      EPARA_RETURN_IF_ERROR(load(p + "self_attn.v_proj.weight", {kv_out, H}, &L.wv));
      EPARA_RETURN_IF_ERROR(load(p + "self_attn.o_proj.weight", {H, q_out}, &L.wo));
      EPARA_RETURN_IF_ERROR(load(p + "mlp.gate_proj.weight", {I, H}, &L.w_gate));
      EPARA_RETURN_IF_ERROR(load(p + "mlp.up_proj.weight", {I, H}, &L.w_up));
      EPARA_RETURN_IF_ERROR(load(p + "mlp.down_proj.weight", {H, I}, &L.w_down));
      L.w_qkv = at::cat({L.wq, L.wk, L.wv}, 0).contiguous();
      L.w_gate_up = at::cat({L.w_gate, L.w_up}, 0).contiguous();
      L.wq = L.wk = L.wv = L.w_gate = L.w_up = at::Tensor();  // only the fused copies are kept
      layers_.push_back(std::move(L));
    }
    if (is_last_stage()) {
      EPARA_RETURN_IF_ERROR(load("model.norm.weight", {H}, &final_norm_));
      if (c.tie_word_embeddings) {
        lm_head_ = embed_;
      } else {
        EPARA_RETURN_IF_ERROR(load("lm_head.weight", {c.vocab_size, H}, &lm_head_));
      }
    }
    // cos/sin for every position of the context, [max_positions, head_dim] each (rotate-half
    // layout).
    std::vector<float> cos, sin;
    BuildRopeTables(c, &cos, &sin);  // the same tables as the kernel-only (GGUF) model's
    const std::vector<int64_t> shape = {c.max_position_embeddings, c.head_dim};
    rope_cos_ = at::from_blob(cos.data(), shape, at::kFloat).to(opts_.device(), false, true);
    rope_sin_ = at::from_blob(sin.data(), shape, at::kFloat).to(opts_.device(), false, true);
    if (opts_.device().is_cpu()) {
      BuildKernelWeights();
      pool_ = std::make_unique<SpinPool>(threads_);
    }
    return Status::Ok();
  }

  LlamaConfig config_;
  at::TensorOptions opts_ = at::TensorOptions().dtype(at::kFloat);
  int threads_ = 1;
  bool cpu_kernels_ = true;
  LlamaLoadOptions::Weights weights_ = LlamaLoadOptions::Weights::kF32;
  std::list<std::vector<uint8_t>> quantized_;  // Q8_0 matrices (stable addresses)
  int first_layer_ = 0, end_layer_ = 0;        // the decoder layers this model (stage) holds
  kernels::ModelWeights kernel_weights_;
  kernels::StepScratch scratch_;
  std::vector<kernels::StepToken> step_tokens_;
  std::unique_ptr<SpinPool> pool_;  // the decode kernels' workers (cpu)
  int64_t weight_bytes_ = 0;
  at::Tensor embed_, final_norm_, lm_head_, rope_cos_, rope_sin_;
  std::vector<Layer> layers_;
};

}  // namespace

Status LlamaModel::Load(const std::string& dir, const LlamaLoadOptions& options,
                        std::unique_ptr<LlamaModel>* out) {
  if (const std::string gguf = FindGgufModel(dir); !gguf.empty())
    return LoadGgufLlama(gguf, options, out);
  auto m = std::make_unique<TorchLlamaModel>();
  EPARA_RETURN_IF_ERROR(LoadLlamaConfig(dir + "/config.json", &m->config_));
  try {
    const torch::Device device(options.device);
    m->opts_ = at::TensorOptions().dtype(at::kFloat).device(device);
  } catch (const std::exception&) {
    return InvalidArgument("unknown device '" + options.device + "'");
  }
  m->threads_ = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  m->cpu_kernels_ = options.cpu_kernels;
  m->weights_ = options.weights;
  m->kernel_weights_.panel_products = options.panel_products;
  if (options.kv_cache == LlamaLoadOptions::KvCache::kF16) {
    if (!m->opts_.device().is_cpu() || !options.cpu_kernels)
      return InvalidArgument(dir + ": an fp16 KV cache runs on the cpu kernels only");
    m->kernel_weights_.kv_type = kernels::KvType::kF16;
  }
  if (options.weights != LlamaLoadOptions::Weights::kF32) {
    const LlamaConfig& c = m->config_;
    const kernels::WeightType type = KernelWeightType(options.weights);
    const std::string name = kernels::WeightTypeName(type);
    if (!m->opts_.device().is_cpu() || !options.cpu_kernels)
      return InvalidArgument(dir + ": " + name + " weights run on the cpu kernels only");
    const int block = kernels::WeightBlockElements(type);
    for (int64_t width : {int64_t{c.hidden_size}, int64_t{c.intermediate_size},
                          int64_t{c.num_attention_heads} * c.head_dim})
      if (width % block != 0)
        return InvalidArgument(dir + ": " + name +
                               " weights need matrix widths that are multiples of " +
                               std::to_string(block) + ", not " + std::to_string(width));
  }
  const int layers = m->config_.num_hidden_layers;
  m->first_layer_ = options.first_layer;
  m->end_layer_ = options.end_layer == 0 ? layers : options.end_layer;
  if (m->first_layer_ < 0 || m->first_layer_ >= m->end_layer_ || m->end_layer_ > layers)
    return InvalidArgument(dir + ": layer range [" + std::to_string(m->first_layer_) + ", " +
                           std::to_string(m->end_layer_) + ") is not within the model's " +
                           std::to_string(layers) + " layers");
  try {
    EPARA_RETURN_IF_ERROR(m->LoadWeights(dir));
  } catch (const std::exception& e) {
    return Internal(std::string("loading ") + dir + ": " + e.what());
  }
  *out = std::move(m);
  return Status::Ok();
}

}  // namespace epara::llm
