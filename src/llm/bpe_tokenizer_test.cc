#include "llm/bpe_tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

namespace epara::llm {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A folder of its own per test.
fs::path FreshDir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("epara_bpe_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// The 256 byte characters as ids 0-255 (byte order) and the merges given, each merge's result
// taking the next id.
json ByteLevelModel(const std::vector<std::pair<std::string, std::string>>& merges) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[ByteLevelChar(static_cast<unsigned char>(b))] = b;
  json m = json::array();
  int next = 256;
  for (const auto& [l, r] : merges) {
    m.push_back(l + " " + r);
    if (!vocab.contains(l + r)) vocab[l + r] = next++;
  }
  return {{"type", "BPE"}, {"vocab", vocab}, {"merges", m}, {"ignore_merges", false}};
}

json Gpt2PreTokenizer() { return Gpt2PreTokenizerJson(); }
json Llama3PreTokenizer() { return Llama3PreTokenizerJson(); }

Status LoadFrom(const fs::path& dir, const json& tokenizer, const json* config,
                std::unique_ptr<BpeTokenizer>* out) {
  std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
  if (config) std::ofstream(dir / "tokenizer_config.json") << config->dump();
  return BpeTokenizer::Load((dir / "tokenizer.json").string(),
                            (dir / "tokenizer_config.json").string(), out);
}

std::unique_ptr<BpeTokenizer> MustLoad(const std::string& name, const json& tokenizer,
                                       const json* config = nullptr) {
  std::unique_ptr<BpeTokenizer> t;
  const Status s = LoadFrom(FreshDir(name), tokenizer, config, &t);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return t;
}

std::string Decode(const Tokenizer& t, const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) out += t.Piece(id);
  return out;
}

const std::string kG = ByteLevelChar(' ');  // "Ġ"

TEST(BpeTokenizerTest, ByteLevelMappingCoversEveryByteOnce) {
  std::set<std::string> seen;
  for (int b = 0; b < 256; ++b) seen.insert(ByteLevelChar(static_cast<unsigned char>(b)));
  EXPECT_EQ(seen.size(), 256u);
  EXPECT_EQ(ByteLevelChar('a'), "a");
  EXPECT_EQ(kG, "\xC4\xA0");                   // U+0120, GPT-2's space
  EXPECT_EQ(ByteLevelChar('\n'), "\xC4\x8A");  // U+010A
}

TEST(BpeTokenizerTest, MergesApplyLowestRankFirstWithinEachWord) {
  const json tok = {
      {"model", ByteLevelModel({{"h", "e"}, {kG, "t"}, {kG + "t", "he"}, {"t", "he"}})},
      {"pre_tokenizer", Gpt2PreTokenizer()}};
  auto t = MustLoad("ranks", tok);
  ASSERT_TRUE(t);
  // "the" -> t,he -> the; " the" -> Ġ,t,he -> Ġt,he -> Ġthe (ids: he 256, Ġt 257, Ġthe 258,
  // the 259).
  EXPECT_EQ(t->Encode("the the"), (std::vector<int32_t>{259, 258}));
  EXPECT_EQ(Decode(*t, t->Encode("the the")), "the the");
  EXPECT_EQ(t->Piece(258), " the");
}

TEST(BpeTokenizerTest, AnOverlapGoesToTheEarlierMerge) {
  auto ab_first = MustLoad("ab", {{"model", ByteLevelModel({{"a", "b"}, {"b", "c"}})},
                                  {"pre_tokenizer", Gpt2PreTokenizer()}});
  auto bc_first = MustLoad("bc", {{"model", ByteLevelModel({{"b", "c"}, {"a", "b"}})},
                                  {"pre_tokenizer", Gpt2PreTokenizer()}});
  ASSERT_TRUE(ab_first && bc_first);
  EXPECT_EQ(ab_first->Encode("abc"), (std::vector<int32_t>{256, 'c'}));  // ab, c
  EXPECT_EQ(bc_first->Encode("abc"), (std::vector<int32_t>{'a', 256}));  // a, bc
}

TEST(BpeTokenizerTest, IgnoreMergesTakesAWholeWordThatIsInTheVocabulary) {
  json model = ByteLevelModel({{"a", "b"}});
  model["vocab"]["abc"] = 300;  // reachable by no merge
  auto merged = MustLoad("merged", {{"model", model}, {"pre_tokenizer", Gpt2PreTokenizer()}});
  model["ignore_merges"] = true;
  auto whole = MustLoad("whole", {{"model", model}, {"pre_tokenizer", Gpt2PreTokenizer()}});
  ASSERT_TRUE(merged && whole);
  EXPECT_EQ(merged->Encode("abc"), (std::vector<int32_t>{256, 'c'}));
  EXPECT_EQ(whole->Encode("abc"), (std::vector<int32_t>{300}));
}

