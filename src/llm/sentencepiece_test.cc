// Unit tests of the SentencePiece reader on hand-built models;
// tests/sentencepiece_reference_test.cc compares against libsentencepiece on trained ones.
#include "llm/sentencepiece.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "formats/protobuf_testing.h"

namespace epara::llm {
namespace {

using PieceType = SentencePieceModel::PieceType;

using formats::testing::Varint;
using formats::testing::VarintField;
const auto& Len = formats::testing::LenField;

struct P {
  std::string text;
  float score;
  PieceType type = PieceType::kNormal;
};

struct Spec {
  int model_type = 2;  // BPE
  bool byte_fallback = false;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  std::vector<P> pieces;
};

const std::string kSp = "\xE2\x96\x81";  // U+2581

std::string Serialize(const Spec& s) {
  std::string out;
  for (const P& p : s.pieces) {
    std::string score(4, '\0');
    std::memcpy(score.data(), &p.score, 4);
    out += Len(1, Len(1, p.text) + Varint((2 << 3) | 5) + score +
                      VarintField(3, static_cast<uint64_t>(p.type)));
  }
  std::string trainer = VarintField(3, s.model_type) + VarintField(35, s.byte_fallback) +
                        VarintField(40, 0) + VarintField(41, 1) + VarintField(42, 2) +
                        VarintField(43, static_cast<uint64_t>(int64_t{-1}));
  out += Len(2, trainer);
  out += Len(3, Len(1, "identity") + VarintField(3, s.add_dummy_prefix) +
                    VarintField(4, s.remove_extra_whitespaces) + VarintField(5, 1));
  return out;
}

// <unk> <s> </s>, optionally the 256 byte pieces, then `normal`.
Spec Base(std::vector<P> normal, bool bytes) {
  Spec s;
  s.byte_fallback = bytes;
  s.pieces = {{"<unk>", 0, PieceType::kUnknown},
              {"<s>", 0, PieceType::kControl},
              {"</s>", 0, PieceType::kControl}};
  if (bytes)
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      s.pieces.push_back({name, 0, PieceType::kByte});
    }
  for (auto& p : normal) s.pieces.push_back(p);
  return s;
}

std::unique_ptr<SentencePieceTokenizer> Make(const Spec& s) {
  SentencePieceModel m;
  Status st = ParseSentencePieceModel(Serialize(s), &m);
  EXPECT_TRUE(st.ok()) << st.ToString();
  std::unique_ptr<SentencePieceTokenizer> t;
  st = SentencePieceTokenizer::Create(std::move(m), &t);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return t;
}

// Ids as piece strings, for readable expectations.
std::vector<std::string> Pieces(const SentencePieceTokenizer& t, std::string_view text) {
  std::vector<std::string> out;
  for (int32_t id : t.Encode(text)) out.push_back(t.model().pieces[id].text);
  return out;
}

TEST(SentencePieceTest, ParsesSpecFields) {
  Spec s = Base({{kSp, -1}, {"a", -2}}, true);
  s.model_type = 1;
  s.add_dummy_prefix = false;
  auto t = Make(s);
  EXPECT_EQ(t->model().algorithm, SentencePieceModel::Algorithm::kUnigram);
  EXPECT_TRUE(t->model().byte_fallback);
  EXPECT_FALSE(t->model().add_dummy_prefix);
  EXPECT_EQ(t->model().pad_id, -1);
  EXPECT_EQ(t->vocab_size(), 3 + 256 + 2);
  EXPECT_EQ(t->model().pieces[3 + 256 + 1].score, -2.0f);
  EXPECT_EQ(t->bos_id(), 1);
  EXPECT_EQ(t->eos_id(), 2);
}

TEST(SentencePieceTest, BpeMergesHighestScoreFirst) {
  auto t = Make(Base({{kSp, 0},
                      {"a", 0},
                      {"b", 0},
                      {"c", 0},
                      {"ab", -1},
                      {"bc", -2},
                      {kSp + "a", -3},
                      {kSp + "ab", -4},
                      {"abc", -5}},
                     false));
  // ab (-1) beats bc (-2) and ▁a (-3); then ▁ab (-4) beats abc (-5); ▁abc is not a piece.
  EXPECT_EQ(Pieces(*t, "abc"), (std::vector<std::string>{kSp + "ab", "c"}));
}

TEST(SentencePieceTest, BpeTiesGoToTheLeftmostPair) {
  auto t = Make(Base({{kSp, 0}, {"x", 0}, {"y", 0}, {"xy", -1}, {"yx", -1}}, false));
  EXPECT_EQ(Pieces(*t, "xyx"), (std::vector<std::string>{kSp, "xy", "x"}));
}

TEST(SentencePieceTest, UnigramFindsTheBestSegmentationNotTheGreedyOne) {
  Spec s = Base({{kSp, -1},
                 {"a", -3},
                 {"b", -3},
                 {"c", -3},
                 {"d", -3},
                 {"abc", -1},
                 {"ab", -1},
                 {"cd", -1},
                 {"abcd", -9}},
                false);
  s.model_type = 1;
  auto t = Make(s);
  // Greedy longest match would take abc + d (-4); the best path is ab + cd (-2).
  EXPECT_EQ(Pieces(*t, "abcd"), (std::vector<std::string>{kSp, "ab", "cd"}));
}

TEST(SentencePieceTest, UnknownCharactersBecomeBytesOrUnk) {
  for (int model_type : {1, 2}) {
    Spec s = Base({{kSp, -1}, {"a", -1}}, true);
    s.model_type = model_type;
    auto with_bytes = Make(s);
    // "é" is C3 A9: not in the vocabulary, so two byte pieces.
    EXPECT_EQ(Pieces(*with_bytes, "a\xC3\xA9"),
              (std::vector<std::string>{kSp, "a", "<0xC3>", "<0xA9>"}))
        << "model_type " << model_type;
    Spec n = Base({{kSp, -1}, {"a", -1}}, false);
    n.model_type = model_type;
    auto no_bytes = Make(n);
    EXPECT_EQ(Pieces(*no_bytes, "a\xC3\xA9"), (std::vector<std::string>{kSp, "a", "<unk>"}))
        << "model_type " << model_type;
  }
}

TEST(SentencePieceTest, NormalizesWhitespaceLikeSentencePiece) {
  Spec s = Base({{kSp, -1}}, false);
  auto t = Make(s);
  EXPECT_EQ(t->Normalize("  a   b  "), kSp + "a" + kSp + "b");
  EXPECT_EQ(t->Normalize("   "), "");
  EXPECT_EQ(t->Normalize("a\tb\n"), kSp + "a\tb\n");        // only ' ' is whitespace here
  EXPECT_EQ(t->Normalize("a\xFF"), kSp + "a\xEF\xBF\xBD");  // malformed UTF-8 -> U+FFFD
  s.remove_extra_whitespaces = false;
  s.add_dummy_prefix = false;
  auto keep = Make(s);
  EXPECT_EQ(keep->Normalize(" a  b "), kSp + "a" + kSp + kSp + "b" + kSp);
}

TEST(SentencePieceTest, PiecesDecodeToText) {
  auto t = Make(Base({{kSp, -1}, {"a", -1}, {kSp + "hi", -1}}, true));
  std::string text;
  for (int32_t id : t->Encode("hi a\xC3\xA9")) text += t->Piece(id);
  EXPECT_EQ(text, " hi a\xC3\xA9");
  EXPECT_EQ(t->Piece(1), "");                // control
  EXPECT_EQ(t->Piece(99999), "");            // out of range
  EXPECT_EQ(t->Piece(0), " \xE2\x81\x87 ");  // unknown
}

TEST(SentencePieceTest, SpecialTokensAreRecognizedInPrompts) {
  auto t = Make(Base({{kSp, -1}, {"a", -1}, {"<", -1}, {"/", -1}, {"s", -1}, {">", -1}}, false));
  const auto specials = t->SpecialTokens();
  ASSERT_EQ(specials.size(), 3u);
  const auto ids = EncodeWithSpecialTokens(*t, "a</s><s>a");
  std::vector<std::string> pieces;
  for (int32_t id : ids) pieces.push_back(t->model().pieces[id].text);
  EXPECT_EQ(pieces, (std::vector<std::string>{kSp, "a", "</s>", "<s>", kSp, "a"}));
  // Plain Encode treats them as text.
  EXPECT_EQ(Pieces(*t, "</s>").size(), 5u);
}

TEST(SentencePieceTest, UserDefinedSymbolsStayWhole) {
  for (int model_type : {1, 2}) {
    Spec s =
        Base({{kSp, -1}, {"a", -1}, {"b", -1}, {"ab", -0.5}, {"<sep>", 0, PieceType::kUserDefined}},
             true);
    s.model_type = model_type;
    auto t = Make(s);
    EXPECT_EQ(Pieces(*t, "a<sep>b"), (std::vector<std::string>{kSp, "a", "<sep>", "b"}))
        << "model_type " << model_type;
  }
}

TEST(SentencePieceTest, MalformedModelsAreClearErrors) {
  const std::string good = Serialize(Base({{kSp, -1}}, false));
  SentencePieceModel m;
  Status s = ParseSentencePieceModel(good.substr(0, good.size() - 3), &m);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("at byte"), std::string::npos) << s.message();

