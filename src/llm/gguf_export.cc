#include "llm/gguf_export.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "formats/ggml_quant.h"
#include "formats/safetensors.h"
#include "llm/checkpoint.h"
#include "llm/llama_config.h"
#include "llm/sentencepiece.h"
#include "llm/tokenizer.h"

namespace epara::llm {

void PermuteRotaryRows(const float* in, int64_t heads, int64_t head_dim, int64_t cols, float* out) {
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t j = 0; j < head_dim; ++j) {
      const int64_t src = h * head_dim + j / 2 + (j % 2) * half;
      std::memcpy(out + (h * head_dim + j) * cols, in + src * cols, cols * sizeof(float));
    }
}

namespace {

// GPT-2's printable character for byte b (UTF-8): printable Latin-1 bytes stand for themselves,
// the others for U+0100 onward, in byte order.
std::string Gpt2ByteChar(unsigned char b) {
  const auto printable = [](int c) {
    return (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255);
  };
  int code = b;
  if (!printable(b)) {
    code = 256;
    for (int c = 0; c < b; ++c) code += printable(c) ? 0 : 1;
  }
  std::string out;
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
  return out;
}

// The folder's tokenizer as a llama.cpp vocabulary (see the header).
Status AddTokenizer(const std::string& hf_dir, const LlamaConfig& c, formats::GgufWriter* w) {
  namespace fs = std::filesystem;
  SentencePieceModel m;
  if (fs::exists(fs::path(hf_dir) / "tokenizer.model")) {
    std::unique_ptr<SentencePieceTokenizer> t;
    EPARA_RETURN_IF_ERROR(
        SentencePieceTokenizer::Load((fs::path(hf_dir) / "tokenizer.model").string(), &t));
    m = t->model();
    if (m.algorithm != SentencePieceModel::Algorithm::kBpe)
      return InvalidArgument(hf_dir + ": GGUF export writes SentencePiece BPE vocabularies only");
  } else if (fs::exists(fs::path(hf_dir) / "epara_tokenizer.json")) {
    // The byte tokenizer as a byte-level BPE vocabulary without merges: <pad> <s> </s>, then byte
    // b at id 3 + b as GPT-2's character for it. Every byte stays its own token.
    std::vector<std::string> tokens = {"<pad>", "<s>", "</s>"};
    std::vector<int32_t> types = {3, 3, 3};
    for (int b = 0; b < 256; ++b) {
      tokens.push_back(Gpt2ByteChar(static_cast<unsigned char>(b)));
      types.push_back(1);
    }
    for (int i = static_cast<int>(tokens.size()); i < c.vocab_size; ++i) {
      tokens.push_back("<unused" + std::to_string(i) + ">");
      types.push_back(5);
    }
    w->AddString("tokenizer.ggml.model", "gpt2");
    w->AddString("tokenizer.ggml.pre", "default");
    w->AddStringArray("tokenizer.ggml.tokens", tokens);
    w->AddInt32Array("tokenizer.ggml.token_type", types);
    w->AddStringArray("tokenizer.ggml.merges", {});
    w->AddUint32("tokenizer.ggml.bos_token_id", ByteTokenizer::kBos);
    w->AddUint32("tokenizer.ggml.eos_token_id", ByteTokenizer::kEos);
    w->AddUint32("tokenizer.ggml.padding_token_id", ByteTokenizer::kPad);
    w->AddBool("tokenizer.ggml.add_bos_token", true);
    return Status::Ok();
  } else {
    w->AddString("tokenizer.ggml.model", "none");
    return Status::Ok();
  }
  if (static_cast<int>(m.pieces.size()) > c.vocab_size)
    return InvalidArgument(hf_dir + ": the tokenizer has more tokens than vocab_size");
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (const SentencePieceModel::Piece& p : m.pieces) {
    tokens.push_back(p.text);
    scores.push_back(p.score);
    types.push_back(static_cast<int32_t>(p.type));
  }
  for (int i = static_cast<int>(tokens.size()); i < c.vocab_size; ++i) {  // padded embeddings
    tokens.push_back("<unused" + std::to_string(i) + ">");
    scores.push_back(0);
    types.push_back(static_cast<int32_t>(SentencePieceModel::PieceType::kUnused));
  }
  w->AddString("tokenizer.ggml.model", "llama");
  w->AddStringArray("tokenizer.ggml.tokens", tokens);
  w->AddFloat32Array("tokenizer.ggml.scores", scores);
  w->AddInt32Array("tokenizer.ggml.token_type", types);
  if (m.bos_id >= 0) w->AddUint32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(m.bos_id));
  if (m.eos_id >= 0) w->AddUint32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(m.eos_id));
  if (m.unk_id >= 0)
    w->AddUint32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(m.unk_id));
  if (m.pad_id >= 0)
    w->AddUint32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(m.pad_id));
  w->AddBool("tokenizer.ggml.add_bos_token", m.bos_id >= 0);
  w->AddBool("tokenizer.ggml.add_space_prefix", m.add_dummy_prefix);
  return Status::Ok();
}

}  // namespace

