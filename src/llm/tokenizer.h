// Tokenizers. A model folder provides one of (first found wins):
//   tokenizer.model        SentencePiece (BPE or unigram; llm/sentencepiece.h)
//   tokenizer.json         Hugging Face byte-level BPE (llm/bpe_tokenizer.h; Llama-3, SmolLM)
//   epara_tokenizer.json   {"type": "bytes"}: the byte-level tokenizer of the demo models
//                          (ids 0 <pad>, 1 <s>, 2 </s>, then 3 + byte)
// and optionally tokenizer_config.json with a chat template (llm/chat_template.h).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace epara::llm {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Text to ids, without BOS.
  virtual std::vector<int32_t> Encode(std::string_view text) const = 0;
  // The bytes of one token (empty for special tokens). Concatenating pieces gives the text, so
  // streaming can emit text as tokens arrive (see Utf8Assembler).
  virtual std::string Piece(int32_t id) const = 0;
  // The token prompts start with; -1 when the tokenizer adds none (GPT-2-style BPE).
  virtual int32_t bos_id() const = 0;
  // -1 when the tokenizer names none (the model's config.json may still list EOS ids).
  virtual int32_t eos_id() const = 0;
  virtual int vocab_size() const = 0;
  // Token strings recognized as one token in prompts (e.g. "<s>", "</s>") with their ids, longest
  // string first. Computed once, at load.
  virtual const std::vector<std::pair<std::string, int32_t>>& SpecialTokens() const {
    static const std::vector<std::pair<std::string, int32_t>> none;
    return none;
  }
};

// Encodes `text`, turning every occurrence of a special token's string into that token (longest
// match first, as Hugging Face tokenizers do with added tokens); the text between them is encoded
// with Encode(), each part on its own (so a SentencePiece model gives each part its dummy prefix,
// like Llama-family tokenizer.json files do).
std::vector<int32_t> EncodeWithSpecialTokens(const Tokenizer& tokenizer, std::string_view text);

// A prompt's ids: BOS (when the tokenizer has one and the text does not already start with it,
// as a chat template's text may) and then EncodeWithSpecialTokens(text).
std::vector<int32_t> PromptIds(const Tokenizer& tokenizer, std::string_view text);

class ByteTokenizer final : public Tokenizer {
 public:
  static constexpr int32_t kPad = 0, kBos = 1, kEos = 2, kOffset = 3;
  std::vector<int32_t> Encode(std::string_view text) const override;
  std::string Piece(int32_t id) const override;
  int32_t bos_id() const override { return kBos; }
  int32_t eos_id() const override { return kEos; }
  int vocab_size() const override { return 256 + kOffset; }
};

// Loads the tokenizer a model folder provides (see the top of this file). NotFound when it has
// none; InvalidArgument naming the file when it is malformed.
Status LoadTokenizer(const std::string& model_dir, std::unique_ptr<Tokenizer>* out);

// The byte length of the UTF-8 character starting at text[at] by its lead byte (1 for a byte that
// starts none), never past the end of `text`.
size_t Utf8CharLength(std::string_view text, size_t at);

// Accumulates token bytes and releases only complete UTF-8 characters, so a streamed delta never
// splits a multi-byte character. Invalid bytes are released as U+FFFD once they cannot start a
// valid sequence.
class Utf8Assembler {
 public:
  // Appends `bytes` and returns the text that is now complete.
  std::string Push(std::string_view bytes);
  // Returns whatever is left (an incomplete tail becomes U+FFFD).
  std::string Flush();

 private:
  std::string pending_;
};

}  // namespace epara::llm
