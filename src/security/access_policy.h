// AccessPolicy: which credential a request needs, and whether the one it presents is enough. Pure
// functions (no I/O, no clock), so the HTTP guard, the gRPC services and tests share one rule.
//
// What each path needs:
//   open      GET /health, /v2/health/live, /v2/health/ready, /v2/models/{m}[/versions/{v}]/ready
//             (liveness and readiness probes), GET /dashboard (a static page; what it shows comes
//             from admin routes), and GET /metrics when public_metrics is set;
//   any key   GET /metrics otherwise (any valid API key, or the cluster credential);
//   admin     /v1/internal/*, GET /v1/cluster and GET /v1/decisions (the control plane: load,
//             unload, split, tiles, every node's state, recent routing decisions);
//   infer     everything else (the model APIs).
// Who passes:
//   - nothing configured (no API keys, no cluster credential): everyone, for everything — a
//     loopback development server, as before (binding other addresses so needs --insecure);
//   - the cluster credential (what nodes, the controller, `epara status` and `epara deploy` hold):
//     every path;
//   - an API key: the paths its scopes cover (admin implies infer);
//   - no key where keys are configured: open paths only, plus infer paths while no API keys are
//     configured (a cluster with only its credential keeps its model APIs open on loopback).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "security/api_keys.h"

namespace epara::security {

enum class Need { kOpen, kAnyKey, kInfer, kAdmin };

struct AccessOptions {
  bool public_metrics = false;  // GET /metrics without a key
};

Need RequiredAccess(std::string_view method, std::string_view path, const AccessOptions& options);

// What the request presented, as the guard resolved it.
struct Presented {
  bool any = false;             // some credential was sent
  bool cluster = false;         // it is the cluster credential
  const ApiKey* key = nullptr;  // it is this API key (null: none, or unknown)
};

struct Configured {
  bool api_keys = false;  // a non-empty key ring
  bool cluster = false;   // a cluster credential
};

// Whether `host` (a bind address or host name) is only reachable from this machine: 127.0.0.0/8,
// ::1, localhost.
bool IsLoopbackHost(std::string_view host);

// Safe defaults: a listener (`what`: "the HTTP API", "the peer port") on a non-loopback address
// must be protected (API keys for the API, the cluster credential for peers) unless `insecure`;
// FailedPrecondition naming the flag otherwise. OK for loopback, protected or insecure.
Status CheckExposure(std::string_view what, std::string_view host, bool is_protected,
                     bool insecure);

// OK, Unauthenticated (no credential, or an unknown one) or PermissionDenied (a key without the
// scope). Messages name the key and the scope it lacks, never a secret.
Status Decide(Need need, const Presented& presented, const Configured& configured);

}  // namespace epara::security
