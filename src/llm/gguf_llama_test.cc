// GGUF models on the kernels (llm/gguf_llama.h) against the Hugging Face folder they were exported
// from (llm/gguf_export.h) and against F32 GGUFs of their dequantized weights; the tokenizer and
// chat template stored in the file (llm/gguf_tokenizer.h); malformed files.
#include "llm/gguf_llama.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "formats/ggml_quant.h"
#include "formats/protobuf_testing.h"
#include "llm/chat_template.h"
#include "llm/gguf_export.h"
#include "llm/int8_gemm.h"
#include "llm/quant_kernels.h"
#include "llm/tokenizer.h"
#include "models/demo_llm.h"

namespace epara::llm {
namespace {

namespace fs = std::filesystem;
using formats::GgmlType;

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    m = std::max<double>(m, std::fabs(a[i] - b[i]));
  return m;
}

double Range(const std::vector<float>& v) {
  double m = 0;
  for (float f : v) m = std::max<double>(m, std::fabs(f));
  return m;
}

// Rewrites a GGUF with every tensor as F32 (quantized ones dequantized), metadata copied.
void WriteDequantized(const std::string& in, const std::string& out) {
  std::unique_ptr<formats::GgufFile> f;
  ASSERT_TRUE(formats::GgufFile::Open(in, &f).ok());
  formats::GgufWriter w;
  for (const auto& [key, v] : f->metadata()) {
    if (v.type == 8) {
      w.AddString(key, std::get<std::string>(v.scalar));
    } else if (v.type == 7) {
      w.AddBool(key, std::get<bool>(v.scalar));
    } else if (v.type == 6) {
      w.AddFloat32(key, static_cast<float>(std::get<double>(v.scalar)));
    } else if (v.type == 4) {
      w.AddUint32(key, static_cast<uint32_t>(std::get<uint64_t>(v.scalar)));
    } else if (v.type == 9 && v.array_type == 8) {
      std::vector<std::string> a;
      ASSERT_TRUE(f->GetStringArray(key, &a).ok());
      w.AddStringArray(key, a);
    } else if (v.type == 9 && v.array_type == 6) {
      std::vector<float> a;
      ASSERT_TRUE(f->GetFloatArray(key, &a).ok());
      w.AddFloat32Array(key, a);
    } else if (v.type == 9 && v.array_type == 5) {
      std::vector<int64_t> a;
      ASSERT_TRUE(f->GetIntArray(key, &a).ok());
      w.AddInt32Array(key, std::vector<int32_t>(a.begin(), a.end()));
    } else {
      FAIL() << "metadata type " << v.type << " of " << key;
    }
  }
  for (const formats::GgufTensorInfo& t : f->tensors()) {
    std::vector<float> values(static_cast<size_t>(t.elements()));
    kernels::WeightType kt = kernels::WeightType::kF32;
    ASSERT_TRUE(kernels::WeightTypeOf(t.type, &kt)) << t.name;
    kernels::DequantizeWeights(kt, f->Data(t), t.elements(), values.data());
    std::vector<uint8_t> bytes(values.size() * 4);
    std::memcpy(bytes.data(), values.data(), bytes.size());
    ASSERT_TRUE(w.AddTensor(t.name, t.ne, GgmlType::kF32, std::move(bytes)).ok());
  }
  ASSERT_TRUE(w.Write(out).ok());
}

class GgufLlamaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("epara_gguf_" + std::to_string(getpid())));
    models::DemoLlmOptions o;
    o.hidden = 256;  // whole K-quant super-blocks
    o.layers = 2;
    o.heads = 4;
    o.kv_heads = 2;
    o.intermediate = 512;
    o.max_positions = 128;
    ASSERT_TRUE(models::WriteDemoLlm(dir_->string(), o).ok());
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }
  static std::string Hf() { return (*dir_ / "llama-demo").string(); }
  static std::string Export(const std::string& name, GgmlType type, bool k_mix = false) {
    const std::string path = (*dir_ / name).string();
    GgufExportOptions o;
    o.matrices = type;
    o.k_mix = k_mix;
    const Status s = ExportLlamaGguf(Hf(), path, o);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return path;
  }
  static std::unique_ptr<LlamaModel> Load(const std::string& location, bool panel_products = true) {
    std::unique_ptr<LlamaModel> m;
    LlamaLoadOptions o{"cpu", 2};
    o.panel_products = panel_products;
    const Status s = LlamaModel::Load(location, o, &m);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return m;
  }
  static std::vector<int32_t> Prompt(int n) {
    std::vector<int32_t> p;
    for (int t = 0; t < n; ++t) p.push_back((7 * t + 3) % 259);
    return p;
  }
  static inline fs::path* dir_ = nullptr;
};

