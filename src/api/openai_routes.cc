#include "api/openai_routes.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <nlohmann/json.hpp>
#include <span>

#include "api/error_mapping.h"
#include "api/stream_pipe.h"

namespace epara::api {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Choices per request ("n"): each is its own sequence in the engine, sampled with seed + index;
// the prompt runs once and the others start from a copy of its KV cache (LlmEngine::SubmitChoices).
constexpr int kMaxChoices = 16;

// Request parameters shared by both endpoints, validated with OpenAI's field names.
Status ParseCommon(const json& j, llm::GenerationRequest* r, bool* stream, bool* include_usage,
                   int* n) {
  auto bad = [](const std::string& m) { return InvalidArgument(m); };
  r->max_tokens = 16;
  if (j.contains("max_tokens") && !j["max_tokens"].is_null()) {
    if (!j["max_tokens"].is_number_integer()) return bad("'max_tokens' must be an integer");
    const int64_t v = j["max_tokens"].get<int64_t>();
    if (v < 1 || v > 1 << 20) return bad("'max_tokens' must be at least 1");
    r->max_tokens = static_cast<int>(v);
  }
  r->sampling.temperature = 1.0;
  if (j.contains("temperature") && !j["temperature"].is_null()) {
    if (!j["temperature"].is_number()) return bad("'temperature' must be a number");
    r->sampling.temperature = j["temperature"].get<double>();
    if (r->sampling.temperature < 0 || r->sampling.temperature > 2)
      return bad("'temperature' must be in [0, 2]");
  }
  if (j.contains("top_p") && !j["top_p"].is_null()) {
    if (!j["top_p"].is_number()) return bad("'top_p' must be a number");
    r->sampling.top_p = j["top_p"].get<double>();
    if (r->sampling.top_p <= 0 || r->sampling.top_p > 1) return bad("'top_p' must be in (0, 1]");
  }
  if (j.contains("top_k") && !j["top_k"].is_null()) {
    if (!j["top_k"].is_number_integer() || j["top_k"].get<int64_t>() < 0)
      return bad("'top_k' must be a non-negative integer");
    r->sampling.top_k = static_cast<int>(j["top_k"].get<int64_t>());
  }
  r->seed = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  if (j.contains("ignore_eos") && !j["ignore_eos"].is_null()) {
    if (!j["ignore_eos"].is_boolean()) return bad("'ignore_eos' must be a boolean");
    r->ignore_eos = j["ignore_eos"].get<bool>();
  }
  if (j.contains("seed") && !j["seed"].is_null()) {
    if (!j["seed"].is_number_integer()) return bad("'seed' must be an integer");
    r->seed = static_cast<uint64_t>(j["seed"].get<int64_t>());
  }
  if (j.contains("stop") && !j["stop"].is_null()) {
    if (j["stop"].is_string()) {
      r->stop.push_back(j["stop"].get<std::string>());
    } else if (j["stop"].is_array() && j["stop"].size() <= 4) {
      for (const auto& s : j["stop"]) {
        if (!s.is_string()) return bad("'stop' must be a string or up to 4 strings");
        r->stop.push_back(s.get<std::string>());
      }
    } else {
      return bad("'stop' must be a string or up to 4 strings");
    }
  }
  *n = 1;
  if (j.contains("n") && !j["n"].is_null()) {
    if (!j["n"].is_number_integer() || j["n"].get<int64_t>() < 1 ||
        j["n"].get<int64_t>() > kMaxChoices)
      return bad("'n' must be an integer from 1 to " + std::to_string(kMaxChoices));
    *n = static_cast<int>(j["n"].get<int64_t>());
  }
  *stream = false;
  if (j.contains("stream") && !j["stream"].is_null()) {
    if (!j["stream"].is_boolean()) return bad("'stream' must be a boolean");
    *stream = j["stream"].get<bool>();
  }
  *include_usage = j.contains("stream_options") && j["stream_options"].is_object() &&
                   j["stream_options"].value("include_usage", false);
  return Status::Ok();
}

// Fields OpenAI clients send that epara does not implement: InvalidArgument naming the field
// when its value asks for something (neutral values such as "echo": false pass).
Status RefuseUnsupported(const json& j, bool chat) {
  const auto given = [&](const char* k) { return j.contains(k) && !j[k].is_null(); };
  const auto refuse = [](const std::string& field) {
    return InvalidArgument("'" + field + "' is not supported by epara");
  };
  if (chat && given("echo") && !(j["echo"].is_boolean() && !j["echo"].get<bool>()))
    return refuse("echo");
  if (given("best_of") && !(j["best_of"].is_number_integer() && j["best_of"].get<int64_t>() == 1))
    return refuse("best_of");
  if (given("suffix") && !(j["suffix"].is_string() && j["suffix"].get<std::string>().empty()))
    return refuse("suffix");
  if (given("logit_bias") && !(j["logit_bias"].is_object() && j["logit_bias"].empty()))
    return refuse("logit_bias");
  for (const char* k : {"presence_penalty", "frequency_penalty"})
    if (given(k) && !(j[k].is_number() && j[k].get<double>() == 0)) return refuse(k);
  for (const char* k : {"tools", "functions"})
    if (given(k) && !(j[k].is_array() && j[k].empty())) return refuse(k);
  for (const char* k : {"tool_choice", "function_call"})
    if (given(k) && !(j[k].is_string() && j[k].get<std::string>() == "none")) return refuse(k);
  if (given("response_format") &&
      !(j["response_format"].is_object() && j["response_format"].value("type", "") == "text"))
    return refuse("response_format");
  return Status::Ok();
}

// The log-probability fields: completions' "logprobs": k (0-20) and "echo"; chat's
// "logprobs": true with "top_logprobs": k (0-20). `*k` -1 when none are asked for. Not echo with
// logprobs: InvalidArgument naming the field. Streamed, each chunk carries its tokens' entries.
Status ParseLogprobs(const json& j, bool chat, int* k, bool* echo) {
  const auto given = [&](const char* f) { return j.contains(f) && !j[f].is_null(); };
  const auto count = [&](const char* f, int* out) {
    if (!j[f].is_number_integer() || j[f].get<int64_t>() < 0 || j[f].get<int64_t>() > 20)
      return InvalidArgument("'" + std::string(f) + "' must be an integer from 0 to 20");
    *out = static_cast<int>(j[f].get<int64_t>());
    return Status::Ok();
  };
  *k = -1;
  *echo = false;
  if (chat) {
    if (given("logprobs")) {
      if (!j["logprobs"].is_boolean()) return InvalidArgument("'logprobs' must be a boolean");
      if (j["logprobs"].get<bool>()) *k = 0;
    }
    if (given("top_logprobs")) {
      int top = 0;
      EPARA_RETURN_IF_ERROR(count("top_logprobs", &top));
      if (*k < 0 && top > 0) return InvalidArgument("'top_logprobs' needs 'logprobs': true");
      if (*k >= 0) *k = top;
    }
  } else {
    if (given("logprobs")) EPARA_RETURN_IF_ERROR(count("logprobs", k));
    if (given("echo")) {
      if (!j["echo"].is_boolean()) return InvalidArgument("'echo' must be a boolean");
      *echo = j["echo"].get<bool>();
    }
    if (*echo && *k >= 0)
      return InvalidArgument(
          "'echo' with 'logprobs' (the prompt's log-probabilities) is not "
          "supported by epara");
  }
  return Status::Ok();
}

// The logprobs object of a choice, OpenAI's shape for chat ({"content": [...]}) or for completions
// ({"tokens", "token_logprobs", "top_logprobs", "text_offset"}; offsets count from
// `*text_offset`, which is advanced past these tokens' text).
// A token's text for JSON: itself when it is valid UTF-8, else "bytes:\xNN..." (OpenAI's
// spelling of a partial character), so distinct tokens keep distinct strings.
std::string TokenText(const std::string& piece) {
  llm::Utf8Assembler utf8;
  if (utf8.Push(piece) + utf8.Flush() == piece) return piece;
  std::string out = "bytes:";
  char hex[8];
  for (unsigned char c : piece) {
    std::snprintf(hex, sizeof(hex), "\\x%02x", c);
    out += hex;
  }
  return out;
}

json LogprobsJson(const llm::Tokenizer& tokenizer, std::span<const llm::TokenLogprob> lps,
                  bool chat, size_t* text_offset) {
  const auto bytes = [](const std::string& piece) {
    json b = json::array();
    for (unsigned char c : piece) b.push_back(static_cast<int>(c));
    return b;
  };
  if (chat) {
    json content = json::array();
    for (const llm::TokenLogprob& t : lps) {
      const std::string piece = tokenizer.Piece(t.token);
      json top = json::array();
      for (const auto& [id, lp] : t.top) {
        const std::string p = tokenizer.Piece(id);
        top.push_back({{"token", TokenText(p)}, {"logprob", lp}, {"bytes", bytes(p)}});
      }
      content.push_back({{"token", TokenText(piece)},
                         {"logprob", t.logprob},
                         {"bytes", bytes(piece)},
                         {"top_logprobs", top}});
    }
    return {{"content", content}, {"refusal", nullptr}};
  }
  json tokens = json::array(), token_logprobs = json::array(), top = json::array(),
       offsets = json::array();
  size_t& offset = *text_offset;
  for (const llm::TokenLogprob& t : lps) {
    const std::string piece = tokenizer.Piece(t.token);
    tokens.push_back(TokenText(piece));
    token_logprobs.push_back(t.logprob);
    // Keyed by text: tokens without text (special ones) share "", which keeps the likeliest.
    json alternatives = json::object();
    for (const auto& [id, lp] : t.top) {
      const std::string key = TokenText(tokenizer.Piece(id));
      if (!alternatives.contains(key)) alternatives[key] = lp;
    }
    top.push_back(alternatives);
    offsets.push_back(offset);
    offset += piece.size();
  }
  return {{"tokens", tokens},
          {"token_logprobs", token_logprobs},
          {"top_logprobs", top},
          {"text_offset", offsets}};
}

// A completion prompt given as token ids: [ids] or [[ids]] (one prompt). False when `p` is not
// of that shape; InvalidArgument (in *error) for ids outside the vocabulary.
bool PromptTokenIds(const json& p, int vocab, std::vector<int32_t>* ids, Status* error) {
  const json& list = p.is_array() && p.size() == 1 && p[0].is_array() ? p[0] : p;
  if (!list.is_array() || list.empty() || !list[0].is_number_integer()) return false;
  for (const auto& t : list) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= vocab) {
      *error = InvalidArgument("'prompt' token " + t.dump() + " is not an id in [0, " +
                               std::to_string(vocab) + ")");
      return true;
    }
    ids->push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  return true;
}

