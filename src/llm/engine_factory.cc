#include "llm/engine_factory.h"

#include "llm/chat_template.h"
#include "llm/llama_model.h"
#include "llm/tokenizer.h"

namespace epara::llm {

Status CreateEngineFromDescriptor(const ModelDescriptor& d, std::unique_ptr<LlmEngine>* out,
                                  bool* chat_template_recognized) {
  std::unique_ptr<LlamaModel> model;
  EPARA_RETURN_IF_ERROR(LlamaModel::Load(d.directory, {d.instances.device, d.llm.threads}, &model));
  std::unique_ptr<Tokenizer> tokenizer;
  EPARA_RETURN_IF_ERROR(LoadTokenizer(d.directory, &tokenizer));
  EngineOptions eo;
  eo.kv_budget_bytes = static_cast<int64_t>(d.llm.kv_cache_mb) << 20;
  eo.max_running = d.llm.max_running;
  eo.token_budget = d.llm.token_budget;
  eo.max_waiting = d.llm.max_waiting;
  ChatTemplate chat;
  bool recognized = true;
  EPARA_RETURN_IF_ERROR(LoadChatTemplate(d.directory, &chat, &recognized));
  if (chat_template_recognized != nullptr) *chat_template_recognized = recognized;
  EPARA_RETURN_IF_ERROR(LlmEngine::Create(std::move(model), std::move(tokenizer), eo, out));
  (*out)->set_chat_template(std::move(chat));
  return Status::Ok();
}

}  // namespace epara::llm
