// Pre-tokenizers of Hugging Face `tokenizer.json` files: they cut text into the words that BPE
// then merges within. Supported (what byte-level BPE models such as Llama-3, SmolLM and GPT-2
// ship):
//   {"type": "Split", "pattern": {"Regex": R} | {"String": S}, "behavior": "Isolated",
//    "invert": false}
//   {"type": "ByteLevel", "add_prefix_space": B, "use_regex": B}   (GPT-2's pattern when
//    use_regex; the byte-to-character mapping itself is the BPE model's business)
//   {"type": "Digits", "individual_digits": B}
//   {"type": "Sequence", "pretokenizers": [...]}   (each one splits the pieces of the one before)
// Regexes run on Oniguruma, the engine the `tokenizers` library uses, so patterns with Unicode
// classes, case-insensitive groups and look-ahead (`\s+(?!\S)`) mean exactly what they mean there.
//
// Thread safety: Split may be called from any number of threads.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace epara::llm {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Appends the pieces of `text` to `out`, in order; concatenated, they are `text` (plus a leading
  // space where ByteLevel's add_prefix_space asks for one).
  virtual void Split(std::string_view text, std::vector<std::string>* out) const = 0;

  // Builds one from a `pre_tokenizer` object (null: no splitting). Errors are InvalidArgument
  // naming `origin` (the file) and the field, e.g.
  // "<origin>: field 'pre_tokenizer.pretokenizers[0].type': 'Metaspace' is not supported ...".
  static Status FromJson(const nlohmann::json& j, const std::string& origin,
                         std::unique_ptr<PreTokenizer>* out);
};

// GPT-2's word pattern, which ByteLevel applies when use_regex is set.
inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// The `pre_tokenizer` objects of GPT-2 (ByteLevel with its pattern) and Llama-3 (Split on
// kLlama3Pattern, then ByteLevel without a pattern), as their tokenizer.json files spell them: the
// pre-tokenizers GGUF files name "gpt2" and "llama-bpe".
nlohmann::json Gpt2PreTokenizerJson();
nlohmann::json Llama3PreTokenizerJson();

// Llama-3's word pattern (its tokenizer.json's Split regex; GGUF's "llama-bpe" pre-tokenizer).
inline constexpr std::string_view kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

}  // namespace epara::llm
