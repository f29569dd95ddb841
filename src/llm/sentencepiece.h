// SentencePiece tokenizers (`tokenizer.model`), read and run by epara itself: Debian's
// libsentencepiece cannot be loaded next to LibTorch (its embedded protobuf symbols collide at
// static init; docs/ARCHITECTURE.md). tests/sentencepiece_reference_test.cc checks this code
// against libsentencepiece, in a binary without LibTorch, on models it trains itself.
//
// Supported: model_type BPE and UNIGRAM; byte_fallback; user-defined symbols; the normalizer's
// add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces and treat_whitespace_as_suffix.
// Not applied: a precompiled normalization map (e.g. nmt_nfkc); Llama-family tokenizers use the
// identity normalizer; with a map, text is used as is and LoadTokenizer's caller is told
// (`model().has_normalization_map`) so it can warn.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "llm/tokenizer.h"

namespace epara::llm {

// The fields of sentencepiece.ModelProto that encoding and decoding need.
struct SentencePieceModel {
  enum class Algorithm { kUnigram = 1, kBpe = 2, kWord = 3, kChar = 4 };
  enum class PieceType {
    kNormal = 1,
    kUnknown = 2,
    kControl = 3,
    kUserDefined = 4,
    kUnused = 5,
    kByte = 6
  };
  struct Piece {
    std::string text;
    float score = 0;
    PieceType type = PieceType::kNormal;
  };
  std::vector<Piece> pieces;
  Algorithm algorithm = Algorithm::kUnigram;
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
  std::string normalizer_name;
  bool has_normalization_map = false;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

// Parses a serialized ModelProto. InvalidArgument (with the byte offset) on malformed protobuf,
// an empty vocabulary, unknown piece types, or an unk/bos/eos id outside the vocabulary.
Status ParseSentencePieceModel(std::string_view bytes, SentencePieceModel* out);

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // Unimplemented for model types WORD and CHAR.
  static Status Create(SentencePieceModel model, std::unique_ptr<SentencePieceTokenizer>* out);
  // Reads and parses `path` (errors name the file).
  static Status Load(const std::string& path, std::unique_ptr<SentencePieceTokenizer>* out);

  std::vector<int32_t> Encode(std::string_view text) const override;
  std::string Piece(int32_t id) const override;
  int32_t bos_id() const override { return model_.bos_id; }
  int32_t eos_id() const override { return model_.eos_id; }
  int vocab_size() const override { return static_cast<int>(model_.pieces.size()); }
  const std::vector<std::pair<std::string, int32_t>>& SpecialTokens() const override {
    return specials_;
  }

  // The normalized text the model segments (exposed for tests).
  std::string Normalize(std::string_view text) const;
  const SentencePieceModel& model() const { return model_; }

 private:
  SentencePieceTokenizer() = default;
  // Segments normalized text into (piece bytes, id); unknown pieces carry unk_id.
  void EncodeBpe(std::string_view normalized,
                 std::vector<std::pair<std::string_view, int32_t>>* out) const;
  void EncodeUnigram(std::string_view normalized,
                     std::vector<std::pair<std::string_view, int32_t>>* out) const;
  // Length of a user-defined symbol at the start of `s` (longest), or 0.
  size_t MatchUserDefined(std::string_view s) const;
  int32_t Lookup(std::string_view piece) const;  // vocabulary id or -1

  SentencePieceModel model_;
  // Looked up by string_view without building a string (segmentation probes many substrings).
  struct ViewHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using PieceIds = std::unordered_map<std::string, int32_t, ViewHash, std::equal_to<>>;
  PieceIds ids_;                                           // normal, user-defined, unused pieces
  PieceIds reserved_;                                      // control, unknown, byte pieces
  std::vector<std::pair<std::string, int32_t>> specials_;  // control + unknown, longest first
  std::vector<std::string> user_defined_;
  int32_t byte_ids_[256];
  size_t max_piece_bytes_ = 1;
  float min_score_ = 0, max_score_ = 0;
};

}  // namespace epara::llm
