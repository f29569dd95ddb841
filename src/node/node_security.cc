#include "node/node_security.h"

#include "security/secrets.h"

namespace epara::node {

Status ResolveNodeSecurity(const NodeConfig& c, NodeSecurity* out) {
  NodeSecurity s;
  if (!c.api_keys_file.empty()) {
    auto ring = std::make_shared<security::KeyRing>();
    EPARA_RETURN_IF_ERROR(security::KeyRing::Load(c.api_keys_file, ring.get())
                              .WithContext("node " + c.id + ": security.api_keys"));
    s.guard.keys = std::move(ring);
  }
  if (!c.cluster_token_file.empty())
    EPARA_RETURN_IF_ERROR(security::ReadSecretFile(c.cluster_token_file, &s.credential)
                              .WithContext("node " + c.id + ": security.cluster_token_file"));
  EPARA_RETURN_IF_ERROR(security::LoadTlsMaterial(c.tls_ca, c.tls_cert, c.tls_key, &s.tls)
                            .WithContext("node " + c.id + ": security.tls"));
  s.guard.cluster_credential = s.credential;
  s.guard.access.public_metrics = c.public_metrics;
  const bool has_keys = s.guard.keys && !s.guard.keys->empty();
  EPARA_RETURN_IF_ERROR(security::CheckExposure("the HTTP API", c.api_host, has_keys, c.insecure)
                            .WithContext("node " + c.id));
  const bool peers_protected = !s.credential.empty() || s.tls.enabled();
  EPARA_RETURN_IF_ERROR(
      security::CheckExposure("the peer port", c.peer_host, peers_protected, c.insecure)
          .WithContext("node " + c.id));
  if (!security::IsLoopbackHost(c.api_host) && !has_keys)
    s.warnings.push_back("--insecure: the HTTP API on " + c.api_host +
                         " accepts requests from anyone (no API keys)");
  if (!security::IsLoopbackHost(c.peer_host) && !peers_protected)
    s.warnings.push_back("--insecure: the peer port on " + c.peer_host +
                         " accepts any node (no cluster credential, no TLS)");
  else if (!security::IsLoopbackHost(c.peer_host) && !s.tls.enabled())
    s.warnings.push_back("the peer port on " + c.peer_host +
                         " is plaintext: the cluster credential crosses the network in clear "
                         "(security.tls: mutual TLS)");
  *out = std::move(s);
  return Status::Ok();
}

}  // namespace epara::node
