// `epara serve --models DIR [--host H] [--port P] [--api-keys F] [--tls-cert C --tls-key K]`: a
// single-node server (HTTPS and gRPC over TLS with a certificate).
#include <spdlog/spdlog.h>

#include "api/server.h"
#include "cli/commands.h"
#include "cli/process_support.h"
#include "kserve_grpc/kserve_grpc_server.h"
#include "security/access_policy.h"
#include "security/api_keys.h"

namespace epara::cli {
namespace {

struct ServeFlags {
  api::ServerOptions options;
  std::string port_file;
  size_t max_body_mb = 64;
  std::string request_work_class = "idle";
  std::string api_keys;
  bool insecure = false;
  int grpc_port = -1;  // KServe v2 over gRPC; -1: off, 0: any free port
  std::string grpc_port_file;
  std::string tls_cert, tls_key;  // HTTPS and gRPC over TLS
};

// The whole file, or false.
bool ReadPem(const std::string& path, std::string* out) {
  *out = ReadTextFile(path);
  return out->find("-----BEGIN ") != std::string::npos;
}

int RunServe(ServeFlags flags) {
  // Block the stop signals in every thread; this thread waits for them below.
  const sigset_t stop_signals = BlockStopSignals();

  flags.options.http.max_body_bytes = flags.max_body_mb << 20;
  if (!flags.api_keys.empty()) {
    auto ring = std::make_shared<security::KeyRing>();
    if (Status s = security::KeyRing::Load(flags.api_keys, ring.get()); !s.ok()) {
      spdlog::error("--api-keys: {}", s.ToString());
      return 2;
    }
    spdlog::info("{} API key(s) from {}", ring->size(), flags.api_keys);
    flags.options.guard.keys = std::move(ring);
  }
  const bool has_keys = flags.options.guard.keys && !flags.options.guard.keys->empty();
  if (Status s = security::CheckExposure("the HTTP API", flags.options.http.host, has_keys,
                                         flags.insecure);
      !s.ok()) {
    spdlog::error("{}", s.message());
    return 2;
  }
  if (!has_keys && !security::IsLoopbackHost(flags.options.http.host))
    spdlog::warn("--insecure: the HTTP API on {} accepts requests from anyone (no API keys)",
                 flags.options.http.host);
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    spdlog::error("--tls-cert and --tls-key go together");
    return 2;
  }
  const bool tls = !flags.tls_cert.empty();
  std::string cert_pem, key_pem;
  if (tls && (!ReadPem(flags.tls_cert, &cert_pem) || !ReadPem(flags.tls_key, &key_pem))) {
    spdlog::error("--tls-cert/--tls-key: {} or {} cannot be read or is not PEM", flags.tls_cert,
                  flags.tls_key);
    return 2;
  }
  flags.options.http.tls_cert_file = flags.tls_cert;
  flags.options.http.tls_key_file = flags.tls_key;
  if (has_keys && !tls && !security::IsLoopbackHost(flags.options.http.host))
    spdlog::warn("the API keys cross the network in clear on {}: add --tls-cert and --tls-key",
                 flags.options.http.host);
  flags.options.request_work_idle_class = flags.request_work_class == "idle";
  flags.options.llm_loader = LibTorchLlmLoader();
  backend::BackendRegistry backends;
  if (!RegisterBackends(&backends)) return 1;
  std::unique_ptr<api::Server> server;
  if (Status s = api::Server::Create(flags.options, &backends, &server); !s.ok()) {
    spdlog::error("cannot start: {}", s.ToString());
    return 1;
  }
  if (flags.options.request_work_idle_class && !server->request_work_idle_class())
    spdlog::warn("the kernel refused SCHED_IDLE; request work runs at normal priority");

