#include "security/secrets.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace epara::security {
namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return Hex(digest, len);
}

Status RandomToken(std::string_view prefix, int bytes, std::string* out) {
  if (bytes <= 0 || bytes > 256) return InvalidArgument("random token size must be 1..256 bytes");
  std::vector<unsigned char> buf(static_cast<size_t>(bytes));
  if (RAND_bytes(buf.data(), bytes) != 1)
    return Status(StatusCode::kInternal, "the random source failed");
  *out = std::string(prefix) + Hex(buf.data(), buf.size());
  return Status::Ok();
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

SecretDigest::SecretDigest(std::string_view secret) {
  if (!secret.empty()) sha256_ = Sha256Hex(secret);
}

bool SecretDigest::Matches(std::string_view presented) const {
  return !sha256_.empty() && !presented.empty() && MatchesSha256(Sha256Hex(presented));
}

bool SecretDigest::MatchesSha256(std::string_view sha256_hex) const {
  return !sha256_.empty() && ConstantTimeEqual(sha256_hex, sha256_);
}

std::string_view BearerToken(std::string_view authorization) {
  if (authorization.size() <= 7 || authorization[6] != ' ') return {};
  const std::string_view scheme = authorization.substr(0, 6);
  if (scheme != "Bearer" && scheme != "bearer") return {};
  return authorization.substr(7);
}

Status WriteSecretFile(const std::string& path, std::string_view secret) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot write " + tmp + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);  // an existing file keeps its mode through O_CREAT
  std::string line(secret);
  line += '\n';
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Unavailable("cannot write " + path);
  }
  return Status::Ok();
}

Status ReadSecretFile(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read secret file " + path);
  std::string line;
  std::getline(in, line);
  const auto first = line.find_first_not_of(" \t\r");
  const auto last = line.find_last_not_of(" \t\r");
  if (first == std::string::npos) return InvalidArgument("secret file " + path + " is empty");
  *out = line.substr(first, last - first + 1);
  return Status::Ok();
}

}  // namespace epara::security