// A streamed generation of n choices: the engine thread pushes each delta's SSE event into the
// pipe and the last choice to finish closes it; the results are read by the connection thread once
// the pipe is closed.
struct StreamState {
  StreamState(int socket, int n) : pipe(socket), choices(static_cast<size_t>(n)), open(n) {}
  StreamPipe pipe;
  struct Choice {
    llm::GenerationResult result;  // written before the pipe closes, read after Serve() returns
    // With logprobs: the entries already streamed and the text offset of the next token.
    size_t logprobs_sent = 0, text_offset = 0;
    json last_logprobs;  // entries of tokens whose text was never sent (an EOS, a stop string)
  };
  std::vector<Choice> choices;
  std::atomic<int> open;  // choices still generating
};

// The prompt counted once, the completions of every choice summed (as OpenAI reports n > 1).
json Usage(std::span<const llm::GenerationResult* const> rs) {
  int completion = 0;
  for (const llm::GenerationResult* r : rs) completion += r->completion_tokens;
  const int prompt = rs.empty() ? 0 : rs[0]->prompt_tokens;
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion}};
}

void RecordLlm(const ServerContext& ctx, const std::string& model, const llm::GenerationResult& r) {
  if (const metrics::LlmMetrics* m = ctx.llms->Metrics(model)) {
    m->RecordRequest(r.finish_reason, r.prompt_tokens, r.completion_tokens, r.ttft_seconds,
                     r.total_seconds);
    ctx.llms->shapes().Record(model, r.prompt_tokens, r.completion_tokens);
  }
}

