// API keys: who may call a node, and for what. A key file (YAML) lists keys by name with the
// SHA-256 of the key, its scopes and an optional rate limit; the keys themselves are shown once,
// when `epara keys create` makes them, and never stored. Example:
//
//   keys:
//     - name: camera-gateway
//       sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//       scopes: [infer]          # infer: the model APIs; admin: the control plane (and infer)
//       rate_per_s: 20           # optional token bucket: sustained requests per second ...
//       burst: 40                # ... and the bucket's size (default: max(1, rate_per_s))
//
// Parse errors name the file and the entry; they never echo a hash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace epara::security {

enum Scope : uint8_t {
  kScopeInfer = 1,  // OpenAI, KServe, segmentation and tokenizer routes
  kScopeAdmin = 2,  // /v1/internal/*, /v1/cluster, deploy, status; implies infer
};

struct ApiKey {
  std::string name;
  std::string sha256;  // 64 lower-case hex digits
  uint8_t scopes = kScopeInfer;
  double rate_per_s = 0;  // 0: not limited
  double burst = 0;       // bucket size when limited

  bool Has(Scope s) const { return (scopes & s) != 0 || (scopes & kScopeAdmin) != 0; }
};

// "infer", "admin" or "infer,admin" -> a scope mask. InvalidArgument for anything else.
Status ParseScopes(std::string_view text, uint8_t* out);
std::string ScopeNames(uint8_t scopes);  // "infer" | "admin" | "infer,admin"

class KeyRing {
 public:
  static Status Load(const std::string& path, KeyRing* out);
  // `source` names the text in errors.
  static Status Parse(const std::string& yaml, const std::string& source, KeyRing* out);

  // The key whose hash matches `presented`; null for an unknown key.
  const ApiKey* Find(std::string_view presented) const;
  // The key with this SHA-256 (64 lower-case hex digits); null when none.
  const ApiKey* FindSha256(const std::string& sha256) const;
  bool empty() const { return by_hash_.empty(); }
  size_t size() const { return by_hash_.size(); }

 private:
  std::unordered_map<std::string, ApiKey> by_hash_;
};

// Appends `key` (its hash, never the key) to the key file at `path`, creating it (mode 0600) when
// absent. InvalidArgument when the name is taken or the file is not a key file.
Status AppendKey(const std::string& path, const ApiKey& key);

}  // namespace epara::security
