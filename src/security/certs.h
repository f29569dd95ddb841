// Certificates for mutual TLS between nodes: a cluster CA, and per-node certificates it signs.
// `epara up` makes both for its run; `epara certs` makes them for clusters on several machines.
// Keys are EC P-256; certificates are X.509 v3 with SHA-256 signatures. Every node certificate
// names kClusterTlsName among its subject alternative names (peers dial each other by IP, so the
// TLS name checked is the cluster's, and the CA is what proves membership), plus the node's id and
// any host names or IP addresses given.
//
// Files: <dir>/ca.pem and <dir>/ca.key (the CA); <prefix>.pem and <prefix>.key (a node). Private
// keys are written 0600 (security/secrets.h WriteSecretFile).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace epara::security {

inline constexpr const char* kClusterTlsName = "epara-cluster";

// Writes a new self-signed CA (`common_name`, valid `days`) to <dir>/ca.pem and <dir>/ca.key.
// FailedPrecondition when <dir>/ca.key exists (a CA is never overwritten).
Status CreateCa(const std::string& dir, const std::string& common_name, int days = 3650);

// Signs a certificate for `name` with the CA in `ca_dir`, for serving and for dialling (server
// and client auth), SANs: kClusterTlsName, `name`, and each of `hosts` (IP addresses become IP
// SANs). Writes <out_prefix>.pem and <out_prefix>.key.
Status IssueCertificate(const std::string& ca_dir, const std::string& name,
                        const std::vector<std::string>& hosts, const std::string& out_prefix,
                        int days = 825);

// The PEM texts a TLS endpoint needs. Empty: TLS is off.
struct TlsMaterial {
  std::string ca_pem, cert_pem, key_pem;
  bool enabled() const { return !cert_pem.empty(); }
};

// Reads the three files (all or none given). InvalidArgument when only some are given or one is
// not PEM; NotFound when one cannot be read. Messages name files, never key contents.
Status LoadTlsMaterial(const std::string& ca_file, const std::string& cert_file,
                       const std::string& key_file, TlsMaterial* out);

}  // namespace epara::security
