// OpenAI-compatible API for the LLM models:
//   GET  /v1/models
//   POST /v1/completions          {model, prompt, max_tokens, temperature, top_p, top_k, seed,
//   stop, stream} POST /v1/chat/completions     {model, messages: [{role, content}], ...same...}
// Streaming (stream: true) sends server-sent events ending in `data: [DONE]`. A client that goes
// away mid-stream cancels its sequence, which frees its KV cache.
//
// Chat messages become a prompt through the model's chat template (llm/chat_template.h).
#pragma once

#include "api/http_server.h"
#include "api/server_context.h"

namespace epara::api {

void AddOpenAiRoutes(HttpServer* http, const ServerContext* ctx);

}  // namespace epara::api
