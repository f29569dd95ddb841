#include "security/certs.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>

#include "security/secrets.h"

namespace epara::security {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using Bio = std::unique_ptr<BIO, Free>;

Status Fail(const std::string& what) { return Internal("TLS: " + what + " failed"); }

std::string ReadFile(const std::string& path, bool* ok) {
  std::ifstream in(path);
  *ok = static_cast<bool>(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Pem(const std::function<int(BIO*)>& write) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return "";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  return out ? Status::Ok() : Unavailable("cannot write " + path);
}

Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, Free> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return Fail("extension " + value);
  return Status::Ok();
}

// A new certificate for `key`, subject CN=`common_name`, valid from now for `days`.
Status NewCert(EVP_PKEY* key, const std::string& common_name, int days, Cert* out) {
  Cert cert(X509_new());
  if (!cert) return Fail("X509_new");
  X509_set_version(cert.get(), 2);  // v3
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return Fail("serial");
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool serial_ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  if (!serial_ok) return Fail("serial");
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate small clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("epara"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  if (X509_set_pubkey(cert.get(), key) != 1) return Fail("public key");
  *out = std::move(cert);
  return Status::Ok();
}

// Signs `cert` with `signer` and writes it to <prefix>.pem and its `key` to <prefix>.key (0600).
Status SignAndWrite(X509* cert, EVP_PKEY* signer, EVP_PKEY* key, const std::string& prefix) {
  if (X509_sign(cert, signer, EVP_sha256()) == 0) return Fail("signing");
  const std::string key_pem = Pem([&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
  const std::string cert_pem = Pem([&](BIO* b) { return PEM_write_bio_X509(b, cert); });
  if (key_pem.empty() || cert_pem.empty()) return Fail("PEM encoding");
  EPARA_RETURN_IF_ERROR(WriteSecretFile(prefix + ".key", key_pem));
  return WriteText(prefix + ".pem", cert_pem);
}

bool IsIp(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

Status CreateCa(const std::string& dir, const std::string& common_name, int days) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (std::filesystem::exists(dir + "/ca.key"))
    return FailedPrecondition(dir + "/ca.key exists: a cluster CA is never overwritten");
  Key key(EVP_EC_gen("P-256"));
  if (!key) return Fail("key generation");
  Cert cert;
  EPARA_RETURN_IF_ERROR(NewCert(key.get(), common_name, days, &cert));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  EPARA_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  EPARA_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  EPARA_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  return SignAndWrite(cert.get(), key.get(), key.get(), dir + "/ca");
}

Status IssueCertificate(const std::string& ca_dir, const std::string& name,
                        const std::vector<std::string>& hosts, const std::string& out_prefix,
                        int days) {
  bool ok_key = false, ok_cert = false;
  const std::string ca_key_pem = ReadFile(ca_dir + "/ca.key", &ok_key);
  const std::string ca_cert_pem = ReadFile(ca_dir + "/ca.pem", &ok_cert);
  if (!ok_key || !ok_cert) return NotFound("no cluster CA in " + ca_dir + " (epara certs init)");
  Bio kb(BIO_new_mem_buf(ca_key_pem.data(), static_cast<int>(ca_key_pem.size())));
  Bio cb(BIO_new_mem_buf(ca_cert_pem.data(), static_cast<int>(ca_cert_pem.size())));
  Key ca_key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  Cert ca_cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  if (!ca_key || !ca_cert) return InvalidArgument(ca_dir + ": ca.key or ca.pem is not PEM");
  if (name.empty()) return InvalidArgument("a certificate needs a name");
  Key key(EVP_EC_gen("P-256"));
  if (!key) return Fail("key generation");
  Cert cert;
  EPARA_RETURN_IF_ERROR(NewCert(key.get(), name, days, &cert));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  std::string san = std::string("DNS:") + kClusterTlsName + ",DNS:" + name;
  for (const std::string& h : hosts) {
    if (h.find_first_of(", \t") != std::string::npos)
      return InvalidArgument("host '" + h + "' is not a host name or an IP address");
    san += (IsIp(h) ? ",IP:" : ",DNS:") + h;
  }
  EPARA_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_subject_alt_name, san));
  EPARA_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_basic_constraints, "CA:FALSE"));
  EPARA_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_key_usage,
                                     "critical,digitalSignature,keyAgreement"));
  EPARA_RETURN_IF_ERROR(
      AddExtension(cert.get(), ca_cert.get(), NID_ext_key_usage, "serverAuth,clientAuth"));
  EPARA_RETURN_IF_ERROR(
      AddExtension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always"));
  return SignAndWrite(cert.get(), ca_key.get(), key.get(), out_prefix);
}

Status LoadTlsMaterial(const std::string& ca_file, const std::string& cert_file,
                       const std::string& key_file, TlsMaterial* out) {
  *out = TlsMaterial();
  const int given = !ca_file.empty() + !cert_file.empty() + !key_file.empty();
  if (given == 0) return Status::Ok();
  if (given != 3) return InvalidArgument("TLS needs all three of ca, cert and key");
  TlsMaterial m;
  for (auto [path, text] : {std::pair{&ca_file, &m.ca_pem}, std::pair{&cert_file, &m.cert_pem},
                            std::pair{&key_file, &m.key_pem}}) {
    bool ok = false;
    *text = ReadFile(*path, &ok);
    if (!ok) return NotFound("cannot read " + *path);
    if (text->find("-----BEGIN ") == std::string::npos)
      return InvalidArgument(*path + " is not a PEM file");
  }
  *out = std::move(m);
  return Status::Ok();
}

}  // namespace epara::security
