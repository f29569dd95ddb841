#include "llm/gguf_llama.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <list>
#include <thread>

#include "core/half.h"
#include "llm/kernel_llama_model.h"

namespace epara::llm {
namespace {

using formats::GgmlType;
using kernels::WeightType;

// Optional metadata: absent keeps `*out`; present with another type is an error.
Status OptionalUint(const formats::GgufFile& f, const std::string& key, int* out) {
  uint64_t v = 0;
  const Status s = f.GetUint(key, &v);
  if (s.code() == StatusCode::kNotFound) return Status::Ok();
  EPARA_RETURN_IF_ERROR(s);
  if (v > (1u << 30)) return InvalidArgument(f.path() + ": '" + key + "' is out of range");
  *out = static_cast<int>(v);
  return Status::Ok();
}

Status OptionalFloat(const formats::GgufFile& f, const std::string& key, double* out) {
  const Status s = f.GetFloat(key, out);
  return s.code() == StatusCode::kNotFound ? Status::Ok() : s;
}

Status RequiredUint(const formats::GgufFile& f, const std::string& key, int* out) {
  *out = 0;
  EPARA_RETURN_IF_ERROR(OptionalUint(f, key, out));
  if (*out <= 0) return InvalidArgument(f.path() + ": '" + key + "' is missing or not positive");
  return Status::Ok();
}

// The file and what the model built from it keeps: widened and reordered copies.
struct Storage {
  std::unique_ptr<formats::GgufFile> file;
  std::list<std::vector<uint8_t>> owned;
  std::vector<float> rope_cos, rope_sin;
};

class Loader {
 public:
  explicit Loader(Storage* st) : st_(st), f_(*st->file) {}

  int64_t bytes() const { return bytes_; }

  // The tensor `name` with ne == `ne` (innermost first), or an error naming it.
  Status Find(const std::string& name, std::vector<int64_t> ne,
              const formats::GgufTensorInfo** out) {
    const formats::GgufTensorInfo* t = f_.FindTensor(name);
    if (t == nullptr) return InvalidArgument(f_.path() + ": tensor '" + name + "' is missing");
    if (t->ne != ne) {
      const auto str = [](const std::vector<int64_t>& v) {
        std::string s = "[";
        for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
        return s + "]";
      };
      return InvalidArgument(f_.path() + ": tensor '" + name + "' has ne " + str(t->ne) +
                             ", the metadata implies " + str(ne));
    }
    *out = t;
    return Status::Ok();
  }

  // A vector of `n` floats (F32 in place, F16/BF16 widened).
  Status Vector(const std::string& name, int64_t n, const float** out) {
    const formats::GgufTensorInfo* t = nullptr;
    EPARA_RETURN_IF_ERROR(Find(name, {n}, &t));
    bytes_ += n * 4;
    if (t->type == GgmlType::kF32) {
      *out = reinterpret_cast<const float*>(f_.Data(*t));
      return Status::Ok();
    }
    if (t->type != GgmlType::kF16 && t->type != GgmlType::kBF16)
      return InvalidArgument(f_.path() + ": tensor '" + name + "' is " +
                             formats::GgmlTypeName(t->type) + "; norms must be F32 or F16");
    *out = reinterpret_cast<const float*>(Widen(*t)->data());
    return Status::Ok();
  }

