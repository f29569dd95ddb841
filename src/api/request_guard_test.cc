#include "api/request_guard.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "security/secrets.h"

namespace epara::api {
namespace {

std::shared_ptr<const security::KeyRing> Ring() {
  using security::Sha256Hex;
  auto ring = std::make_shared<security::KeyRing>();
  const std::string yaml = "keys:\n  - {name: cam, sha256: " + Sha256Hex("infer-key") +
                           ", scopes: [infer]}\n  - {name: ops, sha256: " + Sha256Hex("admin-key") +
                           ", scopes: [admin]}\n  - {name: slow, sha256: " + Sha256Hex("slow-key") +
                           ", scopes: [infer], rate_per_s: 0.001, burst: 2}\n";
  EXPECT_TRUE(security::KeyRing::Parse(yaml, "test", ring.get()).ok());
  return ring;
}

HttpRequest Req(std::string method, std::string path, std::string header = "",
                std::string value = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  if (!header.empty()) r.headers.emplace(header, value);
  return r;
}

int Code(RequestGuard& g, const HttpRequest& r, HttpResponse* res = nullptr) {
  HttpResponse local;
  HttpResponse* out = res ? res : &local;
  return g.Admit(r, out) ? 200 : out->status;
}

TEST(RequestGuardTest, CredentialsFromEveryConventionalHeader) {
  EXPECT_EQ(PresentedSecret(Req("GET", "/", "Authorization", "Bearer abc")), "abc");
  EXPECT_EQ(PresentedSecret(Req("GET", "/", "authorization", "bearer abc")), "abc");
  EXPECT_EQ(PresentedSecret(Req("GET", "/", "api-key", "abc")), "abc");
  EXPECT_EQ(PresentedSecret(Req("GET", "/", "X-Api-Key", "abc")), "abc");
  EXPECT_EQ(PresentedSecret(Req("GET", "/", "Authorization", "Basic abc")), "");
  EXPECT_EQ(PresentedSecret(Req("GET", "/")), "");
}

TEST(RequestGuardTest, StatusesAndBodiesPerRouteClass) {
  RequestGuard g({Ring(), "cluster-secret", {}});
  ASSERT_TRUE(g.enabled());
  const std::string infer = "/v1/chat/completions", admin = "/v1/internal/instances/m/unload";
  HttpResponse res;
  EXPECT_EQ(Code(g, Req("POST", infer), &res), 401);
  EXPECT_EQ(nlohmann::json::parse(res.body)["error"]["type"], "unauthenticated");
  bool www = false;
  for (const auto& [k, v] : res.headers) www |= k == "WWW-Authenticate" && v == "Bearer";
  EXPECT_TRUE(www);
  EXPECT_EQ(Code(g, Req("POST", infer, "Authorization", "Bearer wrong")), 401);
  EXPECT_EQ(Code(g, Req("POST", infer, "Authorization", "Bearer infer-key")), 200);
  EXPECT_EQ(Code(g, Req("POST", infer, "api-key", "admin-key")), 200);
  EXPECT_EQ(Code(g, Req("POST", infer, "Authorization", "Bearer cluster-secret")), 200);
  HttpResponse denied;
  EXPECT_EQ(Code(g, Req("POST", admin, "Authorization", "Bearer infer-key"), &denied), 403);
  EXPECT_EQ(nlohmann::json::parse(denied.body)["error"]["type"], "permission_denied");
  EXPECT_EQ(denied.body.find("infer-key"), std::string::npos);
  EXPECT_EQ(Code(g, Req("POST", admin, "Authorization", "Bearer admin-key")), 200);
  EXPECT_EQ(Code(g, Req("POST", admin, "Authorization", "Bearer cluster-secret")), 200);
  EXPECT_EQ(Code(g, Req("GET", "/v1/cluster")), 401);
  EXPECT_EQ(Code(g, Req("GET", "/health")), 200);
  EXPECT_EQ(Code(g, Req("GET", "/v2/health/ready", "Authorization", "Bearer wrong")), 200);
  EXPECT_EQ(Code(g, Req("GET", "/metrics")), 401);
  EXPECT_EQ(Code(g, Req("GET", "/metrics", "x-api-key", "infer-key")), 200);
}

TEST(RequestGuardTest, RateLimitedKeysGet429WithRetryAfter) {
  RequestGuard g({Ring(), "", {}});
  const HttpRequest r = Req("POST", "/v2/models/m/infer", "Authorization", "Bearer slow-key");
  EXPECT_EQ(Code(g, r), 200);
  EXPECT_EQ(Code(g, r), 200);  // the burst of 2
  HttpResponse res;
  EXPECT_EQ(Code(g, r, &res), 429);
  std::string retry;
  for (const auto& [k, v] : res.headers)
    if (k == "Retry-After") retry = v;
  EXPECT_GE(std::stoi(retry), 900);  // 0.001/s: a token every 1000 s
  EXPECT_EQ(nlohmann::json::parse(res.body)["error"]["type"], "rate_limited");
  // Other keys are not charged.
  EXPECT_EQ(Code(g, Req("POST", "/v2/models/m/infer", "Authorization", "Bearer infer-key")), 200);
}

TEST(RequestGuardTest, NothingConfiguredLeavesEverythingOpen) {
  RequestGuard g({nullptr, "", {}});
  EXPECT_FALSE(g.enabled());
  EXPECT_EQ(Code(g, Req("POST", "/v1/internal/instances/m/unload")), 200);
  RequestGuard token_only({nullptr, "cluster-secret", {}});
  EXPECT_EQ(Code(token_only, Req("POST", "/v1/completions", "Authorization", "Bearer sk-any")),
            200);
  EXPECT_EQ(Code(token_only, Req("POST", "/v1/internal/split/m")), 401);
}

}  // namespace
}  // namespace epara::api
