// A node's security settings (NodeConfig's security section) made concrete: the key ring and the
// cluster credential read from their files, the HTTP guard built from them, and the safe-default
// rule applied to both listeners (security/access_policy.h CheckExposure).
#pragma once

#include <string>
#include <vector>

#include "api/request_guard.h"
#include "node/node_config.h"
#include "security/certs.h"

namespace epara::node {

struct NodeSecurity {
  api::GuardOptions guard;    // for the node's HTTP API
  std::string credential;     // the cluster credential: peers, store (when asked), controller
  security::TlsMaterial tls;  // mutual TLS on the peer port (disabled: plaintext)
  std::vector<std::string> warnings;  // what an operator should know (insecure exposure)
};

// Errors: an unreadable or invalid key file or credential file (named, never quoted), or a
// non-loopback listener without protection and without `insecure`.
Status ResolveNodeSecurity(const NodeConfig& config, NodeSecurity* out);

}  // namespace epara::node
