#include "peer/peer_auth.h"

#include <grpcpp/grpcpp.h>

namespace epara::peer {

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const PeerAuth& auth,
                                                                grpc::ChannelArguments* args) {
  if (!auth.tls.enabled()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = auth.tls.ca_pem;
  o.pem_private_key = auth.tls.key_pem;
  o.pem_cert_chain = auth.tls.cert_pem;
  args->SetSslTargetNameOverride(security::kClusterTlsName);
  return grpc::SslCredentials(o);
}

void SetPeerChannelArguments(grpc::ChannelArguments* args) {
  args->SetMaxReceiveMessageSize(256 << 20);
  args->SetMaxSendMessageSize(256 << 20);
  args->SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 1000);
  args->SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
  args->SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
}

void AddCallCredential(const PeerAuth& auth, grpc::ClientContext* ctx) {
  if (!auth.credential.empty()) ctx->AddMetadata("authorization", "Bearer " + auth.credential);
}

}  // namespace epara::peer