  // A [rows, cols] matrix as one kernel part; `permute_heads` > 0 reorders each head's rows from
  // llama.cpp's interleaved rotary order to rotate-half (attn_q, attn_k).
  Status Matrix(const std::string& name, int64_t rows, int64_t cols, kernels::WeightPart* out,
                int64_t permute_heads = 0) {
    const formats::GgufTensorInfo* t = nullptr;
    EPARA_RETURN_IF_ERROR(Find(name, {cols, rows}, &t));
    WeightType type;
    const uint8_t* data = f_.Data(*t);
    if (kernels::WeightTypeOf(t->type, &type)) {
      if (cols % kernels::WeightBlockElements(type) != 0)
        return InvalidArgument(f_.path() + ": tensor '" + name + "' rows of " +
                               std::to_string(cols) + " are not whole " +
                               kernels::WeightTypeName(type) + " blocks");
    } else {
      type = WeightType::kF32;
      data = Widen(*t)->data();
    }
    const int64_t row_bytes = kernels::WeightRowBytes(type, cols);
    bytes_ += rows * row_bytes;
    if (permute_heads > 0) {
      std::vector<uint8_t>& p = st_->owned.emplace_back(static_cast<size_t>(rows * row_bytes));
      const int64_t hd = rows / permute_heads, half = hd / 2;
      for (int64_t h = 0; h < permute_heads; ++h)
        for (int64_t i = 0; i < hd; ++i) {
          const int64_t src = i < half ? 2 * i : 2 * (i - half) + 1;
          std::memcpy(p.data() + (h * hd + i) * row_bytes, data + (h * hd + src) * row_bytes,
                      static_cast<size_t>(row_bytes));
        }
      data = p.data();
    }
    *out = {type, data, rows};
    return Status::Ok();
  }

 private:
  const std::vector<uint8_t>* Widen(const formats::GgufTensorInfo& t) {
    const int64_t n = t.elements();
    std::vector<uint8_t>& v = st_->owned.emplace_back(static_cast<size_t>(n * 4));
    auto* out = reinterpret_cast<float*>(v.data());
    const uint8_t* in = f_.Data(t);
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, in + 2 * i, 2);
      if (t.type == GgmlType::kF16) {
        out[i] = HalfToFloat(h);
      } else {
        const uint32_t bits = uint32_t{h} << 16;
        std::memcpy(&out[i], &bits, 4);
      }
    }
    return &v;
  }

  Storage* st_;
  const formats::GgufFile& f_;
  int64_t bytes_ = 0;
};

}  // namespace

std::string FindGgufModel(const std::string& location) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto is_gguf = [](const fs::path& p) { return p.extension() == ".gguf"; };
  if (fs::is_regular_file(location, ec)) return is_gguf(location) ? location : "";
  if (!fs::is_directory(location, ec) || fs::exists(fs::path(location) / "config.json", ec))
    return "";
  std::string found;
  for (const auto& e : fs::directory_iterator(location, ec)) {
    if (!e.is_regular_file() || !is_gguf(e.path())) continue;
    if (!found.empty()) return "";  // ambiguous: more than one
    found = e.path().string();
  }
  return found;
}

