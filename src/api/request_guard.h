// RequestGuard: the HTTP edge of security/access_policy.h. Runs before every route handler that a
// client reached over HTTP (not for requests a peer forwarded: those were checked where they
// entered, and the peer itself is authenticated by the cluster credential).
//
// Credentials are read from `Authorization: Bearer <secret>` (OpenAI clients), `api-key: <secret>`
// (Azure-style clients) or `x-api-key: <secret>`. A refused request gets 401 (with
// `WWW-Authenticate: Bearer`) or 403 and the JSON error body; a key over its rate limit gets 429
// with `Retry-After` (whole seconds). Nothing about the secret appears in the answer.
#pragma once

#include <memory>
#include <string>

#include "api/http_types.h"
#include "security/access_policy.h"
#include "security/api_keys.h"
#include "security/rate_limiter.h"
#include "security/secrets.h"

namespace epara::api {

struct GuardOptions {
  std::shared_ptr<const security::KeyRing> keys;  // null or empty: no API keys
  std::string cluster_credential;                 // empty: none
  security::AccessOptions access;
};

class RequestGuard {
 public:
  explicit RequestGuard(GuardOptions options);

  // Whether anything is protected (a key ring or a cluster credential).
  bool enabled() const { return configured_.api_keys || configured_.cluster; }
  // True: the request may proceed. False: `res` holds the refusal.
  bool Admit(const HttpRequest& req, HttpResponse* res);

 private:
  GuardOptions options_;
  security::SecretDigest cluster_;
  security::Configured configured_;
  security::RateLimiter limiter_;
};

// The credential a request presents (see above); empty when none.
std::string PresentedSecret(const HttpRequest& req);

}  // namespace epara::api
