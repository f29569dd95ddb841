// Writes a Hugging Face Llama folder (config.json + safetensors) as a GGUF file that llama.cpp
// loads: the same weights, so epara and llama.cpp can be measured on one model (bench/peer/).
//
// Layout conversions, as llama.cpp's convert_hf_to_gguf.py does them:
//   - tensor names: model.layers.N.self_attn.q_proj.weight -> blk.N.attn_q.weight, etc.;
//   - q_proj and k_proj rows are permuted from Hugging Face's rotate-half rotary layout to
//     llama.cpp's interleaved pairs (within each head, row j <- j / 2 + (j % 2) * head_dim / 2);
//   - a tied LM head is not written (llama.cpp then uses token_embd).
// The tokenizer goes into the file as a llama.cpp vocabulary: a folder's tokenizer.model as
// "llama" (SentencePiece: tokens, scores, token types); epara's byte tokenizer
// (epara_tokenizer.json) as "gpt2" byte-level BPE without merges (<pad>, <s>, </s>, then one token
// per byte), which encodes text exactly as the byte tokenizer does, except that "<s>" / "</s>" in
// a prompt become their control tokens. A folder with another tokenizer is written with tokenizer
// model "none" and llama.vocab_size (enough for llama-bench, not for a server).
// Matrix types: F32, Q8_0, Q4_0, Q4_K, Q6_K, or the Q4_K_M-style mix (k_mix: Q4_K, with Q6_K for
// attn_v, ffn_down and the output matrix). A matrix whose rows are not whole blocks of the type
// falls back to Q8_0 (rows of 32s) or F32, as llama.cpp's quantizer falls back.
#pragma once

#include <string>

#include "core/status.h"
#include "formats/gguf.h"

namespace epara::llm {

struct GgufExportOptions {
  // Weight matrices' type (norms stay F32).
  formats::GgmlType matrices = formats::GgmlType::kF32;
  bool k_mix = false;  // Q4_K_M-style: matrices Q4_K, attn_v / ffn_down / output Q6_K
  std::string name = "epara-export";
};

Status ExportLlamaGguf(const std::string& hf_dir, const std::string& out_path,
                       const GgufExportOptions& options);

// The row order llama.cpp expects for q_proj / k_proj: out row (h, j) = in row
// (h, j / 2 + (j % 2) * head_dim / 2) for each of `heads` heads. `cols` floats per row.
void PermuteRotaryRows(const float* in, int64_t heads, int64_t head_dim, int64_t cols, float* out);

}  // namespace epara::llm
