#include "llm/gguf_tokenizer.h"

#include <nlohmann/json.hpp>

#include "llm/sentencepiece.h"
#if EPARA_HAVE_ONIG
#include "llm/bpe_tokenizer.h"
#endif

namespace epara::llm {
namespace {

// A token id key: absent -> `fallback`; present and outside [0, vocab) -> error.
Status TokenId(const formats::GgufFile& f, const std::string& key, int64_t vocab, int32_t fallback,
               int32_t* out) {
  uint64_t v = 0;
  const Status s = f.GetUint(key, &v);
  if (s.code() == StatusCode::kNotFound) {
    *out = fallback;
    return Status::Ok();
  }
  EPARA_RETURN_IF_ERROR(s);
  if (v >= static_cast<uint64_t>(vocab))
    return InvalidArgument(f.path() + ": '" + key + "' (" + std::to_string(v) +
                           ") is outside the vocabulary of " + std::to_string(vocab));
  *out = static_cast<int32_t>(v);
  return Status::Ok();
}

Status OptionalBool(const formats::GgufFile& f, const std::string& key, bool* out) {
  const auto it = f.metadata().find(key);
  if (it == f.metadata().end()) return Status::Ok();
  const auto* b = std::get_if<bool>(&it->second.scalar);
  if (b == nullptr || it->second.type == 9)
    return InvalidArgument(f.path() + ": '" + key + "' is not a bool");
  *out = *b;
  return Status::Ok();
}

}  // namespace

Status LoadGgufTokenizer(const formats::GgufFile& f, std::unique_ptr<Tokenizer>* out) {
  std::string model;
  EPARA_RETURN_IF_ERROR(f.GetString("tokenizer.ggml.model", &model));
  std::vector<std::string> tokens;
  EPARA_RETURN_IF_ERROR(f.GetStringArray("tokenizer.ggml.tokens", &tokens));
  const auto vocab = static_cast<int64_t>(tokens.size());
  if (vocab == 0) return InvalidArgument(f.path() + ": 'tokenizer.ggml.tokens' is empty");
  std::vector<int64_t> types;
  if (Status s = f.GetIntArray("tokenizer.ggml.token_type", &types); !s.ok()) {
    if (s.code() != StatusCode::kNotFound) return s;
    types.assign(tokens.size(), 1);
  }
  if (types.size() != tokens.size())
    return InvalidArgument(f.path() + ": 'tokenizer.ggml.token_type' has " +
                           std::to_string(types.size()) + " entries for " + std::to_string(vocab) +
                           " tokens");
  for (size_t i = 0; i < types.size(); ++i)
    if (types[i] < 1 || types[i] > 6)
      return InvalidArgument(f.path() + ": 'tokenizer.ggml.token_type'[" + std::to_string(i) +
                             "] is " + std::to_string(types[i]) + " (expected 1-6)");
  int32_t bos = -1, eos = -1, unk = -1, pad = -1;
  EPARA_RETURN_IF_ERROR(TokenId(f, "tokenizer.ggml.bos_token_id", vocab, -1, &bos));
  EPARA_RETURN_IF_ERROR(TokenId(f, "tokenizer.ggml.eos_token_id", vocab, -1, &eos));
  EPARA_RETURN_IF_ERROR(TokenId(f, "tokenizer.ggml.unknown_token_id", vocab, -1, &unk));
  EPARA_RETURN_IF_ERROR(TokenId(f, "tokenizer.ggml.padding_token_id", vocab, -1, &pad));
  bool add_bos = model == "llama";
  EPARA_RETURN_IF_ERROR(OptionalBool(f, "tokenizer.ggml.add_bos_token", &add_bos));
  if (!add_bos) bos = -1;

  if (model == "llama") {
    std::vector<float> scores;
    if (Status s = f.GetFloatArray("tokenizer.ggml.scores", &scores); !s.ok()) {
      if (s.code() != StatusCode::kNotFound) return s;
      scores.assign(tokens.size(), 0.0f);
    }
    if (scores.size() != tokens.size())
      return InvalidArgument(f.path() + ": 'tokenizer.ggml.scores' has " +
                             std::to_string(scores.size()) + " entries for " +
                             std::to_string(vocab) + " tokens");
    SentencePieceModel m;
    m.algorithm = SentencePieceModel::Algorithm::kBpe;
    m.remove_extra_whitespaces = false;
    EPARA_RETURN_IF_ERROR(OptionalBool(f, "tokenizer.ggml.add_space_prefix", &m.add_dummy_prefix));
    for (size_t i = 0; i < tokens.size(); ++i) {
      const auto type = static_cast<SentencePieceModel::PieceType>(types[i]);
      m.pieces.push_back({tokens[i], scores[i], type});
      if (type == SentencePieceModel::PieceType::kByte) m.byte_fallback = true;
    }
    m.unk_id = unk >= 0 ? unk : 0;
    m.bos_id = bos;
    m.eos_id = eos;
    m.pad_id = pad;
    std::unique_ptr<SentencePieceTokenizer> t;
    const Status s = SentencePieceTokenizer::Create(std::move(m), &t);
    if (!s.ok()) return InvalidArgument(f.path() + ": tokenizer: " + s.message());
    *out = std::move(t);
    return Status::Ok();
  }
  if (model == "gpt2") {
#if EPARA_HAVE_ONIG
    std::vector<std::string> merges;
    EPARA_RETURN_IF_ERROR(f.GetStringArray("tokenizer.ggml.merges", &merges));
    std::string pre = "default";
    if (Status s = f.GetString("tokenizer.ggml.pre", &pre);
        !s.ok() && s.code() != StatusCode::kNotFound)
      return s;
    nlohmann::json j;
    if (pre == "default" || pre == "gpt2") {
      j["pre_tokenizer"] = Gpt2PreTokenizerJson();
    } else if (pre == "llama-bpe" || pre == "llama3") {
      j["pre_tokenizer"] = Llama3PreTokenizerJson();
    } else {
      return InvalidArgument(f.path() + ": 'tokenizer.ggml.pre' '" + pre +
                             "' is not supported (default, gpt2, llama-bpe, llama3)");
    }
    nlohmann::json vocab_json = nlohmann::json::object();
    nlohmann::json added = nlohmann::json::array();
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (types[i] == 3 || types[i] == 4)
        added.push_back({{"id", i}, {"content", tokens[i]}, {"special", types[i] == 3}});
      else
        vocab_json[tokens[i]] = i;
    }
    j["model"] = {{"type", "BPE"}, {"vocab", vocab_json}, {"merges", merges}};
    j["added_tokens"] = added;
    if (bos >= 0)
      j["post_processor"] = {{"type", "TemplateProcessing"},
                             {"single", {{{"SpecialToken", {{"id", tokens[bos]}}}}}}};
    nlohmann::json config = nlohmann::json::object();
    if (eos >= 0) config["eos_token"] = tokens[eos];
    std::unique_ptr<BpeTokenizer> t;
    EPARA_RETURN_IF_ERROR(BpeTokenizer::FromJson(j, config, f.path() + " (tokenizer)", &t));
    *out = std::move(t);
    return Status::Ok();
#else
    return Status(StatusCode::kUnimplemented,
                  f.path() + ": this build has no byte-level BPE support (build with libonig-dev)");
#endif
  }
  return InvalidArgument(f.path() + ": 'tokenizer.ggml.model' '" + model +
                         "' is not supported (llama, gpt2)");
}

Status LoadGgufChatTemplate(const formats::GgufFile& f, ChatTemplate* out, bool* recognized) {
  *out = ChatTemplate{};
  *recognized = true;
  std::string jinja;
  if (Status s = f.GetString("tokenizer.chat_template", &jinja); !s.ok())
    return s.code() == StatusCode::kNotFound ? Status::Ok() : s;
  out->format = DetectChatFormat(jinja);
  *recognized = out->format != ChatFormat::kEpara;
  // The BOS / EOS token strings, read in place (the vocabulary is not copied for two entries).
  const auto tokens = f.metadata().find("tokenizer.ggml.tokens");
  const auto token = [&](const char* key, std::string* text) {
    uint64_t id = 0;
    if (tokens == f.metadata().end() || !f.GetUint(key, &id).ok() ||
        id >= tokens->second.array.size())
      return;
    if (const auto* s = std::get_if<std::string>(&tokens->second.array[id])) *text = *s;
  };
  token("tokenizer.ggml.bos_token_id", &out->bos_text);
  token("tokenizer.ggml.eos_token_id", &out->eos_text);
  return Status::Ok();
}

}  // namespace epara::llm
