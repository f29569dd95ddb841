// Secrets: the few primitives epara's credentials are built from (OpenSSL's libcrypto underneath).
//   - keys and cluster tokens are random, printable, and never stored: files hold SHA-256 hashes
//     (api_keys.h) or, for the cluster token every node must present, the token itself in a file
//     only its owner can read (WriteSecretFile);
//   - comparisons of secrets take the same time whatever the bytes (ConstantTimeEqual).
// Nothing here logs: a secret never reaches a log line, an error message or a JSON answer.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace epara::security {

// SHA-256 of `data`, as 64 lower-case hex digits.
std::string Sha256Hex(std::string_view data);

// `prefix` + 2 * `bytes` hex digits from the operating system's random source (OpenSSL RAND_bytes).
// Internal when the source fails (never a predictable value).
Status RandomToken(std::string_view prefix, int bytes, std::string* out);

// Equality in time that depends only on the lengths.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

// A shared secret kept only as its SHA-256 (the cluster credential, where nodes, the store gateway
// and the HTTP guard check it). Empty: no secret, nothing matches.
class SecretDigest {
 public:
  SecretDigest() = default;
  explicit SecretDigest(std::string_view secret);
  bool empty() const { return sha256_.empty(); }
  // Whether `presented` is the secret (constant time in its content).
  bool Matches(std::string_view presented) const;
  // The same, for a value already hashed with Sha256Hex (one hash serves several checks).
  bool MatchesSha256(std::string_view sha256_hex) const;

 private:
  std::string sha256_;
};

// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive); "" for any
// other value.
std::string_view BearerToken(std::string_view authorization);

// Writes `secret` to `path` readable and writable by its owner alone (0600), replacing the file.
Status WriteSecretFile(const std::string& path, std::string_view secret);
// Reads a secret file: its first line, surrounding whitespace removed. InvalidArgument when it is
// empty; NotFound when it cannot be read. The message names the file, never its content.
Status ReadSecretFile(const std::string& path, std::string* out);

}  // namespace epara::security
