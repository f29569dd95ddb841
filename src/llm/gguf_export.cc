#include "llm/gguf_export.h"

#include <cstring>
#include <vector>

#include "formats/ggml_quant.h"
#include "formats/safetensors.h"
#include "llm/checkpoint.h"
#include "llm/llama_config.h"

namespace epara::llm {

void PermuteRotaryRows(const float* in, int64_t heads, int64_t head_dim, int64_t cols, float* out) {
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t j = 0; j < head_dim; ++j) {
      const int64_t src = h * head_dim + j / 2 + (j % 2) * half;
      std::memcpy(out + (h * head_dim + j) * cols, in + src * cols, cols * sizeof(float));
    }
}

Status ExportLlamaGguf(const std::string& hf_dir, const std::string& out_path,
                       const GgufExportOptions& options) {
  using formats::GgmlType;
  if (options.matrices != GgmlType::kF32 && options.matrices != GgmlType::kQ8_0 &&
      options.matrices != GgmlType::kQ4_0)
    return InvalidArgument(std::string("GGUF export writes F32, Q8_0 or Q4_0 matrices, not ") +
                           formats::GgmlTypeName(options.matrices));
  LlamaConfig c;
  EPARA_RETURN_IF_ERROR(LoadLlamaConfig(hf_dir + "/config.json", &c));
  if (c.rope_scaling.type != RopeScaling::Type::kNone)
    return InvalidArgument(hf_dir + ": GGUF export does not write rope_scaling");
  std::unique_ptr<Checkpoint> ckpt;
  EPARA_RETURN_IF_ERROR(Checkpoint::Open(hf_dir, &ckpt));

  formats::GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddString("general.name", options.name);
  w.AddUint32("general.file_type", options.matrices == GgmlType::kF32    ? 0
                                   : options.matrices == GgmlType::kQ8_0 ? 7
                                                                         : 2);
  w.AddUint32("llama.context_length", static_cast<uint32_t>(c.max_position_embeddings));
  w.AddUint32("llama.embedding_length", static_cast<uint32_t>(c.hidden_size));
  w.AddUint32("llama.block_count", static_cast<uint32_t>(c.num_hidden_layers));
  w.AddUint32("llama.feed_forward_length", static_cast<uint32_t>(c.intermediate_size));
  w.AddUint32("llama.attention.head_count", static_cast<uint32_t>(c.num_attention_heads));
  w.AddUint32("llama.attention.head_count_kv", static_cast<uint32_t>(c.num_key_value_heads));
  w.AddUint32("llama.rope.dimension_count", static_cast<uint32_t>(c.head_dim));
  w.AddFloat32("llama.rope.freq_base", static_cast<float>(c.rope_theta));
  w.AddFloat32("llama.attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
  w.AddUint32("llama.vocab_size", static_cast<uint32_t>(c.vocab_size));
  w.AddString("tokenizer.ggml.model", "none");

  // One tensor from the checkpoint as float32, [rows, cols] (cols = 1 for vectors).
  const auto load = [&](const std::string& name, int64_t rows, int64_t cols,
                        std::vector<float>* out) -> Status {
    const formats::SafetensorsFile* file = nullptr;
    const formats::StTensorInfo* info = nullptr;
    EPARA_RETURN_IF_ERROR(ckpt->Find(name, &file, &info));
    int64_t n = 1;
    for (int64_t d : info->shape) n *= d;
    if (n != rows * cols)
      return InvalidArgument(file->path() + ": tensor '" + name + "' has " + std::to_string(n) +
                             " elements, config.json implies " + std::to_string(rows * cols));
    out->resize(static_cast<size_t>(n));
    return formats::ToFloat32(info->dtype, file->Data(*info), static_cast<size_t>(n), out->data());
  };
  const auto add = [&](const std::string& name, const std::vector<float>& v, int64_t rows,
                       int64_t cols, bool matrix) -> Status {
    const GgmlType type =
        matrix && cols % formats::kQ8_0Block == 0 ? options.matrices : GgmlType::kF32;
    std::vector<uint8_t> bytes;
    if (type == GgmlType::kF32) {
      bytes.resize(v.size() * 4);
      std::memcpy(bytes.data(), v.data(), bytes.size());
    } else if (type == GgmlType::kQ8_0) {
      bytes.resize(v.size() / formats::kQ8_0Block * formats::kQ8_0Bytes);
      formats::QuantizeQ8_0(v.data(), static_cast<int64_t>(v.size()), bytes.data());
    } else {
      bytes.resize(v.size() / formats::kQ4_0Block * formats::kQ4_0Bytes);
      formats::QuantizeQ4_0(v.data(), static_cast<int64_t>(v.size()), bytes.data());
    }
    std::vector<int64_t> ne = rows == 1 ? std::vector<int64_t>{cols} : std::vector{cols, rows};
    return w.AddTensor(name, std::move(ne), type, std::move(bytes));
  };

  const int64_t H = c.hidden_size, I = c.intermediate_size, hd = c.head_dim,
                nh = c.num_attention_heads, nkv = c.num_key_value_heads, V = c.vocab_size;
  std::vector<float> t, permuted;
  EPARA_RETURN_IF_ERROR(load("model.embed_tokens.weight", V, H, &t));
  EPARA_RETURN_IF_ERROR(add("token_embd.weight", t, V, H, true));
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const std::string b = "blk." + std::to_string(l) + ".";
    EPARA_RETURN_IF_ERROR(load(p + "input_layernorm.weight", 1, H, &t));
    EPARA_RETURN_IF_ERROR(add(b + "attn_norm.weight", t, 1, H, false));
    EPARA_RETURN_IF_ERROR(load(p + "self_attn.q_proj.weight", nh * hd, H, &t));
    permuted.resize(t.size());
    PermuteRotaryRows(t.data(), nh, hd, H, permuted.data());
    EPARA_RETURN_IF_ERROR(add(b + "attn_q.weight", permuted, nh * hd, H, true));
    EPARA_RETURN_IF_ERROR(load(p + "self_attn.k_proj.weight", nkv * hd, H, &t));
    permuted.resize(t.size());
    PermuteRotaryRows(t.data(), nkv, hd, H, permuted.data());
    EPARA_RETURN_IF_ERROR(add(b + "attn_k.weight", permuted, nkv * hd, H, true));
    EPARA_RETURN_IF_ERROR(load(p + "self_attn.v_proj.weight", nkv * hd, H, &t));
    EPARA_RETURN_IF_ERROR(add(b + "attn_v.weight", t, nkv * hd, H, true));
    EPARA_RETURN_IF_ERROR(load(p + "self_attn.o_proj.weight", H, nh * hd, &t));
    EPARA_RETURN_IF_ERROR(add(b + "attn_output.weight", t, H, nh * hd, true));
    EPARA_RETURN_IF_ERROR(load(p + "post_attention_layernorm.weight", 1, H, &t));
    EPARA_RETURN_IF_ERROR(add(b + "ffn_norm.weight", t, 1, H, false));
    EPARA_RETURN_IF_ERROR(load(p + "mlp.gate_proj.weight", I, H, &t));
    EPARA_RETURN_IF_ERROR(add(b + "ffn_gate.weight", t, I, H, true));
    EPARA_RETURN_IF_ERROR(load(p + "mlp.up_proj.weight", I, H, &t));
    EPARA_RETURN_IF_ERROR(add(b + "ffn_up.weight", t, I, H, true));
    EPARA_RETURN_IF_ERROR(load(p + "mlp.down_proj.weight", H, I, &t));
    EPARA_RETURN_IF_ERROR(add(b + "ffn_down.weight", t, H, I, true));
  }
  EPARA_RETURN_IF_ERROR(load("model.norm.weight", 1, H, &t));
  EPARA_RETURN_IF_ERROR(add("output_norm.weight", t, 1, H, false));
  if (!c.tie_word_embeddings) {
    EPARA_RETURN_IF_ERROR(load("lm_head.weight", V, H, &t));
    EPARA_RETURN_IF_ERROR(add("output.weight", t, V, H, true));
  }
  return w.Write(out_path);
}

}  // namespace epara::llm
