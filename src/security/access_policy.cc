#include "security/access_policy.h"

namespace epara::security {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// /v2/models/{m}/ready or /v2/models/{m}/versions/{v}/ready (names without '/').
bool IsModelReadiness(std::string_view path) {
  constexpr std::string_view kPrefix = "/v2/models/", kSuffix = "/ready";
  if (!StartsWith(path, kPrefix) || path.size() <= kPrefix.size() + kSuffix.size() ||
      path.substr(path.size() - kSuffix.size()) != kSuffix)
    return false;
  const std::string_view middle =
      path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
  const size_t slash = middle.find('/');
  if (slash == std::string_view::npos) return !middle.empty();
  const std::string_view rest = middle.substr(slash);  // "/versions/{v}"
  return slash > 0 && StartsWith(rest, "/versions/") && rest.size() > 10 &&
         rest.find('/', 10) == std::string_view::npos;
}

}  // namespace

Need RequiredAccess(std::string_view method, std::string_view path, const AccessOptions& options) {
  if (method == "GET" && (path == "/health" || path == "/v2/health/live" ||
                          path == "/v2/health/ready" || IsModelReadiness(path)))
    return Need::kOpen;
  // The dashboard page is static (no data); the data it fetches needs the admin scope.
  if (method == "GET" && path == "/dashboard") return Need::kOpen;
  if (method == "GET" && path == "/metrics")
    return options.public_metrics ? Need::kOpen : Need::kAnyKey;
  if (StartsWith(path, "/v1/internal/") || path == "/v1/cluster" || path == "/v1/decisions" ||
      path == "/v1/slo" || path == "/v1/plans")
    return Need::kAdmin;
  return Need::kInfer;
}

bool IsLoopbackHost(std::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || StartsWith(host, "127.");
}

Status CheckExposure(std::string_view what, std::string_view host, bool is_protected,
                     bool insecure) {
  if (is_protected || insecure || IsLoopbackHost(host)) return Status::Ok();
  return FailedPrecondition(std::string(what) + " would listen on " + std::string(host) +
                            " without authentication: configure " +
                            (what == "the HTTP API" ? "API keys (--api-keys / security.api_keys)"
                                                    : "a cluster credential "
                                                      "(security.cluster_token_file)") +
                            ", or accept the risk with --insecure (security.insecure: true)");
}

Status Decide(Need need, const Presented& p, const Configured& c) {
  if (need == Need::kOpen || (!c.api_keys && !c.cluster)) return Status::Ok();
  if (p.cluster) return Status::Ok();
  if (p.any && !p.key) {
    // An unknown credential is refused even where none is needed: a client with a wrong or
    // revoked key learns it at once instead of on the first protected path.
    if (c.api_keys || need == Need::kAdmin)
      return Status(StatusCode::kUnauthenticated, "invalid API key or cluster credential");
  }
  switch (need) {
    case Need::kOpen:
      return Status::Ok();
    case Need::kAnyKey:
    case Need::kInfer:
      if (!c.api_keys) return Status::Ok();
      if (!p.key)
        return Status(StatusCode::kUnauthenticated,
                      "an API key is required (Authorization: Bearer <key>)");
      if (need == Need::kAnyKey || p.key->Has(kScopeInfer)) return Status::Ok();
      return Status(StatusCode::kPermissionDenied,
                    "API key '" + p.key->name + "' lacks the infer scope");
    case Need::kAdmin:
      if (!p.key)
        return Status(StatusCode::kUnauthenticated,
                      "the admin scope or the cluster credential is required");
      if (p.key->Has(kScopeAdmin)) return Status::Ok();
      return Status(StatusCode::kPermissionDenied,
                    "API key '" + p.key->name + "' lacks the admin scope");
  }
  return Status::Ok();
}

}  // namespace epara::security
