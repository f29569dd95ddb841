#include "kserve_grpc/kserve_grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "api/error_mapping.h"
#include "api/kserve_json.h"
#include "kserve_grpc/grpc_predict_v2.grpc.pb.h"
#include "kserve_grpc/tensor_contents.h"

namespace epara::kserve_grpc {
namespace {

using json = nlohmann::json;

// The HTTP request an RPC stands for, with the call's metadata as headers (credentials, and
// epara's own X-Epara-* hints).
api::HttpRequest HttpFor(const grpc::ServerContext& ctx, std::string method, std::string path) {
  api::HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  for (const auto& [k, v] : ctx.client_metadata()) {
    const std::string key(k.data(), k.size());
    if (key.empty() || key[0] == ':' || key.rfind("grpc-", 0) == 0) continue;
    r.headers.emplace(key, std::string(v.data(), v.size()));
  }
  return r;
}

// The gRPC status for an HTTP answer that is not 200: its code from the HTTP status, its message
// from the JSON error body.
grpc::Status ErrorFrom(const api::HttpResponse& res) {
  std::string message = "HTTP " + std::to_string(res.status);
  const json j = json::parse(res.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object())
    message = j["error"].value("message", message);
  return grpc::Status(static_cast<grpc::StatusCode>(api::GrpcCodeForHttpStatus(res.status)),
                      message);
}

grpc::Status Invalid(const Status& s) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, s.message());
}

std::string ModelPath(const std::string& name, const std::string& version) {
  return "/v2/models/" + name + (version.empty() ? "" : "/versions/" + version);
}

// A model or version name that can go into a path unchanged.
bool PathSafe(const std::string& s) {
  for (char c : s)
    if (c == '/' || c == '?' || c == '#' || static_cast<unsigned char>(c) < 0x20) return false;
  return true;
}

class Service final : public inference::GRPCInferenceService::Service {
 public:
  explicit Service(KServeGrpcHandlers h) : h_(std::move(h)) {}

  grpc::Status ServerLive(grpc::ServerContext*, const inference::ServerLiveRequest*,
                          inference::ServerLiveResponse* out) override {
    out->set_live(true);
    return grpc::Status::OK;
  }

  grpc::Status ServerReady(grpc::ServerContext* ctx, const inference::ServerReadyRequest*,
                           inference::ServerReadyResponse* out) override {
    api::HttpResponse res;
    if (!Run(HttpFor(*ctx, "GET", "/v2/health/ready"), &res)) return ErrorFrom(res);
    out->set_ready(res.status == 200);
    return res.status == 200 || res.status == 503 ? grpc::Status::OK : ErrorFrom(res);
  }

  grpc::Status ModelReady(grpc::ServerContext* ctx, const inference::ModelReadyRequest* in,
                          inference::ModelReadyResponse* out) override {
    if (!PathSafe(in->name()) || !PathSafe(in->version()) || in->name().empty())
      return Invalid(InvalidArgument("bad model name or version"));
    api::HttpResponse res;
    if (!Run(HttpFor(*ctx, "GET", ModelPath(in->name(), in->version()) + "/ready"), &res))
      return ErrorFrom(res);
    out->set_ready(res.status == 200);
    return res.status == 200 || res.status == 503 ? grpc::Status::OK : ErrorFrom(res);
  }

  grpc::Status ServerMetadata(grpc::ServerContext* ctx, const inference::ServerMetadataRequest*,
                              inference::ServerMetadataResponse* out) override {
    api::HttpResponse res;
    if (!Run(HttpFor(*ctx, "GET", "/v2"), &res) || res.status != 200) return ErrorFrom(res);
    const json j = json::parse(res.body, nullptr, false);
    if (!j.is_object()) return grpc::Status(grpc::StatusCode::INTERNAL, "bad server metadata");
    out->set_name(j.value("name", ""));
    out->set_version(j.value("version", ""));
    for (const auto& e : j.value("extensions", json::array()))
      if (e.is_string()) out->add_extensions(e.get<std::string>());
    return grpc::Status::OK;
  }

  grpc::Status ModelMetadata(grpc::ServerContext* ctx, const inference::ModelMetadataRequest* in,
                             inference::ModelMetadataResponse* out) override {
    if (!PathSafe(in->name()) || !PathSafe(in->version()) || in->name().empty())
      return Invalid(InvalidArgument("bad model name or version"));
    api::HttpResponse res;
    if (!Run(HttpFor(*ctx, "GET", ModelPath(in->name(), in->version())), &res) || res.status != 200)
      return ErrorFrom(res);
    const json j = json::parse(res.body, nullptr, false);
    if (!j.is_object()) return grpc::Status(grpc::StatusCode::INTERNAL, "bad model metadata");
    out->set_name(j.value("name", ""));
    for (const auto& v : j.value("versions", json::array()))
      if (v.is_string()) out->add_versions(v.get<std::string>());
    out->set_platform(j.value("platform", ""));
    for (const char* side : {"inputs", "outputs"})
      for (const auto& t : j.value(side, json::array())) {
        auto* m = std::string(side) == "inputs" ? out->add_inputs() : out->add_outputs();
        m->set_name(t.value("name", ""));
        m->set_datatype(t.value("datatype", ""));
        for (const auto& d : t.value("shape", json::array())) m->add_shape(d.get<int64_t>());
      }
    return grpc::Status::OK;
  }

