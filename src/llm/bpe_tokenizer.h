// Byte-level BPE tokenizers from Hugging Face `tokenizer.json` (Llama-3, SmolLM, GPT-2 and
// Qwen-style models, which ship no SentencePiece `tokenizer.model`).
//
// Read from tokenizer.json:
//   model            {"type": "BPE", "vocab": {token: id}, "merges": ["a b", ...] or [["a","b"],
//                    ...], "ignore_merges": B, "unk_token": S|null}; tokens are byte-level
//                    strings (GPT-2's mapping of the 256 bytes to printable characters)
//   pre_tokenizer    see llm/pre_tokenizer.h
//   normalizer       must be null (NFC and others are refused, not silently skipped)
//   added_tokens     [{"id", "content", "special"}]: matched whole in prompts
//   post_processor   TemplateProcessing (alone or in a Sequence): a special token before the
//                    sequence in "single" is the BOS the server prepends; none: no BOS
// and from tokenizer_config.json (optional): "eos_token" (a string or {"content": ...}).
//
// Encoding a word: with ignore_merges, a word that is a whole vocabulary token is that token;
// otherwise its byte-level characters are merged pair by pair, always the pair of lowest merge
// rank (leftmost on ties), as the `tokenizers` library does.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "llm/pre_tokenizer.h"
#include "llm/tokenizer.h"

namespace epara::llm {

class BpeTokenizer final : public Tokenizer {
 public:
  // `config_path` may name a missing file. Errors: InvalidArgument naming the file and field.
  static Status Load(const std::string& path, const std::string& config_path,
                     std::unique_ptr<BpeTokenizer>* out);
  // The same from parsed documents (`config`: tokenizer_config.json's, or null); errors name
  // `origin`. GGUF files' byte-level BPE vocabularies arrive here (llm/gguf_tokenizer.h).
  static Status FromJson(const nlohmann::json& j, const nlohmann::json& config,
                         const std::string& origin, std::unique_ptr<BpeTokenizer>* out);

  std::vector<int32_t> Encode(std::string_view text) const override;
  std::string Piece(int32_t id) const override;
  int32_t bos_id() const override { return bos_; }
  int32_t eos_id() const override { return eos_; }
  int vocab_size() const override { return static_cast<int>(pieces_.size()); }
  const std::vector<std::pair<std::string, int32_t>>& SpecialTokens() const override {
    return added_;
  }

  // The words Encode merges within (raw bytes, before the byte-level mapping).
  std::vector<std::string> PreTokenize(std::string_view text) const;

 private:
  // Appends the ids of one pre-tokenized word (raw bytes).
  void EncodeWord(const std::string& raw, std::vector<int32_t>* ids) const;

  std::unique_ptr<PreTokenizer> pre_;
  std::unordered_map<std::string, int32_t> vocab_;  // byte-level token -> id
  std::unordered_map<std::string, int> ranks_;      // "left right" -> merge rank
  std::vector<std::string> pieces_;                 // id -> bytes ("" for special tokens)
  std::vector<std::pair<std::string, int32_t>> added_;
  bool ignore_merges_ = false;
  int32_t unk_ = -1, bos_ = -1, eos_ = -1;
};

// GPT-2's byte-to-character mapping: the UTF-8 of the character that stands for byte `b`.
const std::string& ByteLevelChar(unsigned char b);

}  // namespace epara::llm
