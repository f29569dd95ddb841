#include "api/request_guard.h"

#include <cmath>
#include <cstdio>

#include "api/error_mapping.h"
#include "security/secrets.h"

namespace epara::api {

std::string PresentedSecret(const HttpRequest& req) {
  const std::string auth = req.Header("Authorization");
  if (std::string_view t = security::BearerToken(auth); !t.empty()) return std::string(t);
  if (std::string k = req.Header("api-key"); !k.empty()) return k;
  return req.Header("x-api-key");
}

RequestGuard::RequestGuard(GuardOptions options) : options_(std::move(options)) {
  configured_.api_keys = options_.keys && !options_.keys->empty();
  configured_.cluster = !options_.cluster_credential.empty();
  cluster_ = security::SecretDigest(options_.cluster_credential);
}

bool RequestGuard::Admit(const HttpRequest& req, HttpResponse* res) {
  if (!enabled()) return true;
  const security::Need need = security::RequiredAccess(req.method, req.path, options_.access);
  if (need == security::Need::kOpen) return true;
  security::Presented p;
  const std::string secret = PresentedSecret(req);
  p.any = !secret.empty();
  if (p.any) {
    // Hashes are compared, so the time taken does not depend on how much of the secret matches.
    const std::string h = security::Sha256Hex(secret);
    p.cluster = cluster_.MatchesSha256(h);
    if (!p.cluster && configured_.api_keys) p.key = options_.keys->FindSha256(h);
  }
  if (Status s = security::Decide(need, p, configured_); !s.ok()) {
    WriteError(s, res);
    if (s.code() == StatusCode::kUnauthenticated)
      res->headers.emplace_back("WWW-Authenticate", "Bearer");
    return false;
  }
  if (p.key && p.key->rate_per_s > 0) {
    const double wait = limiter_.Take(p.key->name, p.key->rate_per_s, p.key->burst,
                                      security::RateLimiter::Clock::now());
    if (wait > 0) {
      res->status = 429;
      res->content_type = "application/json";
      char limit[64];
      std::snprintf(limit, sizeof limit, "%g requests/s (burst %g)", p.key->rate_per_s,
                    p.key->burst);
      res->body = ErrorBody(429, "rate_limited",
                            "API key '" + p.key->name + "' is over its rate limit of " + limit);
      res->headers.emplace_back("Retry-After",
                                std::to_string(std::max(1, static_cast<int>(std::ceil(wait)))));
      return false;
    }
  }
  return true;
}

}  // namespace epara::api
