// Tokenizer endpoints for the LLM models, in the shapes llama.cpp's server and vLLM use:
//   POST /tokenize   {"model"?, "content" | "prompt": str, "add_special"?: bool}
//                    -> {"tokens": [ids], "count": n, "max_model_len": context}
//   POST /detokenize {"model"?, "tokens": [ids]} -> {"content": str, "prompt": str}
// "model" may be left out when one LLM is served here. add_special (default true, as vLLM's
// add_special_tokens) puts the model's BOS first, as a completion prompt gets it. Errors are
// OpenAI-style JSON bodies: unknown model 404, bad fields and out-of-vocabulary ids 400.
#pragma once

#include "api/http_server.h"
#include "api/server_context.h"

namespace epara::api {

void AddTokenizeRoutes(HttpServer* http, const ServerContext* ctx);

}  // namespace epara::api