  s = ParseSentencePieceModel("", &m);
  EXPECT_NE(s.message().find("no pieces"), std::string::npos) << s.message();

  Spec bad_unk = Base({{kSp, -1}}, false);
  bad_unk.pieces[0].type = PieceType::kNormal;
  s = ParseSentencePieceModel(Serialize(bad_unk), &m);
  EXPECT_NE(s.message().find("unk_id 0"), std::string::npos) << s.message();

  std::string bad_type = Len(1, Len(1, "x") + VarintField(3, 9));
  s = ParseSentencePieceModel(bad_type, &m);
  EXPECT_NE(s.message().find("piece type 9"), std::string::npos) << s.message();

  Spec missing_bytes = Base({{kSp, -1}}, false);
  missing_bytes.byte_fallback = true;
  ASSERT_TRUE(ParseSentencePieceModel(Serialize(missing_bytes), &m).ok());
  std::unique_ptr<SentencePieceTokenizer> t;
  s = SentencePieceTokenizer::Create(m, &t);
  EXPECT_NE(s.message().find("byte piece 0 is missing"), std::string::npos) << s.message();

  Spec word = Base({{kSp, -1}}, false);
  word.model_type = 3;
  ASSERT_TRUE(ParseSentencePieceModel(Serialize(word), &m).ok());
  EXPECT_EQ(SentencePieceTokenizer::Create(m, &t).code(), StatusCode::kUnimplemented);

  s = SentencePieceTokenizer::Load("/nonexistent/tokenizer.model", &t);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
}

TEST(SentencePieceTest, LoadTokenizerPrefersTokenizerModel) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("epara_spm_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer.model", std::ios::binary)
      << Serialize(Base({{kSp, -1}, {"a", -1}}, false));
  std::unique_ptr<Tokenizer> t;
  ASSERT_TRUE(LoadTokenizer(dir.string(), &t).ok());
  EXPECT_EQ(t->vocab_size(), 5);
  std::ofstream(dir / "tokenizer.model", std::ios::binary) << "\x0a\x7f";  // truncated
  Status s = LoadTokenizer(dir.string(), &t);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tokenizer.model"), std::string::npos) << s.message();
  fs::remove(dir / "tokenizer.model");
  s = LoadTokenizer(dir.string(), &t);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace epara::llm
