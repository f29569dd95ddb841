#include "llm/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "llm/gguf_llama.h"
#include "llm/gguf_tokenizer.h"
#include "llm/sentencepiece.h"
#if EPARA_HAVE_ONIG
#include "llm/bpe_tokenizer.h"
#endif

namespace epara::llm {

std::vector<int32_t> ByteTokenizer::Encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (unsigned char c : text) ids.push_back(kOffset + c);
  return ids;
}

std::string ByteTokenizer::Piece(int32_t id) const {
  if (id < kOffset || id >= vocab_size()) return "";
  return std::string(1, static_cast<char>(id - kOffset));
}

Status LoadTokenizer(const std::string& model_dir, std::unique_ptr<Tokenizer>* out) {
  namespace fs = std::filesystem;
  if (const std::string gguf = FindGgufModel(model_dir); !gguf.empty()) {
    std::unique_ptr<formats::GgufFile> file;
    EPARA_RETURN_IF_ERROR(formats::GgufFile::Open(gguf, &file));
    return LoadGgufTokenizer(*file, out);
  }
  const fs::path spm = fs::path(model_dir) / "tokenizer.model";
  if (fs::exists(spm)) {
    std::unique_ptr<SentencePieceTokenizer> t;
    EPARA_RETURN_IF_ERROR(SentencePieceTokenizer::Load(spm.string(), &t));
    *out = std::move(t);
    return Status::Ok();
  }
  const fs::path hf = fs::path(model_dir) / "tokenizer.json";
  if (fs::exists(hf)) {
#if EPARA_HAVE_ONIG
    std::unique_ptr<BpeTokenizer> t;
    EPARA_RETURN_IF_ERROR(BpeTokenizer::Load(
        hf.string(), (fs::path(model_dir) / "tokenizer_config.json").string(), &t));
    *out = std::move(t);
    return Status::Ok();
#else
    return Status(StatusCode::kUnimplemented,
                  hf.string() +
                      ": this build has no tokenizer.json support (build with "
                      "libonig-dev installed)");
#endif
  }
  const fs::path p = fs::path(model_dir) / "epara_tokenizer.json";
  std::ifstream in(p);
  if (!in)
    return NotFound(model_dir +
                    ": no tokenizer (expected tokenizer.model, tokenizer.json or "
                    "epara_tokenizer.json)");
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("type", "") != "bytes")
    return InvalidArgument(p.string() + ": field 'type': only \"bytes\" is supported");
  *out = std::make_unique<ByteTokenizer>();
  return Status::Ok();
}

std::vector<int32_t> EncodeWithSpecialTokens(const Tokenizer& tokenizer, std::string_view text) {
  const auto& specials = tokenizer.SpecialTokens();
  std::vector<int32_t> ids;
  const auto flush = [&](std::string_view part) {
    if (part.empty()) return;
    for (int32_t id : tokenizer.Encode(part)) ids.push_back(id);
  };
  size_t begin = 0;
  for (size_t at = 0; at < text.size();) {
    const auto hit = std::find_if(specials.begin(), specials.end(), [&](const auto& s) {
      return text.substr(at).starts_with(s.first);
    });
    if (hit == specials.end()) {
      ++at;
      continue;
    }
    flush(text.substr(begin, at - begin));
    ids.push_back(hit->second);
    at += hit->first.size();
    begin = at;
  }
  flush(text.substr(begin));
  return ids;
}

size_t Utf8CharLength(std::string_view text, size_t at) {
  const unsigned char c = static_cast<unsigned char>(text[at]);
  const size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  return std::min(n, text.size() - at);
}

std::vector<int32_t> PromptIds(const Tokenizer& tokenizer, std::string_view text) {
  std::vector<int32_t> ids = EncodeWithSpecialTokens(tokenizer, text);
  const int32_t bos = tokenizer.bos_id();
  if (bos >= 0 && (ids.empty() || ids.front() != bos)) ids.insert(ids.begin(), bos);
  return ids;
}

namespace {

// Length of the UTF-8 sequence a lead byte starts; 0 if it cannot start one.
size_t SequenceLength(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}

}  // namespace

std::string Utf8Assembler::Push(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    const size_t len = SequenceLength(static_cast<unsigned char>(pending_[i]));
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (i + len > pending_.size()) break;  // wait for the rest
    bool valid = true;
    for (size_t k = 1; k < len; ++k)
      valid = valid && (static_cast<unsigned char>(pending_[i + k]) & 0xC0) == 0x80;
    if (!valid) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(pending_, i, len);
    i += len;
  }
  pending_.erase(0, i);
  return out;
}

std::string Utf8Assembler::Flush() {
  std::string out = pending_.empty() ? "" : "\xEF\xBF\xBD";
  pending_.clear();
  return out;
}

}  // namespace epara::llm