// The same F32 weights through the GGUF path (q/k rows permuted to llama.cpp's order and back,
// pointers into the mapped file) and the folder path give the same logits: prompts of every tile
// shape and decode steps.
TEST_F(GgufLlamaTest, AnF32GgufComputesWhatItsHuggingFaceFolderComputes) {
  auto hf = Load(Hf());
  auto gg = Load(Export("f32.gguf", GgmlType::kF32));
  ASSERT_TRUE(hf && gg);
  EXPECT_EQ(gg->config().hidden_size, 256);
  EXPECT_EQ(gg->config().num_key_value_heads, 2);
  EXPECT_EQ(gg->config().vocab_size, hf->config().vocab_size);
  EXPECT_EQ(gg->weight_bytes(), hf->weight_bytes());
  for (int n : {1, 5, 16, 21}) {
    auto ch = hf->NewCache(64), cg = gg->NewCache(64);
    std::vector<float> lh, lg;
    ASSERT_TRUE(hf->Forward(Prompt(n), ch.get(), &lh).ok());
    ASSERT_TRUE(gg->Forward(Prompt(n), cg.get(), &lg).ok());
    EXPECT_LT(MaxAbsDiff(lh, lg), 1e-4 * std::max(1.0, Range(lh))) << "prompt of " << n;
    for (int step = 0; step < 3; ++step) {
      const int32_t next = (11 * step + n) % 259;
      ASSERT_TRUE(hf->Forward(std::span(&next, 1), ch.get(), &lh).ok());
      ASSERT_TRUE(gg->Forward(std::span(&next, 1), cg.get(), &lg).ok());
      EXPECT_LT(MaxAbsDiff(lh, lg), 1e-4 * std::max(1.0, Range(lh))) << n << " step " << step;
    }
    // A cache copied from this one (a forked choice; a larger capacity, so the per-head rows
    // move) continues exactly as it does.
    auto copy = gg->NewCache(80);
    copy->CopyFrom(*cg);
    EXPECT_EQ(copy->length(), cg->length());
    std::vector<float> lc;
    const int32_t next = 7;
    ASSERT_TRUE(gg->Forward(std::span(&next, 1), cg.get(), &lg).ok());
    ASSERT_TRUE(gg->Forward(std::span(&next, 1), copy.get(), &lc).ok());
    EXPECT_EQ(lc, lg) << "prompt of " << n;
  }
}

// Each quantized type (and the Q4_K_M-style mix, whose fused q/k/v holds Q4_K and Q6_K parts)
// computes, on prompts of 16 tokens (with panel_products off: dequantized tiles, F32 inputs), what
// an F32 GGUF of its dequantized weights computes; prompts on the int8 panels (where the CPU has
// VNNI) and decode steps (int8 x int8 on Q8_0-rounded inputs) stay within a few percent of it;
// and the model holds its quantized bytes, not F32.
TEST_F(GgufLlamaTest, QuantizedGgufsComputeWhatTheirDequantizedWeightsCompute) {
  struct Case {
    const char* name;
    GgmlType type;
    bool mix;
    double max_bytes_ratio;  // of the F32 model's weight bytes
  };
  const Case cases[] = {{"q8_0", GgmlType::kQ8_0, false, 0.30},
                        {"q4_0", GgmlType::kQ4_0, false, 0.17},
                        {"q4_k", GgmlType::kQ4_K, false, 0.17},
                        {"q6_k", GgmlType::kQ6_K, false, 0.23},
                        {"q4_k_m", GgmlType::kQ4_K, true, 0.21}};
  auto f32 = Load(Export("ref.gguf", GgmlType::kF32));
  for (const Case& c : cases) {
    const std::string q = Export(std::string(c.name) + ".gguf", c.type, c.mix);
    const std::string d = (*dir_ / (std::string(c.name) + "_deq.gguf")).string();
    WriteDequantized(q, d);
    auto mq = Load(q, /*panel_products=*/false), md = Load(d), m8 = Load(q);
    ASSERT_TRUE(mq && md && m8) << c.name;
    EXPECT_LT(mq->weight_bytes(), f32->weight_bytes() * c.max_bytes_ratio) << c.name;
    auto cq = mq->NewCache(64), cd = md->NewCache(64);
    std::vector<float> lq, ld;
    ASSERT_TRUE(mq->Forward(Prompt(16), cq.get(), &lq).ok());
    ASSERT_TRUE(md->Forward(Prompt(16), cd.get(), &ld).ok());
    EXPECT_LT(MaxAbsDiff(lq, ld), 1e-4 * std::max(1.0, Range(ld))) << c.name;
    auto c8 = m8->NewCache(64);
    std::vector<float> l8;
    ASSERT_TRUE(m8->Forward(Prompt(16), c8.get(), &l8).ok());
    EXPECT_LT(MaxAbsDiff(l8, ld), 0.05 * Range(ld)) << c.name << " int8 prompt";
    if (kernels::Int8GemmAvailable()) {
      EXPECT_GT(MaxAbsDiff(l8, lq), 0.0) << c.name << ": the prompt did not take the int8 panels";
    }
    for (int step = 0; step < 3; ++step) {
      const int32_t next = 40 + step;
      ASSERT_TRUE(mq->Forward(std::span(&next, 1), cq.get(), &lq).ok());
      ASSERT_TRUE(md->Forward(std::span(&next, 1), cd.get(), &ld).ok());
      EXPECT_LT(MaxAbsDiff(lq, ld), 0.05 * Range(ld)) << c.name << " step " << step;
      EXPECT_GT(MaxAbsDiff(lq, ld), 0.0) << c.name << ": not the int8 path";
    }
  }
}