// A message's content: a string, or a list of parts of which only {"type": "text"} is accepted.
Status MessageText(const json& c, std::string* out) {
  if (c.is_string()) {
    *out = c.get<std::string>();
    return Status::Ok();
  }
  if (!c.is_array())
    return InvalidArgument("message 'content' must be a string or a list of parts");
  for (const auto& part : c) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
        !part["text"].is_string())
      return InvalidArgument(
          "only content parts of type 'text' (with a string 'text') are supported");
    *out += part["text"].get<std::string>();
  }
  return Status::Ok();
}

void Generate(const ServerContext& ctx, const HttpRequest& req, HttpResponse* res, bool chat) {
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return WriteOpenAiError(InvalidArgument("request body is not a JSON object"), res);
  if (!j.contains("model") || !j["model"].is_string())
    return WriteOpenAiError(InvalidArgument("'model' must be a string"), res);
  const std::string model = j["model"].get<std::string>();
  if (Status routed; RoutedElsewhere(ctx, model, req, res, &routed)) {
    if (!routed.ok()) WriteOpenAiError(routed, res);
    return;
  }
  // The request's hold on the engine: a run-time unload waits for it (a stream's until its end).
  // A forward a peer sent here was admitted before any unload began (NodeAgent::AdmitForward).
  Status missing;
  auto use = std::make_shared<LlmUse>(
      ctx.llms->Use(model, !req.Header(kForwardedHeader).empty(), &missing));
  if (!*use) return WriteOpenAiError(missing, res);
  llm::LlmEngine& engine = **use;
  std::string prompt;
  if (chat) {
    if (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty())
      return WriteOpenAiError(InvalidArgument("'messages' must be a non-empty array"), res);
    std::vector<llm::ChatMessage> messages;
    for (const auto& m : j["messages"]) {
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content"))
        return WriteOpenAiError(InvalidArgument("each message needs a string 'role' and 'content'"),
                                res);
      const std::string role = m["role"].get<std::string>();
      if (role != "system" && role != "user" && role != "assistant")
        return WriteOpenAiError(InvalidArgument("unknown role '" + role + "'"), res);
      std::string content;
      if (Status s = MessageText(m["content"], &content); !s.ok()) return WriteOpenAiError(s, res);
      messages.push_back({role, std::move(content)});
    }
    prompt = llm::RenderChat(engine.chat_template(), messages);
  }
  std::vector<int32_t> prompt_ids;  // a completion prompt given as token ids
  if (!chat) {
    Status id_error;
    if (j.contains("prompt") && j["prompt"].is_array() && j["prompt"].size() == 1 &&
        j["prompt"][0].is_string())
      prompt = j["prompt"][0].get<std::string>();
    else if (j.contains("prompt") && j["prompt"].is_string())
      prompt = j["prompt"].get<std::string>();
    else if (!j.contains("prompt") ||
             !PromptTokenIds(j["prompt"], engine.tokenizer().vocab_size(), &prompt_ids, &id_error))
      return WriteOpenAiError(
          InvalidArgument("'prompt' must be a string or a list of token ids (one prompt)"), res);
    if (!id_error.ok()) return WriteOpenAiError(id_error, res);
  }
  if (Status s = RefuseUnsupported(j, chat); !s.ok()) return WriteOpenAiError(s, res);
  llm::GenerationRequest gen;
  bool stream = false, include_usage = false;
  int n = 1;
  if (Status s = ParseCommon(j, &gen, &stream, &include_usage, &n); !s.ok())
    return WriteOpenAiError(s, res);
  gen.prompt = prompt_ids.empty() ? llm::PromptIds(engine.tokenizer(), prompt) : prompt_ids;
  // The client's deadline: a request still queued then is dropped unrun (llm_engine.h).
  if (const std::string d = req.Header("X-Epara-Deadline-Ms"); !d.empty()) {
    char* end = nullptr;
    const double ms = std::strtod(d.c_str(), &end);
    if (end == d.c_str() || *end != '\0' || !(ms > 0) || ms > 864e5)
      return WriteOpenAiError(InvalidArgument("X-Epara-Deadline-Ms must be a positive number of "
                                              "milliseconds, at most a day; got '" +
                                              d + "'"),
                              res);
    gen.deadline = std::chrono::steady_clock::now() +
                   std::chrono::microseconds(static_cast<int64_t>(ms * 1000));
  }
  bool echo = false;
  if (Status s = ParseLogprobs(j, chat, &gen.logprobs, &echo); !s.ok())
    return WriteOpenAiError(s, res);
  std::string echoed;  // the prompt's text, which "echo" puts before the completion
  if (echo) {
    if (prompt_ids.empty()) {
      echoed = prompt;
    } else {
      llm::Utf8Assembler utf8;
      for (int32_t t : prompt_ids) echoed += utf8.Push(engine.tokenizer().Piece(t));
      echoed += utf8.Flush();
    }
  }

  static std::atomic<uint64_t> counter{0};
  const std::string id = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(++counter);
  const int64_t created = UnixNow();
  const char* object = chat ? "chat.completion" : "text_completion";

  const int gen_logprobs = gen.logprobs;
  // One engine sequence per choice, with seed + index; the engine runs their prompt once.
  std::vector<llm::GenerationRequest> gens(static_cast<size_t>(n), gen);
  for (int i = 0; i < n; ++i) gens[i].seed = gen.seed + static_cast<uint64_t>(i);
  if (!stream) {
    std::vector<std::future<llm::GenerationResult>> futures;
    std::vector<std::function<void(llm::GenerationResult)>> dones;
    for (int i = 0; i < n; ++i) {
      auto done = std::make_shared<std::promise<llm::GenerationResult>>();
      futures.push_back(done->get_future());
      dones.push_back([done](llm::GenerationResult r) { done->set_value(std::move(r)); });
    }
    if (Status s = engine.SubmitChoices(std::move(gens), std::move(dones)); !s.ok())
      return WriteOpenAiError(s, res);
    std::vector<llm::GenerationResult> results;
    for (auto& f : futures) {
      results.push_back(f.get());
      RecordLlm(ctx, model, results.back());
    }
    json choices = json::array();
    std::vector<const llm::GenerationResult*> all;
    for (size_t i = 0; i < results.size(); ++i) {
      const llm::GenerationResult& r = results[i];
      if (!r.status.ok()) return WriteOpenAiError(r.status, res);
      all.push_back(&r);
      json choice = {{"index", i}, {"finish_reason", r.finish_reason}};
      size_t offset = 0;
      choice["logprobs"] = gen_logprobs >= 0
                               ? LogprobsJson(engine.tokenizer(), r.logprobs, chat, &offset)
                               : json(nullptr);
      if (chat)
        choice["message"] = {{"role", "assistant"}, {"content", r.text}};
      else
        choice["text"] = echoed + r.text;
      choices.push_back(std::move(choice));
    }
    res->body = json{{"id", id},       {"object", object},   {"created", created},
                     {"model", model}, {"choices", choices}, {"usage", Usage(all)}}
                    .dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }

  const std::string chunk_object = chat ? "chat.completion.chunk" : "text_completion";
  auto event = [id, created, model, chunk_object](const json& choice, const json* usage) {
    json e = {{"id", id},
              {"object", chunk_object},
              {"created", created},
              {"model", model},
              {"choices", choice.is_null() ? json::array() : json::array({choice})}};
    if (usage) e["usage"] = *usage;
    return "data: " + e.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
  };
  auto delta_choice = [chat](int index, const std::string& text, const json& finish) {
    json c = {{"index", index}, {"finish_reason", finish}};
    if (chat)
      c["delta"] =
          text.empty() && finish.is_null() ? json{{"role", "assistant"}} : json{{"content", text}};
    else
      c["text"] = text;
    return c;
  };
  auto st = std::make_shared<StreamState>(req.socket ? req.socket() : -1, n);
  res->progress = std::make_shared<StreamProgress>();  // tokens, whichever way they leave
  // Each chunk's log-probabilities, for the choice's tokens sampled since its previous chunk (on
  // the engine thread, where the tokenizer is alive).
  const auto logprobs_of = [&tokenizer = engine.tokenizer(), chat](
                               StreamState::Choice* c, std::span<const llm::TokenLogprob> lps) {
    c->logprobs_sent += lps.size();
    return LogprobsJson(tokenizer, lps, chat, &c->text_offset);
  };
  for (int i = 0; i < n; ++i) {
    StreamState::Choice* c = &st->choices[i];
    c->text_offset = echoed.size();
    // The chat role event goes first; queued until the connection thread has sent the headers.
    if (chat) st->pipe.Push(event(delta_choice(i, "", nullptr), nullptr));
    // A stream whose client hangs up while it still waits is dropped unrun.
    gens[i].still_wanted = [st] { return st->pipe.ClientPresent(); };
    if (!echoed.empty()) st->pipe.Push(event(delta_choice(i, echoed, nullptr), nullptr));
    if (gen_logprobs >= 0) {
      gens[i].on_delta = [st, c, i, event, delta_choice, logprobs_of, progress = res->progress](
                             const std::string& delta, std::span<const llm::TokenLogprob> lps) {
        json choice = delta_choice(i, delta, nullptr);
        choice["logprobs"] = logprobs_of(c, lps);
        const bool open = st->pipe.Push(event(choice, nullptr));
        progress->Sent(std::max<int64_t>(1, static_cast<int64_t>(lps.size())));
        return open;
      };
    } else {
      // Every delta event is the same JSON but for its text: format it once and splice each
      // delta's JSON string in, instead of building and dumping a JSON object per token.
      const std::string placeholder = "\x01epara-delta\x01";
      const std::string quoted = json(placeholder).dump();  // as it appears in the event
      const std::string templ = event(delta_choice(i, placeholder, nullptr), nullptr);
      const size_t at = templ.find(quoted);
      gens[i].on_delta = [st, prefix = templ.substr(0, at),
                          suffix = templ.substr(at + quoted.size()),
                          progress = res->progress](const std::string& delta, auto) {
        // false (client gone) cancels the sequence
        const bool open = st->pipe.Push(
            prefix + json(delta).dump(-1, ' ', false, json::error_handler_t::replace) + suffix);
        progress->Sent();
        return open;
      };
    }
  }
  std::vector<std::function<void(llm::GenerationResult)>> dones;
  for (int i = 0; i < n; ++i) {
    StreamState::Choice* c = &st->choices[i];
    dones.push_back([st, c, logprobs_of, gen_logprobs](llm::GenerationResult r) {
      if (gen_logprobs >= 0)
        c->last_logprobs =
            logprobs_of(c, std::span<const llm::TokenLogprob>(r.logprobs)
                               .subspan(std::min(c->logprobs_sent, r.logprobs.size())));
      c->result = std::move(r);
      if (--st->open == 0) st->pipe.Close();
    });
  }
  if (Status s = engine.SubmitChoices(std::move(gens), std::move(dones)); !s.ok())
    return WriteOpenAiError(s, res);
  res->content_type = "text/event-stream";
  res->headers.emplace_back("Cache-Control", "no-cache");
  res->stream = [st, event, delta_choice, include_usage, model, &ctx, gen_logprobs, use,
                 progress = res->progress](const ChunkWriter& write) {
    const bool ok = st->pipe.Serve(write);
    std::vector<const llm::GenerationResult*> all;
    int64_t tokens = 0;
    for (const StreamState::Choice& c : st->choices) {
      all.push_back(&c.result);
      RecordLlm(ctx, model, c.result);
      tokens += c.result.completion_tokens;
    }
    // The tokens themselves: a delta may carry several (text held back, then released).
    if (tokens > 0) progress->units.store(tokens);
    if (!ok) return;
    // An engine error (a pipeline stage died) ends the stream with an error event, then [DONE].
    std::string tail;
    for (const StreamState::Choice& c : st->choices)
      if (!c.result.status.ok()) {
        tail = "data: " +
               ErrorBody(HttpStatusFor(c.result.status.code()),
                         StatusCodeName(c.result.status.code()), c.result.status.message()) +
               "\n\n";
        break;
      }
    if (tail.empty()) {
      for (size_t i = 0; i < st->choices.size(); ++i) {
        json last = delta_choice(static_cast<int>(i), "", st->choices[i].result.finish_reason);
        if (gen_logprobs >= 0) last["logprobs"] = st->choices[i].last_logprobs;
        tail += event(last, nullptr);
      }
      if (include_usage) {
        const json usage = Usage(all);
        tail += event(json(), &usage);
      }
    }
    write(tail + "data: [DONE]\n\n");
  };
}

}  // namespace

void AddOpenAiRoutes(HttpServer* http, const ServerContext* ctx) {
  http->Route("GET", "/v1/models", [ctx](const HttpRequest&, HttpResponse* res) {
    json data = json::array();
    for (const LlmRegistry::Info& i : ctx->llms->List())
      data.push_back({{"id", i.name}, {"object", "model"}, {"created", 0}, {"owned_by", "epara"}});
    for (const engine::ServedModel* m : ctx->models->List())
      data.push_back(
          {{"id", m->descriptor.name}, {"object", "model"}, {"created", 0}, {"owned_by", "epara"}});
    if (ctx->remote_models)
      for (const std::string& name : ctx->remote_models())
        data.push_back({{"id", name}, {"object", "model"}, {"created", 0}, {"owned_by", "epara"}});
    res->body = json{{"object", "list"}, {"data", data}}.dump();
  });
  http->Route("POST", "/v1/completions", [ctx](const HttpRequest& req, HttpResponse* res) {
    Generate(*ctx, req, res, false);
  });
  http->Route("POST", "/v1/chat/completions",
              [ctx](const HttpRequest& req, HttpResponse* res) { Generate(*ctx, req, res, true); });
}

}  // namespace epara::api
