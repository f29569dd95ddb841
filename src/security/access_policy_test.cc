#include "security/access_policy.h"

#include <gtest/gtest.h>

namespace epara::security {
namespace {

TEST(AccessPolicyTest, PathsNeedWhatTheControlPlaneAndProbesNeed) {
  AccessOptions o;
  EXPECT_EQ(RequiredAccess("GET", "/health", o), Need::kOpen);
  EXPECT_EQ(RequiredAccess("GET", "/v2/health/ready", o), Need::kOpen);
  EXPECT_EQ(RequiredAccess("GET", "/v2/health/live", o), Need::kOpen);
  EXPECT_EQ(RequiredAccess("GET", "/v2/models/seg/ready", o), Need::kOpen);
  EXPECT_EQ(RequiredAccess("GET", "/v2/models/seg/versions/1/ready", o), Need::kOpen);
  EXPECT_EQ(RequiredAccess("POST", "/health", o), Need::kInfer);  // only the probe's method
  EXPECT_EQ(RequiredAccess("GET", "/v2/models/a/b/ready", o), Need::kInfer);
  EXPECT_EQ(RequiredAccess("GET", "/metrics", o), Need::kAnyKey);
  o.public_metrics = true;
  EXPECT_EQ(RequiredAccess("GET", "/metrics", o), Need::kOpen);
  EXPECT_EQ(RequiredAccess("POST", "/v1/internal/instances/seg/unload", o), Need::kAdmin);
  EXPECT_EQ(RequiredAccess("POST", "/v1/internal/split/seg", o), Need::kAdmin);
  EXPECT_EQ(RequiredAccess("GET", "/v1/cluster", o), Need::kAdmin);
  EXPECT_EQ(RequiredAccess("GET", "/v1/decisions", o), Need::kAdmin);
  EXPECT_EQ(RequiredAccess("GET", "/v1/slo", o), Need::kAdmin);
  EXPECT_EQ(RequiredAccess("GET", "/v1/plans", o), Need::kAdmin);
  EXPECT_EQ(RequiredAccess("GET", "/dashboard", o), Need::kOpen);
  EXPECT_EQ(RequiredAccess("POST", "/dashboard", o), Need::kInfer);
  EXPECT_EQ(RequiredAccess("POST", "/v1/chat/completions", o), Need::kInfer);
  EXPECT_EQ(RequiredAccess("POST", "/v2/models/seg/infer", o), Need::kInfer);
  EXPECT_EQ(RequiredAccess("GET", "/v1/models", o), Need::kInfer);
  EXPECT_EQ(RequiredAccess("GET", "/v1/internalx", o), Need::kInfer);
}

TEST(AccessPolicyTest, DecisionsForEveryCredentialAndConfiguration) {
  const ApiKey infer{"cam", "", kScopeInfer, 0, 0};
  const ApiKey admin{"ops", "", kScopeAdmin, 0, 0};
  const Presented none{};
  const Presented unknown{true, false, nullptr};
  const Presented cluster{true, true, nullptr};
  const Presented as_infer{true, false, &infer};
  const Presented as_admin{true, false, &admin};
  const Configured open{false, false}, keys{true, false}, token{false, true}, both{true, true};
  auto code = [](Need n, const Presented& p, const Configured& c) {
    return Decide(n, p, c).code();
  };
  using C = StatusCode;
  // Nothing configured: everything passes, whatever is sent.
  for (Need n : {Need::kOpen, Need::kAnyKey, Need::kInfer, Need::kAdmin})
    for (const Presented* p : {&none, &unknown, &as_infer}) EXPECT_EQ(code(n, *p, open), C::kOk);
  // Open paths pass under any configuration.
  for (const Configured* c : {&keys, &token, &both})
    EXPECT_EQ(code(Need::kOpen, unknown, *c), C::kOk);
  // Keys configured: infer paths need a key with infer; admin paths an admin key or the token.
  EXPECT_EQ(code(Need::kInfer, none, both), C::kUnauthenticated);
  EXPECT_EQ(code(Need::kInfer, unknown, both), C::kUnauthenticated);
  EXPECT_EQ(code(Need::kInfer, as_infer, both), C::kOk);
  EXPECT_EQ(code(Need::kInfer, as_admin, both), C::kOk);
  EXPECT_EQ(code(Need::kInfer, cluster, both), C::kOk);
  EXPECT_EQ(code(Need::kAdmin, none, both), C::kUnauthenticated);
  EXPECT_EQ(code(Need::kAdmin, unknown, both), C::kUnauthenticated);
  EXPECT_EQ(code(Need::kAdmin, as_infer, both), C::kPermissionDenied);
  EXPECT_EQ(code(Need::kAdmin, as_admin, both), C::kOk);
  EXPECT_EQ(code(Need::kAdmin, cluster, both), C::kOk);
  EXPECT_EQ(code(Need::kAnyKey, as_infer, keys), C::kOk);
  EXPECT_EQ(code(Need::kAnyKey, none, keys), C::kUnauthenticated);
  // Only the cluster credential: model APIs stay open (even to a client that sends some other
  // key, as OpenAI clients always do); the control plane needs the credential.
  EXPECT_EQ(code(Need::kInfer, none, token), C::kOk);
  EXPECT_EQ(code(Need::kInfer, unknown, token), C::kOk);
  EXPECT_EQ(code(Need::kAnyKey, none, token), C::kOk);
  EXPECT_EQ(code(Need::kAdmin, none, token), C::kUnauthenticated);
  EXPECT_EQ(code(Need::kAdmin, unknown, token), C::kUnauthenticated);
  EXPECT_EQ(code(Need::kAdmin, cluster, token), C::kOk);
}

TEST(AccessPolicyTest, RefusalsNameTheKeyAndScopeNeverASecret) {
  const ApiKey infer{"camera-7", "deadbeef", kScopeInfer, 0, 0};
  Status s = Decide(Need::kAdmin, {true, false, &infer}, {true, true});
  EXPECT_NE(s.message().find("camera-7"), std::string::npos);
  EXPECT_NE(s.message().find("admin"), std::string::npos);
  EXPECT_EQ(s.message().find("deadbeef"), std::string::npos);
}

}  // namespace
}  // namespace epara::security

namespace epara::security {
namespace {

TEST(AccessPolicyTest, NonLoopbackListenersNeedProtectionOrInsecure) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.3.2.1"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.7"));
  EXPECT_FALSE(IsLoopbackHost("::"));
  EXPECT_TRUE(CheckExposure("the HTTP API", "127.0.0.1", false, false).ok());
  EXPECT_TRUE(CheckExposure("the HTTP API", "0.0.0.0", true, false).ok());
  EXPECT_TRUE(CheckExposure("the HTTP API", "0.0.0.0", false, true).ok());
  Status s = CheckExposure("the HTTP API", "0.0.0.0", false, false);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("--insecure"), std::string::npos);
  EXPECT_NE(s.message().find("API keys"), std::string::npos);
  Status p = CheckExposure("the peer port", "10.0.0.7", false, false);
  EXPECT_NE(p.message().find("cluster_token_file"), std::string::npos);
}

}  // namespace
}  // namespace epara::security