Status GgufLlamaConfig(const formats::GgufFile& f, LlamaConfig* out) {
  std::string arch;
  EPARA_RETURN_IF_ERROR(f.GetString("general.architecture", &arch));
  if (arch != "llama")
    return InvalidArgument(f.path() + ": 'general.architecture' is '" + arch +
                           "'; epara runs llama-architecture GGUF files");
  LlamaConfig c;
  EPARA_RETURN_IF_ERROR(RequiredUint(f, "llama.embedding_length", &c.hidden_size));
  EPARA_RETURN_IF_ERROR(RequiredUint(f, "llama.block_count", &c.num_hidden_layers));
  EPARA_RETURN_IF_ERROR(RequiredUint(f, "llama.feed_forward_length", &c.intermediate_size));
  EPARA_RETURN_IF_ERROR(RequiredUint(f, "llama.attention.head_count", &c.num_attention_heads));
  c.num_key_value_heads = c.num_attention_heads;
  EPARA_RETURN_IF_ERROR(OptionalUint(f, "llama.attention.head_count_kv", &c.num_key_value_heads));
  if (c.num_key_value_heads <= 0 || c.num_attention_heads % c.num_key_value_heads != 0)
    return InvalidArgument(f.path() + ": 'llama.attention.head_count_kv' (" +
                           std::to_string(c.num_key_value_heads) + ") must divide head_count (" +
                           std::to_string(c.num_attention_heads) + ")");
  c.head_dim = c.hidden_size / c.num_attention_heads;
  EPARA_RETURN_IF_ERROR(OptionalUint(f, "llama.attention.key_length", &c.head_dim));
  int rope_dims = c.head_dim;
  EPARA_RETURN_IF_ERROR(OptionalUint(f, "llama.rope.dimension_count", &rope_dims));
  if (c.head_dim <= 0 || c.head_dim % 2 != 0 || rope_dims != c.head_dim)
    return InvalidArgument(f.path() + ": 'llama.rope.dimension_count' (" +
                           std::to_string(rope_dims) + ") must equal an even head size (" +
                           std::to_string(c.head_dim) + "); partial rotary is not supported");
  c.rms_norm_eps = 1e-5;
  EPARA_RETURN_IF_ERROR(
      OptionalFloat(f, "llama.attention.layer_norm_rms_epsilon", &c.rms_norm_eps));
  EPARA_RETURN_IF_ERROR(OptionalFloat(f, "llama.rope.freq_base", &c.rope_theta));
  if (!(c.rms_norm_eps > 0) || !(c.rope_theta > 0))
    return InvalidArgument(f.path() + ": rms epsilon and rope.freq_base must be positive");
  c.max_position_embeddings = 2048;
  EPARA_RETURN_IF_ERROR(OptionalUint(f, "llama.context_length", &c.max_position_embeddings));
  c.max_position_embeddings = std::clamp(c.max_position_embeddings, 1, kGgufMaxContext);
  std::string scaling = "none";
  const Status st = f.GetString("llama.rope.scaling.type", &scaling);
  if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
  if (scaling == "linear") {
    c.rope_scaling.type = RopeScaling::Type::kLinear;
    EPARA_RETURN_IF_ERROR(f.GetFloat("llama.rope.scaling.factor", &c.rope_scaling.factor));
    if (!(c.rope_scaling.factor > 0))
      return InvalidArgument(f.path() + ": 'llama.rope.scaling.factor' must be positive");
  } else if (scaling != "none") {
    return InvalidArgument(f.path() + ": 'llama.rope.scaling.type' '" + scaling +
                           "' is not supported (none, linear)");
  }
  if (const formats::GgufTensorInfo* r = f.FindTensor("rope_freqs.weight")) {
    if (r->type != GgmlType::kF32 || r->ne != std::vector<int64_t>{c.head_dim / 2})
      return InvalidArgument(f.path() + ": tensor 'rope_freqs.weight' must be F32 [" +
                             std::to_string(c.head_dim / 2) + "]");
    const auto* v = reinterpret_cast<const float*>(f.Data(*r));
    c.rope_freq_factors.assign(v, v + c.head_dim / 2);
  }
  const formats::GgufTensorInfo* embd = f.FindTensor("token_embd.weight");
  if (embd == nullptr || embd->ne.size() != 2 || embd->ne[0] != c.hidden_size || embd->ne[1] <= 0)
    return InvalidArgument(f.path() + ": tensor 'token_embd.weight' must be [" +
                           std::to_string(c.hidden_size) + ", vocabulary]");
  c.vocab_size = static_cast<int>(embd->ne[1]);
  c.tie_word_embeddings = f.FindTensor("output.weight") == nullptr;
  int id = -1;
  if (OptionalUint(f, "tokenizer.ggml.bos_token_id", &id).ok()) c.bos_token_id = id;
  id = -1;
  if (OptionalUint(f, "tokenizer.ggml.eos_token_id", &id).ok() && id >= 0) c.eos_token_ids = {id};
  *out = std::move(c);
  return Status::Ok();
}

Status LoadGgufLlama(const std::string& path, const LlamaLoadOptions& options,
                     std::unique_ptr<LlamaModel>* out) {
  std::unique_ptr<formats::GgufFile> file;
  EPARA_RETURN_IF_ERROR(formats::GgufFile::Open(path, &file));
  return LoadGgufLlama(std::move(file), options, out);
}