  LogModels(*server);
  if (Status s = server->Start(); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  spdlog::info("epara serving on {}://{}:{}", tls ? "https" : "http", flags.options.http.host,
               server->port());
  std::unique_ptr<kserve_grpc::KServeGrpcServer> grpc;
  if (flags.grpc_port >= 0) {
    kserve_grpc::KServeGrpcOptions go;
    go.host = flags.options.http.host;
    go.port = flags.grpc_port;
    go.max_message_bytes = flags.options.http.max_body_bytes;
    go.tls_cert_pem = cert_pem;
    go.tls_key_pem = key_pem;
    api::Server* s = server.get();
    kserve_grpc::KServeGrpcHandlers h;
    h.dispatch = [s](api::HttpRequest req, api::HttpResponse* res) {
      s->Dispatch(std::move(req), res);
    };
    h.authorize = [s](const api::HttpRequest& req, api::HttpResponse* res) {
      return s->Authorize(req, res);
    };
    if (Status st = kserve_grpc::KServeGrpcServer::Start(go, std::move(h), &grpc); !st.ok()) {
      spdlog::error("{}", st.ToString());
      server->Stop();
      return 1;
    }
    spdlog::info("KServe v2 gRPC (inference.GRPCInferenceService) on {}:{}{}", go.host,
                 grpc->port(), tls ? " (TLS)" : "");
    WritePortFile(flags.grpc_port_file, std::to_string(grpc->port()));
  }
  WritePortFile(flags.port_file, std::to_string(server->port()));
  const int sig = WaitForStopSignal(stop_signals);
  spdlog::info("signal {}: stopping (answering requests in flight)", sig);
  if (grpc) grpc->Stop();  // its calls run through the server: stop it first
  server->Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd =
      app.add_subcommand("serve", "Serve the models of a model repository on this machine");
  cmd->add_option("--models", flags->options.models_dir, "Model repository folder")->required();
  cmd->add_option("--host", flags->options.http.host, "Address to bind")->capture_default_str();
  cmd->add_option("--port", flags->options.http.port, "Port (0 = any free port)")
      ->capture_default_str();
  cmd->add_option("--port-file", flags->port_file,
                  "Write the bound port to this file once listening");
  cmd->add_option("--http-threads", flags->options.http.threads,
                  "HTTP requests handled at once (worker threads)")
      ->capture_default_str();
  cmd->add_flag("--thread-per-connection", flags->options.http.thread_per_connection,
                "Serve HTTP(S) on a thread per connection (cpp-httplib) instead of the event loop; "
                "for benchmarks that compare the two (it is not slowloris-proof)");
  cmd->add_option("--max-body-mb", flags->max_body_mb, "Largest request body accepted (413 above)")
      ->capture_default_str();
  cmd->add_option("--request-work-class", flags->request_work_class,
                  "CPU class of request work (image decode/encode, JSON tensors): 'idle' runs it "
                  "only while the models' threads wait (best throughput on few cores), 'normal' "
                  "competes with them")
      ->check(CLI::IsMember({"idle", "normal"}))
      ->capture_default_str();
  cmd->add_option("--grpc-port", flags->grpc_port,
                  "Also serve KServe v2 over gRPC on this port (0: any free port; default: off)");
  cmd->add_option("--grpc-port-file", flags->grpc_port_file,
                  "Write the bound gRPC port to this file once listening");
  cmd->add_option("--api-keys", flags->api_keys,
                  "API keys (YAML of hashes, `epara keys create`): the model APIs need a key "
                  "with the infer scope, /metrics any key");
  cmd->add_option("--tls-cert", flags->tls_cert,
                  "PEM certificate (chain): serve HTTPS, and gRPC over TLS (`epara certs issue` "
                  "makes one, or bring your own)");
  cmd->add_option("--tls-key", flags->tls_key, "PEM private key of --tls-cert");
  cmd->add_flag("--public-metrics", flags->options.guard.access.public_metrics,
                "Serve GET /metrics without a key");
  cmd->add_flag("--insecure", flags->insecure,
                "Allow a non-loopback --host without API keys (logged as a warning)");
  cmd->add_flag("--skip-invalid", flags->options.skip_invalid_models,
                "Serve valid models when some are invalid");
  cmd->callback([flags, exit_code] { *exit_code = RunServe(*flags); });
}

}  // namespace epara::cli
