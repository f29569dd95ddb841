// LlamaConfig: the fields of a Hugging Face `config.json` that define a Llama-architecture model
// (Llama 2/3, TinyLlama, SmolLM, ...). Parsed and validated once at load.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace epara::llm {

struct RopeScaling {
  enum class Type { kNone, kLinear, kLlama3 };
  Type type = Type::kNone;
  double factor = 1.0;
  double low_freq_factor = 1.0;                 // llama3
  double high_freq_factor = 4.0;                // llama3
  int original_max_position_embeddings = 8192;  // llama3
};

struct LlamaConfig {
  int vocab_size = 0;
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;  // defaults to num_attention_heads
  int head_dim = 0;             // defaults to hidden_size / num_attention_heads
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  // Per-frequency divisors of the inverse frequencies (GGUF's rope_freqs tensor, how llama.cpp
  // stores Llama-3 rope scaling); empty: none. Applied after rope_scaling.
  std::vector<double> rope_freq_factors;
  int max_position_embeddings = 2048;
  bool tie_word_embeddings = false;
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;  // config's eos_token_id (int or list)
};

// Parses config.json text. InvalidArgument naming `origin` and the field for anything missing or
// inconsistent (heads not dividing, non-positive sizes, unsupported rope_scaling type).
Status ParseLlamaConfig(const std::string& json_text, const std::string& origin, LlamaConfig* out);
Status LoadLlamaConfig(const std::string& path, LlamaConfig* out);

// The rotary inverse frequencies (head_dim / 2 of them) after rope_scaling, as HF computes them.
std::vector<double> RopeInverseFrequencies(const LlamaConfig& c);

}  // namespace epara::llm