// The byte tokenizer of the demo folder goes into the GGUF as a SentencePiece vocabulary of byte
// tokens, which encodes every text exactly as the byte tokenizer does; a folder (no config.json)
// holding only the .gguf loads as a model, with tokenizer and (default) chat template.
TEST_F(GgufLlamaTest, TheStoredTokenizerEncodesAsTheFolderTokenizerDoes) {
  const std::string path = Export("tok.gguf", GgmlType::kQ8_0);
  const fs::path folder = *dir_ / "gguf-folder";
  fs::create_directories(folder);
  fs::copy_file(path, folder / "model.gguf", fs::copy_options::overwrite_existing);
  EXPECT_EQ(FindGgufModel(folder.string()), (folder / "model.gguf").string());
  EXPECT_EQ(FindGgufModel(Hf()), "");  // a Hugging Face folder stays one
  std::unique_ptr<Tokenizer> from_hf, from_gguf;
  ASSERT_TRUE(LoadTokenizer(Hf(), &from_hf).ok());
  const Status s = LoadTokenizer(folder.string(), &from_gguf);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(from_gguf->bos_id(), from_hf->bos_id());
  EXPECT_EQ(from_gguf->eos_id(), from_hf->eos_id());
  for (const char* text :
       {"Hello, world!", "  two  spaces ", "caf\xC3\xA9 \xE2\x82\xAC 100\n\t!", ""}) {
    EXPECT_EQ(PromptIds(*from_gguf, text), PromptIds(*from_hf, text)) << text;
    std::string back;
    for (int32_t id : from_gguf->Encode(text)) back += from_gguf->Piece(id);
    EXPECT_EQ(back, text);
  }
  // The one difference: a control token's text in a prompt is that token.
  EXPECT_EQ(EncodeWithSpecialTokens(*from_gguf, "a</s>"),
            (std::vector<int32_t>{ByteTokenizer::kOffset + 'a', ByteTokenizer::kEos}));
  ChatTemplate chat;
  bool recognized = false;
  ASSERT_TRUE(LoadChatTemplate(folder.string(), &chat, &recognized).ok());
  EXPECT_TRUE(recognized);
  auto m = Load(folder.string());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->config().eos_token_ids, std::vector<int>{ByteTokenizer::kEos});
}

