// Writes a Hugging Face Llama folder (config.json + safetensors) as a GGUF file that llama.cpp
// loads: the same weights, so epara and llama.cpp can be measured on one model (bench/peer/).
//
// Layout conversions, as llama.cpp's convert_hf_to_gguf.py does them:
//   - tensor names: model.layers.N.self_attn.q_proj.weight -> blk.N.attn_q.weight, etc.;
//   - q_proj and k_proj rows are permuted from Hugging Face's rotate-half rotary layout to
//     llama.cpp's interleaved pairs (within each head, row j <- j / 2 + (j % 2) * head_dim / 2);
//   - a tied LM head is not written (llama.cpp then uses token_embd).
// The tokenizer is recorded as "none" with llama.vocab_size (enough for llama-bench; a server
// needs the model's own tokenizer).
#pragma once

#include <string>

#include "core/status.h"
#include "formats/gguf.h"

namespace epara::llm {

struct GgufExportOptions {
  // Weight matrices' type: F32 or Q8_0 (norms stay F32).
  formats::GgmlType matrices = formats::GgmlType::kF32;
  std::string name = "epara-export";
};

Status ExportLlamaGguf(const std::string& hf_dir, const std::string& out_path,
                       const GgufExportOptions& options);

// The row order llama.cpp expects for q_proj / k_proj: out row (h, j) = in row
// (h, j / 2 + (j % 2) * head_dim / 2) for each of `heads` heads. `cols` floats per row.
void PermuteRotaryRows(const float* in, int64_t heads, int64_t head_dim, int64_t cols, float* out);

}  // namespace epara::llm
