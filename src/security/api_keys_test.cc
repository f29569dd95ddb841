#include "security/api_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "security/secrets.h"

namespace epara::security {
namespace {

std::string Entry(const std::string& name, const std::string& key, const std::string& rest) {
  return "  - {name: " + name + ", sha256: " + Sha256Hex(key) + rest + "}\n";
}

TEST(ApiKeysTest, FindsKeysByTheirHashWithScopesAndLimits) {
  KeyRing ring;
  const std::string yaml =
      "keys:\n" + Entry("cam", "key-cam", ", scopes: [infer], rate_per_s: 5") +
      Entry("ops", "key-ops", ", scopes: [admin]") +
      Entry("both", "key-both", ", scopes: 'infer,admin', burst: 3, rate_per_s: 1") +
      Entry("dflt", "key-dflt", "");
  ASSERT_TRUE(KeyRing::Parse(yaml, "keys.yaml", &ring).ok());
  EXPECT_EQ(ring.size(), 4u);
  const ApiKey* cam = ring.Find("key-cam");
  ASSERT_NE(cam, nullptr);
  EXPECT_EQ(cam->name, "cam");
  EXPECT_TRUE(cam->Has(kScopeInfer));
  EXPECT_FALSE(cam->Has(kScopeAdmin));
  EXPECT_EQ(cam->rate_per_s, 5);
  EXPECT_EQ(cam->burst, 5);  // default: the rate
  const ApiKey* ops = ring.Find("key-ops");
  ASSERT_NE(ops, nullptr);
  EXPECT_TRUE(ops->Has(kScopeAdmin));
  EXPECT_TRUE(ops->Has(kScopeInfer));  // admin implies infer
  EXPECT_EQ(ring.Find("key-both")->burst, 3);
  EXPECT_EQ(ring.Find("key-dflt")->scopes, kScopeInfer);
  EXPECT_EQ(ring.Find("key-cam "), nullptr);
  EXPECT_EQ(ring.Find(""), nullptr);
  EXPECT_EQ(ring.Find(Sha256Hex("key-cam")), nullptr);  // the hash itself is no key
}

TEST(ApiKeysTest, BadFilesAreClearErrorsThatNeverEchoAHash) {
  const std::string h = Sha256Hex("k");
  struct Case {
    std::string yaml, expect;
  } cases[] = {
      {"[1, 2]", "expected a map"},
      {"keys: 3", "must be a list"},
      {"keys:\n  - {sha256: " + h + "}\n", "'name' is required"},
      {"keys:\n  - {name: a, sha256: ABC}\n", "64 lower-case hex"},
      {"keys:\n  - {name: a, sha256: " + h + ", scopes: [root]}\n", "unknown scope 'root'"},
      {"keys:\n  - {name: a, sha256: " + h + ", colour: red}\n", "unknown field 'colour'"},
      {"keys:\n  - {name: a, sha256: " + h + "}\n  - {name: a, sha256: " + Sha256Hex("j") + "}\n",
       "appears twice"},
      {"keys:\n  - {name: a, sha256: " + h + "}\n  - {name: b, sha256: " + h + "}\n", "same hash"},
      {"keys:\n  - {name: a, sha256: " + h + ", rate_per_s: -1}\n", "rate_per_s"},
      {"keys: [", "keys.yaml"},
  };
  for (const Case& c : cases) {
    KeyRing ring;
    Status s = KeyRing::Parse(c.yaml, "keys.yaml", &ring);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.yaml;
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find(h), std::string::npos) << s.message();
  }
  KeyRing empty;
  EXPECT_TRUE(KeyRing::Parse("", "keys.yaml", &empty).ok());
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(KeyRing::Load("/nonexistent/keys.yaml", &empty).code(), StatusCode::kNotFound);
}

TEST(ApiKeysTest, AppendKeyWritesHashesOnlyToAPrivateFile) {
  const std::string dir = testing::TempDir() + "/api_keys_test_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/keys.yaml";
  ApiKey a{"cam", Sha256Hex("secret-a"), kScopeInfer, 2, 4};
  ApiKey b{"ops", Sha256Hex("secret-b"), kScopeAdmin, 0, 0};
  ASSERT_TRUE(AppendKey(path, a).ok());
  ASSERT_TRUE(AppendKey(path, b).ok());
  EXPECT_EQ(AppendKey(path, a).code(), StatusCode::kInvalidArgument);  // name taken
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  KeyRing ring;
  ASSERT_TRUE(KeyRing::Load(path, &ring).ok());
  ASSERT_EQ(ring.size(), 2u);
  ASSERT_NE(ring.Find("secret-a"), nullptr);
  EXPECT_EQ(ring.Find("secret-a")->rate_per_s, 2);
  EXPECT_EQ(ring.Find("secret-a")->burst, 4);
  EXPECT_TRUE(ring.Find("secret-b")->Has(kScopeAdmin));
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(Sha256Hex("secret-a")), std::string::npos);
  EXPECT_EQ(text.find("secret-a"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(ApiKeysTest, ScopesParseAndPrint) {
  uint8_t s = 0;
  ASSERT_TRUE(ParseScopes("infer, admin", &s).ok());
  EXPECT_EQ(s, kScopeInfer | kScopeAdmin);
  EXPECT_EQ(ScopeNames(s), "infer,admin");
  EXPECT_FALSE(ParseScopes("infer,", &s).ok());
  EXPECT_FALSE(ParseScopes("", &s).ok());
}

}  // namespace
}  // namespace epara::security
