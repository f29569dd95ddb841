#include "security/certs.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace epara::security {
namespace {

class CertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/certs_test_" + std::to_string(::getpid());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

X509* ReadCert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return nullptr;
  X509* c = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return c;
}

TEST_F(CertsTest, NodeCertificatesChainToTheirCaAndNameTheCluster) {
  ASSERT_TRUE(CreateCa(dir_ + "/ca1", "test CA 1").ok());
  ASSERT_TRUE(CreateCa(dir_ + "/ca2", "test CA 2").ok());
  ASSERT_TRUE(
      IssueCertificate(dir_ + "/ca1", "node-a", {"10.0.0.7", "board-1.lan"}, dir_ + "/node-a")
          .ok());
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/node-a.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ + "/ca1/ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  X509* node = ReadCert(dir_ + "/node-a.pem");
  X509* ca1 = ReadCert(dir_ + "/ca1/ca.pem");
  X509* ca2 = ReadCert(dir_ + "/ca2/ca.pem");
  ASSERT_TRUE(node && ca1 && ca2);
  EXPECT_EQ(X509_verify(node, X509_get0_pubkey(ca1)), 1);
  EXPECT_NE(X509_verify(node, X509_get0_pubkey(ca2)), 1);  // another CA did not sign it
  EXPECT_EQ(X509_check_host(node, kClusterTlsName, 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(node, "node-a", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(node, "board-1.lan", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(node, "10.0.0.7", 0), 1);
  EXPECT_NE(X509_check_host(node, "node-b", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ca(ca1), 1);
  EXPECT_EQ(X509_check_ca(node), 0);
  X509_free(node);
  X509_free(ca1);
  X509_free(ca2);
  // A CA is never overwritten; issuing needs one.
  EXPECT_EQ(CreateCa(dir_ + "/ca1", "again").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(IssueCertificate(dir_ + "/none", "x", {}, dir_ + "/x").code(), StatusCode::kNotFound);
  EXPECT_EQ(IssueCertificate(dir_ + "/ca1", "x", {"a b"}, dir_ + "/x").code(),
            StatusCode::kInvalidArgument);
}

TEST_F(CertsTest, TlsMaterialIsAllOrNothingAndPem) {
  ASSERT_TRUE(CreateCa(dir_, "test CA").ok());
  ASSERT_TRUE(IssueCertificate(dir_, "n", {}, dir_ + "/n").ok());
  TlsMaterial m;
  ASSERT_TRUE(LoadTlsMaterial("", "", "", &m).ok());
  EXPECT_FALSE(m.enabled());
  ASSERT_TRUE(LoadTlsMaterial(dir_ + "/ca.pem", dir_ + "/n.pem", dir_ + "/n.key", &m).ok());
  EXPECT_TRUE(m.enabled());
  EXPECT_NE(m.key_pem.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(LoadTlsMaterial(dir_ + "/ca.pem", "", "", &m).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadTlsMaterial(dir_ + "/ca.pem", dir_ + "/n.pem", dir_ + "/absent", &m).code(),
            StatusCode::kNotFound);
  std::FILE* f = std::fopen((dir_ + "/junk").c_str(), "w");
  std::fputs("not a certificate", f);
  std::fclose(f);
  Status s = LoadTlsMaterial(dir_ + "/ca.pem", dir_ + "/junk", dir_ + "/n.key", &m);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("junk"), std::string::npos);
}

}  // namespace
}  // namespace epara::security
