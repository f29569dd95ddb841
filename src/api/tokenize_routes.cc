#include "api/tokenize_routes.h"

#include <nlohmann/json.hpp>

#include "api/error_mapping.h"

namespace epara::api {
namespace {

using json = nlohmann::json;

// The request's LLM: "model" names it, or the only one served here. Returns false after writing
// the response (an error, or the answer of the peer the request was routed to).
bool FindLlm(const ServerContext& ctx, const json& j, const HttpRequest& req, HttpResponse* res,
             LlmUse* out) {
  std::string model;
  if (j.contains("model") && !j["model"].is_null()) {
    if (!j["model"].is_string()) {
      WriteOpenAiError(InvalidArgument("'model' must be a string"), res);
      return false;
    }
    model = j["model"].get<std::string>();
  } else if (const auto served = ctx.llms->List(); served.size() == 1) {
    model = served[0].name;
  } else {
    WriteOpenAiError(InvalidArgument("'model' is required: " + std::to_string(served.size()) +
                                     " LLMs are served here"),
                     res);
    return false;
  }
  *out = ctx.llms->Use(model, !req.Header(kForwardedHeader).empty());
  if (!*out) {
    if (Status routed; RoutedElsewhere(ctx, model, req, res, &routed)) {
      if (!routed.ok()) WriteOpenAiError(routed, res);
      return false;
    }
    WriteOpenAiError(NotFound("model '" + model + "' not found (not an LLM served here)"), res);
    return false;
  }
  return true;
}

bool ParseBody(const HttpRequest& req, HttpResponse* res, json* j) {
  *j = json::parse(req.body, nullptr, false);
  if (j->is_discarded() || !j->is_object()) {
    WriteOpenAiError(InvalidArgument("request body is not a JSON object"), res);
    return false;
  }
  return true;
}

void Tokenize(const ServerContext& ctx, const HttpRequest& req, HttpResponse* res) {
  json j;
  LlmUse engine;
  if (!ParseBody(req, res, &j) || !FindLlm(ctx, j, req, res, &engine)) return;
  const char* field = j.contains("content") ? "content" : "prompt";
  if (!j.contains(field) || !j[field].is_string())
    return WriteOpenAiError(InvalidArgument("'content' (or 'prompt') must be a string"), res);
  bool add_special = true;
  for (const char* key : {"add_special", "add_special_tokens"})
    if (j.contains(key)) {
      if (!j[key].is_boolean())
        return WriteOpenAiError(InvalidArgument(std::string("'") + key + "' must be a boolean"),
                                res);
      add_special = j[key].get<bool>();
    }
  const std::string text = j[field].get<std::string>();
  const std::vector<int32_t> ids = add_special
                                       ? llm::PromptIds(engine->tokenizer(), text)
                                       : llm::EncodeWithSpecialTokens(engine->tokenizer(), text);
  res->body = json{{"tokens", ids},
                   {"count", ids.size()},
                   {"max_model_len", engine->model().config().max_position_embeddings}}
                  .dump();
}

void Detokenize(const ServerContext& ctx, const HttpRequest& req, HttpResponse* res) {
  json j;
  LlmUse engine;
  if (!ParseBody(req, res, &j) || !FindLlm(ctx, j, req, res, &engine)) return;
  if (!j.contains("tokens") || !j["tokens"].is_array())
    return WriteOpenAiError(InvalidArgument("'tokens' must be an array of token ids"), res);
  const llm::Tokenizer& tok = engine->tokenizer();
  llm::Utf8Assembler text;
  std::string out;
  for (const auto& t : j["tokens"]) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= tok.vocab_size())
      return WriteOpenAiError(InvalidArgument("token " + t.dump() + " is not an id in [0, " +
                                              std::to_string(tok.vocab_size()) + ")"),
                              res);
    out += text.Push(tok.Piece(static_cast<int32_t>(t.get<int64_t>())));
  }
  out += text.Flush();
  res->body =
      json{{"content", out}, {"prompt", out}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

void AddTokenizeRoutes(HttpServer* http, const ServerContext* ctx) {
  http->Route("POST", "/tokenize",
              [ctx](const HttpRequest& req, HttpResponse* res) { Tokenize(*ctx, req, res); });
  http->Route("POST", "/detokenize",
              [ctx](const HttpRequest& req, HttpResponse* res) { Detokenize(*ctx, req, res); });
}

}  // namespace epara::api