Status ExportLlamaGguf(const std::string& hf_dir, const std::string& out_path,
                       const GgufExportOptions& options) {
  using formats::GgmlType;
  const GgmlType base = options.k_mix ? GgmlType::kQ4_K : options.matrices;
  if (base == GgmlType::kF16 || base == GgmlType::kBF16)
    return InvalidArgument(std::string("GGUF export writes F32, Q8_0, Q4_0, Q4_K or Q6_K "
                                       "matrices, not ") +
                           formats::GgmlTypeName(base));
  LlamaConfig c;
  EPARA_RETURN_IF_ERROR(LoadLlamaConfig(hf_dir + "/config.json", &c));
  if (c.rope_scaling.type != RopeScaling::Type::kNone)
    return InvalidArgument(hf_dir + ": GGUF export does not write rope_scaling");
  std::unique_ptr<Checkpoint> ckpt;
  EPARA_RETURN_IF_ERROR(Checkpoint::Open(hf_dir, &ckpt));

  formats::GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddString("general.name", options.name);
  // llama_ftype: ALL_F32 0, MOSTLY_Q4_0 2, MOSTLY_Q8_0 7, MOSTLY_Q4_K_M 15, MOSTLY_Q6_K 18,
  // MOSTLY_Q4_K_S 14.
  w.AddUint32("general.file_type", options.k_mix             ? 15
                                   : base == GgmlType::kF32  ? 0
                                   : base == GgmlType::kQ8_0 ? 7
                                   : base == GgmlType::kQ4_0 ? 2
                                   : base == GgmlType::kQ4_K ? 14
                                                             : 18);
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
  EPARA_RETURN_IF_ERROR(AddTokenizer(hf_dir, c, &w));

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
  // `heavy`: a matrix the Q4_K_M mix keeps at Q6_K.
  const auto add = [&](const std::string& name, const std::vector<float>& v, int64_t rows,
                       int64_t cols, bool matrix, bool heavy = false) -> Status {
    GgmlType type = !matrix ? GgmlType::kF32 : options.k_mix && heavy ? GgmlType::kQ6_K : base;
    if (cols % formats::GgmlBlockElements(type) != 0)
      type = cols % formats::kQ8_0Block == 0 ? GgmlType::kQ8_0 : GgmlType::kF32;
    std::vector<uint8_t> bytes(
        static_cast<size_t>(static_cast<int64_t>(v.size()) / formats::GgmlBlockElements(type) *
                            formats::GgmlBlockBytes(type)));
    formats::QuantizeBlocks(type, v.data(), static_cast<int64_t>(v.size()), bytes.data());
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
    EPARA_RETURN_IF_ERROR(add(b + "attn_v.weight", t, nkv * hd, H, true, /*heavy=*/true));
    EPARA_RETURN_IF_ERROR(load(p + "self_attn.o_proj.weight", H, nh * hd, &t));
    EPARA_RETURN_IF_ERROR(add(b + "attn_output.weight", t, H, nh * hd, true));
    EPARA_RETURN_IF_ERROR(load(p + "post_attention_layernorm.weight", 1, H, &t));
    EPARA_RETURN_IF_ERROR(add(b + "ffn_norm.weight", t, 1, H, false));
    EPARA_RETURN_IF_ERROR(load(p + "mlp.gate_proj.weight", I, H, &t));
    EPARA_RETURN_IF_ERROR(add(b + "ffn_gate.weight", t, I, H, true));
    EPARA_RETURN_IF_ERROR(load(p + "mlp.up_proj.weight", I, H, &t));
    EPARA_RETURN_IF_ERROR(add(b + "ffn_up.weight", t, I, H, true));
    EPARA_RETURN_IF_ERROR(load(p + "mlp.down_proj.weight", H, I, &t));
    EPARA_RETURN_IF_ERROR(add(b + "ffn_down.weight", t, H, I, true, /*heavy=*/true));
  }
  EPARA_RETURN_IF_ERROR(load("model.norm.weight", 1, H, &t));
  EPARA_RETURN_IF_ERROR(add("output_norm.weight", t, 1, H, false));
  if (!c.tie_word_embeddings) {
    EPARA_RETURN_IF_ERROR(load("lm_head.weight", V, H, &t));
    EPARA_RETURN_IF_ERROR(add("output.weight", t, V, H, true, /*heavy=*/true));
  }
  return w.Write(out_path);
}

}  // namespace epara::llm