Status LoadGgufLlama(std::unique_ptr<formats::GgufFile> file, const LlamaLoadOptions& options,
                     std::unique_ptr<LlamaModel>* out) {
  const std::string path = file->path();
  if (options.device != "cpu" || !options.cpu_kernels)
    return InvalidArgument(path + ": GGUF models run on the cpu kernels only (device cpu)");
  if (options.weights != LlamaLoadOptions::Weights::kF32)
    return InvalidArgument(path +
                           ": a GGUF file's weights are used as stored; llm.weights "
                           "does not apply");
  auto storage = std::make_shared<Storage>();
  storage->file = std::move(file);
  LlamaConfig c;
  EPARA_RETURN_IF_ERROR(GgufLlamaConfig(*storage->file, &c));
  const int layers = c.num_hidden_layers;
  const int first = options.first_layer, end = options.end_layer == 0 ? layers : options.end_layer;
  if (first < 0 || first >= end || end > layers)
    return InvalidArgument(path + ": layer range [" + std::to_string(first) + ", " +
                           std::to_string(end) + ") is not within the model's " +
                           std::to_string(layers) + " layers");
  const int64_t H = c.hidden_size, I = c.intermediate_size, hd = c.head_dim,
                nh = c.num_attention_heads, nkv = c.num_key_value_heads, V = c.vocab_size;
  Loader load(storage.get());
  kernels::ModelWeights w;
  w.hidden = H;
  w.intermediate = I;
  w.heads = nh;
  w.kv_heads = nkv;
  w.head_dim = hd;
  w.vocab = V;
  w.rms_eps = static_cast<float>(c.rms_norm_eps);
  if (options.kv_cache == LlamaLoadOptions::KvCache::kF16) w.kv_type = kernels::KvType::kF16;
  w.panel_products = options.panel_products;
  const bool first_stage = first == 0, last_stage = end == layers;
  kernels::WeightPart embed;
  if (first_stage || (last_stage && c.tie_word_embeddings))
    EPARA_RETURN_IF_ERROR(load.Matrix("token_embd.weight", V, H, &embed));
  if (first_stage) {
    w.embed = embed.data;
    w.embed_type = embed.type;
  }
  for (int l = first; l < end; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    kernels::LayerWeights L{};
    kernels::WeightPart q, k, v, o, gate, up, down;
    EPARA_RETURN_IF_ERROR(load.Vector(b + "attn_norm.weight", H, &L.input_norm));
    EPARA_RETURN_IF_ERROR(load.Vector(b + "ffn_norm.weight", H, &L.post_norm));
    EPARA_RETURN_IF_ERROR(load.Matrix(b + "attn_q.weight", nh * hd, H, &q, nh));
    EPARA_RETURN_IF_ERROR(load.Matrix(b + "attn_k.weight", nkv * hd, H, &k, nkv));
    EPARA_RETURN_IF_ERROR(load.Matrix(b + "attn_v.weight", nkv * hd, H, &v));
    EPARA_RETURN_IF_ERROR(load.Matrix(b + "attn_output.weight", H, nh * hd, &o));
    EPARA_RETURN_IF_ERROR(load.Matrix(b + "ffn_gate.weight", I, H, &gate));
    EPARA_RETURN_IF_ERROR(load.Matrix(b + "ffn_up.weight", I, H, &up));
    EPARA_RETURN_IF_ERROR(load.Matrix(b + "ffn_down.weight", H, I, &down));
    L.w_qkv.parts = {q, k, v};
    L.wo.parts = {o};
    L.w_gate_up.parts = {gate, up};
    L.w_down.parts = {down};
    w.layers.push_back(std::move(L));
  }
  if (last_stage) {
    EPARA_RETURN_IF_ERROR(load.Vector("output_norm.weight", H, &w.final_norm));
    kernels::WeightPart head = embed;
    if (!c.tie_word_embeddings) EPARA_RETURN_IF_ERROR(load.Matrix("output.weight", V, H, &head));
    w.lm_head.parts = {head};
  }
  BuildRopeTables(c, &storage->rope_cos, &storage->rope_sin);
  w.rope_cos = storage->rope_cos.data();
  w.rope_sin = storage->rope_sin.data();
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  *out = std::make_unique<KernelLlamaModel>(std::move(c), std::move(w), std::move(storage),
                                            load.bytes(), first, end, threads);
  return Status::Ok();
}

}  // namespace epara::llm