TEST(BpeTokenizerTest, LongWordsMergeLeftmostFirstWithoutQuadraticTime) {
  auto t = MustLoad("long", {{"model", ByteLevelModel({{"a", "a"}, {"aa", "aa"}})},
                             {"pre_tokenizer", Gpt2PreTokenizer()}});
  ASSERT_TRUE(t);
  const std::vector<int32_t> ids = t->Encode(std::string(20001, 'a'));
  ASSERT_EQ(ids.size(), 5001u);  // 5000 x "aaaa" and the odd "a" at the end
  for (size_t i = 0; i < 5000; ++i) ASSERT_EQ(ids[i], 257) << i;
  EXPECT_EQ(ids.back(), 'a');
}

TEST(BpeTokenizerTest, AnyBytesRoundTrip) {
  auto t = MustLoad("roundtrip", {{"model", ByteLevelModel({{"h", "e"}, {kG, "t"}, {"1", "2"}})},
                                  {"pre_tokenizer", Llama3PreTokenizer()}});
  ASSERT_TRUE(t);
  std::mt19937 rng(7);
  const std::string alphabet = "the 12\n\t!'sMé\xF0\x9F\x98\x80";
  for (int i = 0; i < 200; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 40);
    for (int k = 0; k < n; ++k)
      s += (rng() % 8 == 0) ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    EXPECT_EQ(Decode(*t, t->Encode(s)), s) << i;
  }
}

