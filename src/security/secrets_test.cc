#include "security/secrets.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

namespace epara::security {
namespace {

TEST(SecretsTest, Sha256MatchesTheStandardVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(SecretsTest, RandomTokensAreFreshAndShaped) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string t;
    ASSERT_TRUE(RandomToken("ep-", 24, &t).ok());
    EXPECT_EQ(t.size(), 3u + 48u);
    EXPECT_EQ(t.rfind("ep-", 0), 0u);
    EXPECT_EQ(t.find_first_not_of("0123456789abcdef", 3), std::string::npos);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 50u);
  std::string t;
  EXPECT_FALSE(RandomToken("x", 0, &t).ok());
}

TEST(SecretsTest, ConstantTimeEqualComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEqual("", ""));
}

TEST(SecretsTest, SecretFilesAreOwnerOnlyAndRoundTrip) {
  const std::string dir = testing::TempDir() + "/secrets_test_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/token";
  ASSERT_TRUE(WriteSecretFile(path, "s3cret").ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string back;
  ASSERT_TRUE(ReadSecretFile(path, &back).ok());
  EXPECT_EQ(back, "s3cret");
  // Replacing keeps it private; whitespace around the line is not part of the secret.
  ::chmod(path.c_str(), 0644);
  ASSERT_TRUE(WriteSecretFile(path, "  other \t").ok());
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(ReadSecretFile(path, &back).ok());
  EXPECT_EQ(back, "other");
  ASSERT_TRUE(WriteSecretFile(path, "").ok());
  Status empty = ReadSecretFile(path, &back);
  EXPECT_EQ(empty.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadSecretFile(dir + "/absent", &back).code(), StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace epara::security

namespace epara::security {
namespace {

TEST(SecretsTest, DigestsMatchOnlyTheirSecretAndBearerTokensParse) {
  const SecretDigest d("cluster-secret");
  EXPECT_TRUE(d.Matches("cluster-secret"));
  EXPECT_TRUE(d.MatchesSha256(Sha256Hex("cluster-secret")));
  EXPECT_FALSE(d.Matches("cluster-secreT"));
  EXPECT_FALSE(d.Matches(""));
  const SecretDigest none;
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(none.Matches(""));
  EXPECT_FALSE(none.MatchesSha256(Sha256Hex("")));
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer abc"), "abc");
  EXPECT_EQ(BearerToken("Bearer "), "");
  EXPECT_EQ(BearerToken("Basic abc"), "");
  EXPECT_EQ(BearerToken("Bearerabc"), "");
}

}  // namespace
}  // namespace epara::security
