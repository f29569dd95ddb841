#include "llm/llama_config.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "llm/json_field.h"

namespace epara::llm {

using json = nlohmann::json;

Status ParseLlamaConfig(const std::string& json_text, const std::string& origin, LlamaConfig* out) {
  json j = json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument(origin + ": not a JSON object");
  LlamaConfig c;
  EPARA_RETURN_IF_ERROR(GetField(j, "vocab_size", origin, "", &c.vocab_size, true));
  EPARA_RETURN_IF_ERROR(GetField(j, "hidden_size", origin, "", &c.hidden_size, true));
  EPARA_RETURN_IF_ERROR(GetField(j, "intermediate_size", origin, "", &c.intermediate_size, true));
  EPARA_RETURN_IF_ERROR(GetField(j, "num_hidden_layers", origin, "", &c.num_hidden_layers, true));
  EPARA_RETURN_IF_ERROR(
      GetField(j, "num_attention_heads", origin, "", &c.num_attention_heads, true));
  c.num_key_value_heads = c.num_attention_heads;
  EPARA_RETURN_IF_ERROR(
      GetField(j, "num_key_value_heads", origin, "", &c.num_key_value_heads, false));
  EPARA_RETURN_IF_ERROR(GetField(j, "rms_norm_eps", origin, "", &c.rms_norm_eps, false));
  EPARA_RETURN_IF_ERROR(GetField(j, "rope_theta", origin, "", &c.rope_theta, false));
  EPARA_RETURN_IF_ERROR(
      GetField(j, "max_position_embeddings", origin, "", &c.max_position_embeddings, false));
  EPARA_RETURN_IF_ERROR(
      GetField(j, "tie_word_embeddings", origin, "", &c.tie_word_embeddings, false));
  EPARA_RETURN_IF_ERROR(GetField(j, "bos_token_id", origin, "", &c.bos_token_id, false));
  if (j.contains("eos_token_id") && j["eos_token_id"].is_number_integer()) {
    c.eos_token_ids.push_back(j["eos_token_id"].get<int>());
  } else if (j.contains("eos_token_id") && j["eos_token_id"].is_array()) {
    for (const auto& e : j["eos_token_id"])
      if (e.is_number_integer()) c.eos_token_ids.push_back(e.get<int>());
  }
  for (auto [name, v] : {std::pair{"vocab_size", c.vocab_size},
                         {"hidden_size", c.hidden_size},
                         {"intermediate_size", c.intermediate_size},
                         {"num_hidden_layers", c.num_hidden_layers},
                         {"num_attention_heads", c.num_attention_heads},
                         {"num_key_value_heads", c.num_key_value_heads},
                         {"max_position_embeddings", c.max_position_embeddings}})
    if (v <= 0) return InvalidArgument(origin + ": field '" + name + "' must be positive");
  c.head_dim = c.hidden_size / c.num_attention_heads;
  EPARA_RETURN_IF_ERROR(GetField(j, "head_dim", origin, "", &c.head_dim, false));
  if (c.head_dim <= 0 || c.head_dim % 2 != 0)
    return InvalidArgument(origin + ": field 'head_dim' must be even and positive");
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    return InvalidArgument(origin +
                           ": field 'num_key_value_heads' must divide num_attention_heads");
  if (c.rms_norm_eps <= 0 || c.rope_theta <= 0)
    return InvalidArgument(origin + ": rms_norm_eps and rope_theta must be positive");
  if (j.contains("hidden_act") && j["hidden_act"] != "silu")
    return InvalidArgument(origin + ": field 'hidden_act': only silu (SwiGLU) is supported");
  if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) {
    const json& r = j["rope_scaling"];
    std::string type = r.value("rope_type", r.value("type", std::string("default")));
    RopeScaling& s = c.rope_scaling;
    const std::string where = origin + ": field 'rope_scaling'";
    if (!r.contains("factor") || !r["factor"].is_number()) {
      if (type != "default") return InvalidArgument(where + ": 'factor' missing");
    } else {
      s.factor = r["factor"].get<double>();
    }
    if (type == "default") {
      s.type = RopeScaling::Type::kNone;
    } else if (type == "linear") {
      s.type = RopeScaling::Type::kLinear;
    } else if (type == "llama3") {
      s.type = RopeScaling::Type::kLlama3;
      s.low_freq_factor = r.value("low_freq_factor", 1.0);
      s.high_freq_factor = r.value("high_freq_factor", 4.0);
      s.original_max_position_embeddings = r.value("original_max_position_embeddings", 8192);
      if (s.high_freq_factor <= s.low_freq_factor)
        return InvalidArgument(where + ": high_freq_factor must exceed low_freq_factor");
    } else {
      return InvalidArgument(where + ": type '" + type +
                             "' is not supported (default, linear, llama3)");
    }
    if (s.factor <= 0) return InvalidArgument(where + ": 'factor' must be positive");
  }
  *out = c;
  return Status::Ok();
}

Status LoadLlamaConfig(const std::string& path, LlamaConfig* out) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseLlamaConfig(ss.str(), path, out);
}

std::vector<double> RopeInverseFrequencies(const LlamaConfig& c) {
  std::vector<double> inv(static_cast<size_t>(c.head_dim / 2));
  for (size_t i = 0; i < inv.size(); ++i)
    inv[i] = 1.0 / std::pow(c.rope_theta, 2.0 * static_cast<double>(i) / c.head_dim);
  const RopeScaling& s = c.rope_scaling;
  if (s.type == RopeScaling::Type::kLinear) {
    for (double& f : inv) f /= s.factor;
  } else if (s.type == RopeScaling::Type::kLlama3) {
    // As in transformers' _compute_llama3_parameters.
    const double low_wavelen = s.original_max_position_embeddings / s.low_freq_factor;
    const double high_wavelen = s.original_max_position_embeddings / s.high_freq_factor;
    for (double& f : inv) {
      const double wavelen = 2 * M_PI / f;
      if (wavelen > low_wavelen) {
        f /= s.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) /
                              (s.high_freq_factor - s.low_freq_factor);
        f = (1 - smooth) * f / s.factor + smooth * f;
      }
    }
  }
  for (size_t i = 0; i < inv.size() && i < c.rope_freq_factors.size(); ++i)
    inv[i] /= c.rope_freq_factors[i];
  return inv;
}

}  // namespace epara::llm