TEST(BpeTokenizerTest, Gpt2PatternSplitsWordsNumbersAndTrailingSpace) {
  auto t = MustLoad("gpt2", {{"model", ByteLevelModel({})}, {"pre_tokenizer", Gpt2PreTokenizer()}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->PreTokenize("Hello world's 123  x\n"),
            (std::vector<std::string>{"Hello", " world", "'s", " 123", " ", " x", "\n"}));
}

TEST(BpeTokenizerTest, AddPrefixSpaceGivesTheFirstWordALeadingSpaceOnce) {
  json pre = Gpt2PreTokenizer();
  pre["add_prefix_space"] = true;
  auto t = MustLoad("prefix", {{"model", ByteLevelModel({})}, {"pre_tokenizer", pre}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->PreTokenize("hello world"), (std::vector<std::string>{" hello", " world"}));
  EXPECT_EQ(t->PreTokenize(" x"), (std::vector<std::string>{" x"}));
}

TEST(BpeTokenizerTest, Llama3PatternCaseFoldsContractionsAndGroupsDigitsByThree) {
  auto t =
      MustLoad("llama3", {{"model", ByteLevelModel({})}, {"pre_tokenizer", Llama3PreTokenizer()}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->PreTokenize("I'M 12345 ok!!\n\n"),
            (std::vector<std::string>{"I", "'M", " ", "123", "45", " ok", "!!\n\n"}));
  EXPECT_EQ(t->PreTokenize("héllo wörld"), (std::vector<std::string>{"héllo", " wörld"}));
}

TEST(BpeTokenizerTest, DigitsThenByteLevelSplitEveryDigit) {
  const json pre = {
      {"type", "Sequence"},
      {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, Gpt2PreTokenizer()}}};
  auto t = MustLoad("digits", {{"model", ByteLevelModel({})}, {"pre_tokenizer", pre}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->PreTokenize("ab 2024"), (std::vector<std::string>{"ab", " ", "2", "0", "2", "4"}));
}

TEST(BpeTokenizerTest, AddedTokensBosFromTheTemplateAndEosFromTheConfig) {
  json tok = {{"model", ByteLevelModel({})},
              {"pre_tokenizer", Llama3PreTokenizer()},
              {"added_tokens",
               {{{"id", 300}, {"content", "<|begin_of_text|>"}, {"special", true}},
                {{"id", 301}, {"content", "<|eot_id|>"}, {"special", true}}}},
              {"post_processor",
               {{"type", "Sequence"},
                {"processors",
                 {{{"type", "ByteLevel"}},
                  {{"type", "TemplateProcessing"},
                   {"single",
                    {{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
                     {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}}}}}}}};
  const json config = {{"eos_token", "<|eot_id|>"}};
  auto t = MustLoad("added", tok, &config);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->bos_id(), 300);
  EXPECT_EQ(t->eos_id(), 301);
  EXPECT_EQ(t->vocab_size(), 302);
  EXPECT_EQ(t->Piece(300), "");
  EXPECT_EQ(PromptIds(*t, "hi<|eot_id|>"), (std::vector<int32_t>{300, 'h', 'i', 301}));
  // A chat template's text that already starts with BOS gets no second one.
  EXPECT_EQ(PromptIds(*t, "<|begin_of_text|>hi"), (std::vector<int32_t>{300, 'h', 'i'}));

  tok.erase("post_processor");
  auto no_bos = MustLoad("nobos", tok);
  ASSERT_TRUE(no_bos);
  EXPECT_EQ(no_bos->bos_id(), -1);
  EXPECT_EQ(no_bos->eos_id(), -1);
  EXPECT_EQ(PromptIds(*no_bos, "hi"), (std::vector<int32_t>{'h', 'i'}));
}

TEST(BpeTokenizerTest, MalformedFilesGetAnErrorNamingTheField) {
  const json good = {{"model", ByteLevelModel({{"a", "b"}})},
                     {"pre_tokenizer", Gpt2PreTokenizer()}};
  struct Case {
    std::string name;
    json tokenizer;
    std::string expect;
  };
  std::vector<Case> cases;
  cases.push_back({"nomodel", {{"pre_tokenizer", Gpt2PreTokenizer()}}, "'model'"});
  json wordpiece = good;
  wordpiece["model"]["type"] = "WordPiece";
  cases.push_back({"wordpiece", wordpiece, "'model.type'"});
  json bad_merge = good;
  bad_merge["model"]["merges"] = json::array({5});
  cases.push_back({"merge", bad_merge, "'model.merges[0]'"});
  json bad_id = good;
  bad_id["model"]["vocab"]["zz"] = -4;
  cases.push_back({"id", bad_id, "'model.vocab'"});
  json metaspace = good;
  metaspace["pre_tokenizer"] = {{"type", "Metaspace"}};
  cases.push_back({"metaspace", metaspace, "pre_tokenizer.type"});
  json bad_regex = good;
  bad_regex["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(ab"}}}};
  cases.push_back({"regex", bad_regex, "bad regex"});
  json nfc = good;
  nfc["normalizer"] = {{"type", "NFC"}};
  cases.push_back({"nfc", nfc, "'normalizer'"});
  json bad_added = good;
  bad_added["added_tokens"] = json::array({{{"id", 3}}});
  cases.push_back({"added", bad_added, "'added_tokens[0]'"});
  json type_number = good;
  type_number["model"]["type"] = 5;
  cases.push_back({"typenumber", type_number, "'model.type' has the wrong type"});
  json flag_string = good;
  flag_string["pre_tokenizer"]["use_regex"] = "yes";
  cases.push_back({"flagstring", flag_string, "'pre_tokenizer.use_regex' has the wrong type"});
  for (const Case& c : cases) {
    std::unique_ptr<BpeTokenizer> t;
    const Status s = LoadFrom(FreshDir(c.name), c.tokenizer, nullptr, &t);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.name << ": " << s.ToString();
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << c.name << ": " << s.message();
    EXPECT_NE(s.message().find("tokenizer.json"), std::string::npos) << s.message();
  }
  const fs::path d = FreshDir("notjson");
  std::ofstream(d / "tokenizer.json") << "{\"model\": ";
  std::unique_ptr<BpeTokenizer> t;
  EXPECT_EQ(BpeTokenizer::Load((d / "tokenizer.json").string(), "", &t).code(),
            StatusCode::kInvalidArgument);
}

TEST(BpeTokenizerTest, LoadTokenizerReadsTokenizerJsonWhenThereIsNoSentencePieceModel) {
  const fs::path d = FreshDir("folder");
  std::ofstream(d / "tokenizer.json") << json{
      {"model", ByteLevelModel({{"h", "i"}})},
      {"pre_tokenizer", Gpt2PreTokenizer()}}.dump();
  std::unique_ptr<Tokenizer> t;
  ASSERT_TRUE(LoadTokenizer(d.string(), &t).ok());
  EXPECT_EQ(t->Encode("hi"), (std::vector<int32_t>{256}));
}

}  // namespace
}  // namespace epara::llm