  grpc::Status ModelInfer(grpc::ServerContext* ctx, const inference::ModelInferRequest* in,
                          inference::ModelInferResponse* out) override {
    if (!PathSafe(in->model_name()) || !PathSafe(in->model_version()) || in->model_name().empty())
      return Invalid(InvalidArgument("bad model name or version"));
    api::HttpRequest req =
        HttpFor(*ctx, "POST", ModelPath(in->model_name(), in->model_version()) + "/infer");
    api::HttpResponse res;
    if (!Authorized(req, &res)) return ErrorFrom(res);
    std::vector<NamedTensor> inputs;
    if (Status s = InputsFromProto(*in, &inputs); !s.ok()) return Invalid(s);
    size_t json_length = 0;
    req.body = api::KServeBinaryRequest(inputs, /*binary_outputs=*/true, &json_length);
    req.headers.emplace(api::kInferenceHeaderLength, std::to_string(json_length));
    inputs.clear();  // the body holds a copy
    h_.dispatch(std::move(req), &res);
    if (res.status != 200) return ErrorFrom(res);
    size_t response_json = res.body.size();
    for (const auto& [k, v] : res.headers)
      if (k == api::kInferenceHeaderLength) response_json = std::strtoull(v.c_str(), nullptr, 10);
    std::vector<NamedTensor> outputs;
    if (Status s = api::ParseKServeInferResponse(res.body, response_json, &outputs); !s.ok())
      return grpc::Status(grpc::StatusCode::INTERNAL, "bad inference response: " + s.message());
    const json head =
        json::parse(std::string_view(res.body).substr(0, response_json), nullptr, false);
    out->set_model_name(head.is_object() ? head.value("model_name", in->model_name())
                                         : in->model_name());
    out->set_model_version(head.is_object() ? head.value("model_version", "") : "");
    out->set_id(in->id());
    if (in->outputs_size() == 0) {
      for (const NamedTensor& o : outputs) AddRawOutput(o.name, o.tensor, out);
      return grpc::Status::OK;
    }
    for (const auto& wanted : in->outputs()) {
      const NamedTensor* found = nullptr;
      for (const NamedTensor& o : outputs)
        if (o.name == wanted.name()) found = &o;
      if (!found)
        return Invalid(InvalidArgument("unknown output '" + wanted.name() + "' for model '" +
                                       in->model_name() + "'"));
      AddRawOutput(found->name, found->tensor, out);
    }
    return grpc::Status::OK;
  }

 private:
  bool Authorized(const api::HttpRequest& req, api::HttpResponse* res) const {
    return !h_.authorize || h_.authorize(req, res);
  }
  // Authorizes and dispatches; false when the guard refused (the refusal is in `res`).
  bool Run(api::HttpRequest req, api::HttpResponse* res) const {
    if (!Authorized(req, res)) return false;
    h_.dispatch(std::move(req), res);
    return true;
  }

  KServeGrpcHandlers h_;
};

}  // namespace

struct KServeGrpcServer::Impl {
  std::unique_ptr<Service> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::once_flag stopped;
};

KServeGrpcServer::KServeGrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KServeGrpcServer::~KServeGrpcServer() { Stop(); }

Status KServeGrpcServer::Start(const KServeGrpcOptions& options, KServeGrpcHandlers handlers,
                               std::unique_ptr<KServeGrpcServer>* out) {
  if (!handlers.dispatch) return InvalidArgument("KServe gRPC: no dispatch handler");
  auto impl = std::make_unique<Impl>();
  impl->service = std::make_unique<Service>(std::move(handlers));
  grpc::ServerBuilder builder;
  const std::string address = options.host + ":" + std::to_string(options.port);
  if (options.tls_cert_pem.empty() != options.tls_key_pem.empty())
    return InvalidArgument("KServe gRPC: TLS needs both a certificate and its private key");
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!options.tls_cert_pem.empty()) {
    grpc::SslServerCredentialsOptions tls(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    tls.pem_key_cert_pairs.push_back({options.tls_key_pem, options.tls_cert_pem});
    creds = grpc::SslServerCredentials(tls);
  }
  builder.AddListeningPort(address, creds, &impl->port);
  builder.RegisterService(impl->service.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  impl->server = builder.BuildAndStart();
  if (!impl->server || impl->port <= 0)
    return Unavailable("KServe gRPC: cannot listen on " + address);
  out->reset(new KServeGrpcServer(std::move(impl)));
  return Status::Ok();
}

int KServeGrpcServer::port() const { return impl_->port; }

void KServeGrpcServer::Stop() {
  std::call_once(impl_->stopped, [this] {
    impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(30));
    impl_->server->Wait();
  });
}

}  // namespace epara::kserve_grpc
