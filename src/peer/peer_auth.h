// PeerAuth: how a node proves itself to its peers, and the channel credentials that carries.
//   - the cluster credential (a shared secret; `authorization: Bearer` metadata on every call);
//   - mutual TLS: its certificate and key, and the cluster CA that every peer's certificate must
//     chain to (security/certs.h). Peers dial each other by address, so the TLS name checked is
//     the cluster's (kClusterTlsName), which every node certificate carries.
#pragma once

#include <memory>
#include <string>

#include "security/certs.h"

namespace grpc {
class ChannelCredentials;
class ChannelArguments;
class ClientContext;
}  // namespace grpc

namespace epara::peer {

struct PeerAuth {
  std::string credential;     // empty: none
  security::TlsMaterial tls;  // disabled: plaintext
};

// The channel credentials for `auth` (TLS with its identity, or insecure), and the channel
// arguments TLS needs (the cluster's name as the target name).
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const PeerAuth& auth,
                                                                grpc::ChannelArguments* args);
// The arguments of every channel to a peer: 256 MB messages, and keep-alive pings every second
// answered within 2 s, so that a peer that vanishes without closing its connections (cut off by
// a partition, its host gone) fails the calls in flight to it within ~3 s, as a peer that died
// does at once. (The peer server allows pings that often: peer_server.cc.)
void SetPeerChannelArguments(grpc::ChannelArguments* args);
// Adds the credential to a call's metadata (nothing when there is none).
void AddCallCredential(const PeerAuth& auth, grpc::ClientContext* ctx);

}  // namespace epara::peer
