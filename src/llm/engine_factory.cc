#include "llm/engine_factory.h"

#include <map>

#include "llm/chat_template.h"
#include "llm/gguf_llama.h"
#include "llm/gguf_tokenizer.h"
#include "llm/llama_model.h"
#include "llm/tokenizer.h"

namespace epara::llm {

Status CreateEngineFromDescriptor(const ModelDescriptor& d, std::unique_ptr<LlmEngine>* out,
                                  bool* chat_template_recognized) {
  std::unique_ptr<LlamaModel> model;
  LlamaLoadOptions lo{d.instances.device, d.llm.threads};
  lo.first_layer = d.llm.first_layer;
  lo.end_layer = d.llm.end_layer;
  using W = LlamaLoadOptions::Weights;
  const std::map<std::string, W> weights = {{"f32", W::kF32},   {"bf16", W::kBF16},
                                            {"q8_0", W::kQ8_0}, {"q4_0", W::kQ4_0},
                                            {"q4_k", W::kQ4_K}, {"q6_k", W::kQ6_K}};
  if (auto it = weights.find(d.llm.weights); it != weights.end()) lo.weights = it->second;
  if (d.llm.kv_cache_dtype == "f16" || (d.llm.kv_cache_dtype == "auto" && lo.device == "cpu"))
    lo.kv_cache = LlamaLoadOptions::KvCache::kF16;
  std::unique_ptr<Tokenizer> tokenizer;
  ChatTemplate chat;
  bool recognized = true;
  if (const std::string gguf = FindGgufModel(d.directory); !gguf.empty()) {
    // One GGUF file holds all three: opened and parsed once.
    std::unique_ptr<formats::GgufFile> file;
    EPARA_RETURN_IF_ERROR(formats::GgufFile::Open(gguf, &file));
    EPARA_RETURN_IF_ERROR(LoadGgufTokenizer(*file, &tokenizer));
    EPARA_RETURN_IF_ERROR(LoadGgufChatTemplate(*file, &chat, &recognized));
    EPARA_RETURN_IF_ERROR(LoadGgufLlama(std::move(file), lo, &model));
  } else {
    EPARA_RETURN_IF_ERROR(LlamaModel::Load(d.directory, lo, &model));
    EPARA_RETURN_IF_ERROR(LoadTokenizer(d.directory, &tokenizer));
    EPARA_RETURN_IF_ERROR(LoadChatTemplate(d.directory, &chat, &recognized));
  }
  const int stage_layers = model->end_layer() - model->first_layer();
  const int all_layers = model->config().num_hidden_layers;
  EngineOptions eo;
  // A pipeline stage holds its layers' share of the cache, for the same number of tokens.
  eo.kv_budget_bytes = (static_cast<int64_t>(d.llm.kv_cache_mb) << 20) * stage_layers / all_layers;
  eo.max_running = d.llm.max_running;
  eo.token_budget = d.llm.token_budget;
  if (d.llm.slo_steps) eo.tpot_slo_ms = d.slo.tpot_ms;
  eo.max_waiting = d.llm.max_waiting;
  if (chat_template_recognized != nullptr) *chat_template_recognized = recognized;
  EPARA_RETURN_IF_ERROR(LlmEngine::Create(std::move(model), std::move(tokenizer), eo, out));
  (*out)->set_chat_template(std::move(chat));
  return Status::Ok();
}

}  // namespace epara::llm
