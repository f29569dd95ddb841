// epara's SentencePiece reader (llm/sentencepiece.h) against the reference library, on models the
// reference trainer builds here (BPE and unigram, with and without byte fallback): the same ids for
// every test string, and the same text back. This binary links libsentencepiece but not LibTorch
// (the two cannot share a process; docs/ARCHITECTURE.md). Without libsentencepiece-dev the test
// skips and says so.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "llm/sentencepiece.h"

#ifdef EPARA_HAVE_SENTENCEPIECE
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#endif

namespace epara::llm {
namespace {

#ifdef EPARA_HAVE_SENTENCEPIECE

namespace fs = std::filesystem;

const std::vector<std::string> kWords = {
    "the",    "model",  "serves", "edge",   "cluster", "request", "latency", "token", "batch",
    "node",   "device", "GPU",    "memory", "quickly", "café",    "naïve",   "über",  "東京",
    "データ", "模型",   "🙂",   "don't",  "e-mail",  "3.14",    "2048",    "(x+y)", "a/b",
    "über-",  "ça",     "Straße", "résumé", "piñata",  "fjord",   "zebra",   "jumps", "lazy"};

// A deterministic corpus: sentences of the words above.
std::string Sentence(std::mt19937& rng, int words) {
  std::string s;
  for (int i = 0; i < words; ++i) {
    if (i) s += ' ';
    s += kWords[rng() % kWords.size()];
  }
  return s;
}

// Strings the models have not seen: unseen scripts, runs of spaces, leading/trailing spaces,
// tabs and newlines, punctuation, and the empty string.
std::vector<std::string> TestStrings() {
  std::mt19937 rng(7);
  std::vector<std::string> out = {"",
                                  " ",
                                  "  lead and trail  ",
                                  "a  b   c",
                                  "tab\there",
                                  "new\nline",
                                  "Ωμέγα ψ",
                                  "🙂🙂 x",
                                  "zzzz",
                                  "über-über",
                                  "東京データ模型",
                                  "x",
                                  "a<sep>b zebra<sep>"};
  const std::string extra[] = {"  ", " ", "\t", ",", ".", "Ω", "ж", "é", "!", "😀"};
  for (int i = 0; i < 150; ++i) {
    std::string s = Sentence(rng, 1 + static_cast<int>(rng() % 8));
    const size_t at = rng() % (s.size() + 1);
    s.insert(at, extra[rng() % std::size(extra)]);
    out.push_back(s);
  }
  return out;
}

struct Variant {
  std::string name;
  std::string flags;
};

void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

class SentencePieceReferenceTest : public ::testing::TestWithParam<Variant> {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("epara_spm_ref_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::mt19937 rng(1);
    std::ofstream corpus(dir_ / "corpus.txt");
    for (int i = 0; i < 3000; ++i)
      corpus << Sentence(rng, 3 + static_cast<int>(rng() % 12)) << "\n";
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static fs::path dir_;
};
fs::path SentencePieceReferenceTest::dir_;

TEST_P(SentencePieceReferenceTest, SameIdsAndTextAsLibsentencepiece) {
  const Variant& v = GetParam();
  const std::string prefix = (dir_ / v.name).string();
  const auto trained = sentencepiece::SentencePieceTrainer::Train(
      "--input=" + (dir_ / "corpus.txt").string() + " --model_prefix=" + prefix +
      " --normalization_rule_name=identity --num_threads=1 --minloglevel=2" +
      " --hard_vocab_limit=false " + v.flags);
  ASSERT_TRUE(trained.ok()) << trained.ToString();

  sentencepiece::SentencePieceProcessor reference;
  ASSERT_TRUE(reference.Load(prefix + ".model").ok());
  std::unique_ptr<SentencePieceTokenizer> ours;
  Status s = SentencePieceTokenizer::Load(prefix + ".model", &ours);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(ours->vocab_size(), reference.GetPieceSize());
  EXPECT_EQ(ours->bos_id(), reference.bos_id());
  EXPECT_EQ(ours->eos_id(), reference.eos_id());

  int compared = 0;
  for (const std::string& text : TestStrings()) {
    std::vector<int> want;
    ASSERT_TRUE(reference.Encode(text, &want).ok());
    const std::vector<int32_t> got = ours->Encode(text);
    ASSERT_EQ(std::vector<int>(got.begin(), got.end()), want) << v.name << ": '" << text << "'";
    // Decoding: the reference drops the dummy prefix's leading space; pieces keep it.
    std::string decoded, ours_text;
    ASSERT_TRUE(reference.Decode(want, &decoded).ok());
    for (int32_t id : got) ours_text += ours->Piece(id);
    if (ours->model().add_dummy_prefix && ours_text.starts_with(' ')) ours_text.erase(0, 1);
    EXPECT_EQ(ours_text, decoded) << v.name << ": '" << text << "'";
    ++compared;
  }
  EXPECT_GT(compared, 150);
}

INSTANTIATE_TEST_SUITE_P(
    Models, SentencePieceReferenceTest,
    ::testing::Values(
        Variant{"bpe_bytes", "--model_type=bpe --vocab_size=700 --byte_fallback=true"},
        Variant{"unigram_bytes", "--model_type=unigram --vocab_size=700 --byte_fallback=true"},
        Variant{"unigram_unk", "--model_type=unigram --vocab_size=400"},
        Variant{"bpe_keep_spaces_user_symbols",
                "--model_type=bpe --vocab_size=400 --remove_extra_whitespaces=false "
                "--user_defined_symbols=<sep>,zebra"}),
    [](const auto& info) { return info.param.name; });

#else

TEST(SentencePieceReferenceTest, SameIdsAndTextAsLibsentencepiece) {
  GTEST_SKIP() << "libsentencepiece-dev is not installed (scripts/setup.sh installs it); "
                  "the reference comparison needs it";
}

#endif

}  // namespace
}  // namespace epara::llm
