// Tokenizers. The byte-level tokenizer serves the demo models (ids 0 <pad>, 1 <s>, 2 </s>, then
// 3 + byte); a model folder selects it with `epara_tokenizer.json` ({"type": "bytes"}).
// SentencePiece (`tokenizer.model`) comes with the LLM serving issue.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
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
  virtual int32_t bos_id() const = 0;
  virtual int32_t eos_id() const = 0;
  virtual int vocab_size() const = 0;
};

class ByteTokenizer final : public Tokenizer {
 public:
  static constexpr int32_t kPad = 0, kBos = 1, kEos = 2, kOffset = 3;
  std::vector<int32_t> Encode(std::string_view text) const override;
  std::string Piece(int32_t id) const override;
  int32_t bos_id() const override { return kBos; }
  int32_t eos_id() const override { return kEos; }
  int vocab_size() const override { return 256 + kOffset; }
};

// Loads the tokenizer a model folder declares. NotFound when it declares none.
Status LoadTokenizer(const std::string& model_dir, std::unique_ptr<Tokenizer>* out);

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