// A SentencePiece BPE tokenizer.model (merges by score, byte fallback) survives the trip into the
// GGUF's tokens / scores / token types.
TEST_F(GgufLlamaTest, ASentencePieceVocabularyRoundTripsThroughTheFile) {
  using formats::testing::LenField;
  using formats::testing::Varint;
  using formats::testing::VarintField;
  const std::string sp = "\xE2\x96\x81";
  std::vector<std::tuple<std::string, float, int>> pieces = {
      {"<unk>", 0, 2}, {"<s>", 0, 3}, {"</s>", 0, 3}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    pieces.emplace_back(name, 0, 6);
  }
  for (const auto& [t, score] : std::vector<std::pair<std::string, float>>{{sp + "t", -1},
                                                                           {"he", -2},
                                                                           {sp + "the", -3},
                                                                           {"ll", -4},
                                                                           {"o", -5},
                                                                           {"h", -6},
                                                                           {"e", -7},
                                                                           {"l", -8},
                                                                           {"t", -9},
                                                                           {sp, -10}})
    pieces.emplace_back(t, score, 1);
  std::string proto;
  for (const auto& [text, score, type] : pieces) {
    std::string s(4, '\0');
    std::memcpy(s.data(), &score, 4);
    proto += LenField(1, LenField(1, text) + Varint((2 << 3) | 5) + s +
                             VarintField(3, static_cast<uint64_t>(type)));
  }
  proto +=
      LenField(2, VarintField(3, 2) + VarintField(35, 1) + VarintField(40, 0) + VarintField(41, 1) +
                      VarintField(42, 2) + VarintField(43, static_cast<uint64_t>(int64_t{-1})));
  proto += LenField(
      3, LenField(1, "identity") + VarintField(3, 1) + VarintField(4, 0) + VarintField(5, 1));
  // A copy of the demo folder whose tokenizer is this model (vocab 269 <= the demo's 300 rows).
  const fs::path folder = *dir_ / "spm-folder";
  models::DemoLlmOptions o;
  o.name = "spm-folder";
  o.hidden = 256;
  o.layers = 1;
  o.heads = 4;
  o.kv_heads = 2;
  o.intermediate = 256;
  o.max_positions = 64;
  o.vocab = 300;
  ASSERT_TRUE(models::WriteDemoLlm(dir_->string(), o).ok());
  std::ofstream(folder / "tokenizer.model", std::ios::binary) << proto;
  const std::string path = (*dir_ / "spm.gguf").string();
  ASSERT_TRUE(ExportLlamaGguf(folder.string(), path, {}).ok());
  std::unique_ptr<Tokenizer> a, b;
  ASSERT_TRUE(LoadTokenizer(folder.string(), &a).ok());
  const Status s = LoadTokenizer(path, &b);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(b->vocab_size(), 300);  // padded to the embedding rows with unused tokens
  for (const char* text : {"hello the tell", "the  hello", "x\xC3\xA9<s>y", "</s>the"})
    EXPECT_EQ(PromptIds(*b, text), PromptIds(*a, text)) << text;
}

// Malformed and unsupported files fail their load with the file and the field named.
TEST_F(GgufLlamaTest, MalformedOrUnsupportedFilesAreClearErrors) {
  const std::string good = Export("good.gguf", GgmlType::kQ4_K);
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto load = [&](const std::string& content, const std::string& name) {
    const std::string p = (*dir_ / name).string();
    std::ofstream(p, std::ios::binary) << content;
    std::unique_ptr<LlamaModel> m;
    return LlamaModel::Load(p, {"cpu", 1}, &m);
  };
  Status s = load(bytes.substr(0, bytes.size() - 1000), "truncated.gguf");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("truncated.gguf"), std::string::npos) << s.ToString();
  std::string arch = bytes;
  const size_t at = arch.find("llama");
  ASSERT_NE(at, std::string::npos);
  arch.replace(at, 5, "gpt99");
  s = load(arch, "arch.gguf");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("general.architecture"), std::string::npos) << s.ToString();
  std::string renamed = bytes;
  const size_t blk = renamed.find("blk.1.ffn_up.weight");
  ASSERT_NE(blk, std::string::npos);
  renamed[blk + 4] = '7';  // blk.7.ffn_up: blk.1's is then missing
  s = load(renamed, "missing.gguf");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("blk.1.ffn_up.weight"), std::string::npos) << s.ToString();
  std::unique_ptr<LlamaModel> m;
  LlamaLoadOptions q8{"cpu", 1};
  q8.weights = LlamaLoadOptions::Weights::kQ8_0;
  EXPECT_EQ(LlamaModel::Load(good, q8, &m).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LlamaModel::Load(good, {"cuda:0", 1}, &m).code(), StatusCode::kInvalidArgument);
  // Stage ranges: [1, 2) of 2 layers loads; [0, 3) does not.
  LlamaLoadOptions stage{"cpu", 1};
  stage.first_layer = 1;
  EXPECT_TRUE(LlamaModel::Load(good, stage, &m).ok());
  EXPECT_FALSE(m->is_first_stage());
  stage.first_layer = 0;
  stage.end_layer = 3;
  EXPECT_EQ(LlamaModel::Load(good, stage, &m).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace epara::llm
