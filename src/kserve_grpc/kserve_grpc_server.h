// KServeGrpcServer: KServe v2 / Open Inference Protocol over gRPC (grpc_predict_v2.proto:
// ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata, ModelInfer), on a single
// server (`epara serve --grpc-port`) or on every cluster node (`api.grpc_port`).
//
// It is a translation layer onto the HTTP API, not a second one: each RPC becomes the request a
// KServe HTTP client would send (ModelInfer: POST /v2/models/{m}/infer with the binary tensor data
// extension, every output asked for as binary), checked by the same guard with the call's
// metadata as headers (`authorization: Bearer <key>`, `api-key`), and run by `dispatch`: routing
// to the node that finishes it first, admission, batching, metrics and errors are the HTTP
// path's. Errors map once from the HTTP status (api/error_mapping.h GrpcCodeForHttpStatus); the
// message is the JSON error's. Responses carry outputs as raw_output_contents.
// Input tensors may come as raw_input_contents or typed contents (BOOL, UINT8, INT8, INT32, INT64,
// FP32, FP64; FP16 raw only; BYTES is not served), each checked against its shape.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "api/http_types.h"
#include "core/status.h"

namespace epara::kserve_grpc {

struct KServeGrpcOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  size_t max_message_bytes = 64u << 20;
  // TLS (PEM text): the server's certificate and key, both or neither (server authentication only;
  // clients authenticate with API keys).
  std::string tls_cert_pem, tls_key_pem;
};

struct KServeGrpcHandlers {
  // Runs an API request as if it had arrived over HTTP (the cluster's routing included).
  std::function<void(api::HttpRequest, api::HttpResponse*)> dispatch;
  // The HTTP guard: false refuses, with the answer in the response. Null: everything is open.
  std::function<bool(const api::HttpRequest&, api::HttpResponse*)> authorize;
};

class KServeGrpcServer {
 public:
  static Status Start(const KServeGrpcOptions& options, KServeGrpcHandlers handlers,
                      std::unique_ptr<KServeGrpcServer>* out);
  ~KServeGrpcServer();  // Stop()

  int port() const;
  // Stops accepting and waits (bounded) for calls in flight. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit KServeGrpcServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace epara::kserve_grpc
