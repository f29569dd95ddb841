// Llama-architecture GGUF files (llama.cpp's format; what edge users download) as a LlamaModel on
// epara's CPU kernels (llm/kernel_llama_model.h), without LibTorch.
//
// Read from the file:
//   metadata  general.architecture "llama"; llama.{embedding_length, block_count,
//             feed_forward_length, attention.head_count, attention.head_count_kv,
//             attention.key_length, rope.dimension_count, rope.freq_base,
//             attention.layer_norm_rms_epsilon, context_length, rope.scaling.type (none | linear)
//             and rope.scaling.factor}; the vocabulary size from token_embd.
//   tensors   token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm,
//             ffn_gate, ffn_up, ffn_down}, output_norm, output (absent: tied to token_embd),
//             rope_freqs (optional: Llama-3 frequency divisors). Matrices in F32, F16, BF16, Q8_0,
//             Q4_0, Q4_K or Q6_K; norms in F32 or F16.
// Quantized and F32 matrices are used in place in the memory-mapped file (no copy); F16/BF16 are
// widened to F32 at load. attn_q / attn_k rows are stored in llama.cpp's interleaved rotary order
// and are reordered to the rotate-half order the kernels use (a copy of those two matrices).
// The context served is at most kGgufMaxContext positions (rotary tables are built for it).
// Errors name the file and the field or tensor: a malformed or unsupported file fails its load
// with InvalidArgument, never a crash.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "formats/gguf.h"
#include "llm/llama_config.h"
#include "llm/llama_model.h"

namespace epara::llm {

inline constexpr int kGgufMaxContext = 16384;

// Where a model location names a GGUF model: `location` itself when it is a file ending in
// ".gguf", or the only ".gguf" file of a folder that has no config.json. Empty otherwise.
// LlamaModel::Load, LoadTokenizer and LoadChatTemplate use it, so every path that loads a model
// folder loads a GGUF one too.
std::string FindGgufModel(const std::string& location);

// The LlamaConfig a GGUF file's metadata (and token_embd's shape) describes.
Status GgufLlamaConfig(const formats::GgufFile& file, LlamaConfig* out);

// Loads `path`. options.device must be "cpu" and options.cpu_kernels true; options.weights must
// be kF32 (the default: the file's types are used as stored); options.first_layer / end_layer
// select a pipeline stage as for Hugging Face folders.
Status LoadGgufLlama(const std::string& path, const LlamaLoadOptions& options,
                     std::unique_ptr<LlamaModel>* out);
// The same from a file already open (the model keeps it; its tokenizer and chat template can be
// read from it first, llm/gguf_tokenizer.h).
Status LoadGgufLlama(std::unique_ptr<formats::GgufFile> file, const LlamaLoadOptions& options,
                     std::unique_ptr<LlamaModel>* out);

}  // namespace epara::llm
