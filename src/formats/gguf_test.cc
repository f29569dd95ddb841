#include "formats/gguf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace epara::formats {
namespace {

namespace fs = std::filesystem;

class GgufTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("epara_gguf_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

std::vector<uint8_t> FloatBytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

TEST_F(GgufTest, WrittenFilesReadBackWithEveryMetadataTypeAndAlignedTensors) {
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddUint32("llama.block_count", 12);
  w.AddFloat32("llama.rope.freq_base", 10000.5f);
  w.AddBool("flag", true);
  w.AddStringArray("tokenizer.ggml.tokens", {"<s>", "a", ""});
  w.AddFloat32Array("tokenizer.ggml.scores", {0.0f, -1.5f, 2.0f});
  w.AddInt32Array("tokenizer.ggml.token_type", {3, 1, -1});
  ASSERT_TRUE(w.AddTensor("a", {3}, GgmlType::kF32, FloatBytes({1, 2, 3})).ok());  // 12 bytes
  std::vector<uint8_t> q8(2 * 34);
  for (size_t i = 0; i < q8.size(); ++i) q8[i] = static_cast<uint8_t>(i * 7);
  ASSERT_TRUE(w.AddTensor("b", {32, 2}, GgmlType::kQ8_0, q8).ok());
  // Wrong sizes are refused before anything is written.
  EXPECT_FALSE(w.AddTensor("c", {31}, GgmlType::kQ8_0, std::vector<uint8_t>(34)).ok());
  EXPECT_FALSE(w.AddTensor("c", {2}, GgmlType::kF32, std::vector<uint8_t>(4)).ok());
  EXPECT_FALSE(w.AddTensor("a", {1}, GgmlType::kF32, std::vector<uint8_t>(4)).ok());
  ASSERT_TRUE(w.Write(Path("m.gguf")).ok());

  std::unique_ptr<GgufFile> f;
  ASSERT_TRUE(GgufFile::Open(Path("m.gguf"), &f).ok());
  EXPECT_EQ(f->version(), 3u);
  std::string s;
  ASSERT_TRUE(f->GetString("general.architecture", &s).ok());
  EXPECT_EQ(s, "llama");
  uint64_t u = 0;
  ASSERT_TRUE(f->GetUint("llama.block_count", &u).ok());
  EXPECT_EQ(u, 12u);
  double d = 0;
  ASSERT_TRUE(f->GetFloat("llama.rope.freq_base", &d).ok());
  EXPECT_EQ(d, 10000.5);
  std::vector<std::string> tokens;
  ASSERT_TRUE(f->GetStringArray("tokenizer.ggml.tokens", &tokens).ok());
  EXPECT_EQ(tokens, (std::vector<std::string>{"<s>", "a", ""}));
  std::vector<float> scores;
  ASSERT_TRUE(f->GetFloatArray("tokenizer.ggml.scores", &scores).ok());
  EXPECT_EQ(scores, (std::vector<float>{0.0f, -1.5f, 2.0f}));
  std::vector<int64_t> types;
  ASSERT_TRUE(f->GetIntArray("tokenizer.ggml.token_type", &types).ok());
  EXPECT_EQ(types, (std::vector<int64_t>{3, 1, -1}));
  // Typed lookups name the key on a mismatch or absence.
  EXPECT_EQ(f->GetUint("general.architecture", &u).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f->GetString("missing.key", &s).code(), StatusCode::kNotFound);
  EXPECT_NE(f->GetString("missing.key", &s).message().find("missing.key"), std::string::npos);

  ASSERT_EQ(f->tensors().size(), 2u);
  const GgufTensorInfo* a = f->FindTensor("a");
  const GgufTensorInfo* b = f->FindTensor("b");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(b->ne, (std::vector<int64_t>{32, 2}));
  EXPECT_EQ(b->type, GgmlType::kQ8_0);
  EXPECT_EQ(b->bytes, 68u);
  EXPECT_EQ(b->offset % 32, 0u);  // "a" is 12 bytes: "b" starts at the next 32-byte boundary
  EXPECT_EQ(b->offset, 32u);
  float a2 = 0;
  std::memcpy(&a2, f->Data(*a) + 8, 4);
  EXPECT_EQ(a2, 3.0f);
  EXPECT_EQ(std::memcmp(f->Data(*b), q8.data(), q8.size()), 0);
}

TEST_F(GgufTest, EveryTruncationAndCorruptionIsANamedErrorNotACrash) {
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddStringArray("tokenizer.ggml.tokens", {"x", "yy"});
  ASSERT_TRUE(w.AddTensor("t", {32}, GgmlType::kQ8_0, std::vector<uint8_t>(34, 1)).ok());
  ASSERT_TRUE(w.Write(Path("ok.gguf")).ok());
  std::ifstream in(Path("ok.gguf"), std::ios::binary);
  const std::string good((std::istreambuf_iterator<char>(in)), {});
  const auto open = [&](const std::string& bytes) {
    std::ofstream(Path("bad.gguf"), std::ios::binary) << bytes;
    std::unique_ptr<GgufFile> f;
    return GgufFile::Open(Path("bad.gguf"), &f);
  };
  // Every proper prefix fails cleanly (the header, then the tensor data).
  for (size_t n = 1; n < good.size(); ++n) {
    const Status s = open(good.substr(0, n));
    ASSERT_FALSE(s.ok()) << n;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << n;
  }
  EXPECT_TRUE(open(good).ok());
  const auto with = [&](size_t at, const void* v, size_t n) {
    std::string b = good;
    std::memcpy(b.data() + at, v, n);
    return b;
  };
  EXPECT_NE(open(with(0, "GGUX", 4)).message().find("bad magic"), std::string::npos);
  const uint32_t v9 = 9;
  EXPECT_NE(open(with(4, &v9, 4)).message().find("version 9"), std::string::npos);
  const uint64_t huge = uint64_t{1} << 60;
  EXPECT_NE(open(with(8, &huge, 8)).message().find("exceeds what the file can hold"),
            std::string::npos);
  // The tensor's type and offset are its info's last 12 bytes before the padding.
  const size_t info = good.find(std::string("\x01\x00\x00\x00\x00\x00\x00\x00t", 9));
  ASSERT_NE(info, std::string::npos);
  const size_t type_at = info + 9 + 4 + 8;
  const uint32_t q5 = 6;  // Q5_0: a real ggml type epara does not read
  EXPECT_NE(open(with(type_at, &q5, 4)).message().find("tensor 't': tensor type 6"),
            std::string::npos);
  const uint64_t odd = 3;
  EXPECT_NE(open(with(type_at + 4, &odd, 8)).message().find("not aligned"), std::string::npos);
  const uint64_t far = 1024;
  EXPECT_NE(open(with(type_at + 4, &far, 8)).message().find("extends past the end"),
            std::string::npos);
  std::unique_ptr<GgufFile> f;
  EXPECT_EQ(GgufFile::Open(Path("absent.gguf"), &f).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace epara::formats
