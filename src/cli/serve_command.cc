// `epara serve --models DIR [--host H] [--port P]`: a single-node server.
#include <spdlog/spdlog.h>

#include <pthread.h>
#include <csignal>
#include <fstream>

#include "api/server.h"
#include "backend/libtorch/libtorch_backend.h"
#include "cli/commands.h"
#include "llm/engine_factory.h"

namespace epara::cli {
namespace {

struct ServeFlags {
  api::ServerOptions options;
  std::string port_file;
  size_t max_body_mb = 64;
  std::string request_work_class = "idle";
};

int RunServe(ServeFlags flags) {
  // Block the stop signals in every thread; this thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  flags.options.http.max_body_bytes = flags.max_body_mb << 20;
  flags.options.request_work_idle_class = flags.request_work_class == "idle";
  flags.options.llm_loader = [](const ModelDescriptor& d, std::unique_ptr<llm::LlmEngine>* out) {
    bool recognized = true;
    EPARA_RETURN_IF_ERROR(llm::CreateEngineFromDescriptor(d, out, &recognized));
    if (!recognized)
      spdlog::warn("model {}: chat template not recognized; using epara's default", d.name);
    return Status::Ok();
  };
  backend::BackendRegistry backends;
  if (Status s = backends.Register(backend::CreateLibTorchBackend()); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  std::unique_ptr<api::Server> server;
  if (Status s = api::Server::Create(flags.options, &backends, &server); !s.ok()) {
    spdlog::error("cannot start: {}", s.ToString());
    return 1;
  }
  if (flags.options.request_work_idle_class && !server->request_work_idle_class())
    spdlog::warn("the kernel refused SCHED_IDLE; request work runs at normal priority");

  for (const auto* m : server->models().List()) {
    spdlog::info("model {} [{}] {} on {}: {:.1f} MB{}", m->descriptor.name,
                 TaskTypeName(m->descriptor.task), engine::ModelStateName(m->state),
                 m->descriptor.instances.device, m->memory_footprint_bytes / 1e6,
                 m->load_error.ok() ? "" : " (" + m->load_error.message() + ")");
  }
  for (const auto& [name, engine] : server->llms())
    spdlog::info("model {} [llm] READY on {}: {:.1f} MB weights, {} MB KV cache", name, "cpu",
                 engine->model().weight_bytes() / 1e6, engine->kv_budget_bytes() >> 20);
  for (const std::string& why : server->skipped()) spdlog::warn("skipped {}", why);
  if (Status s = server->Start(); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  spdlog::info("epara serving on http://{}:{}", flags.options.http.host, server->port());
  if (!flags.port_file.empty()) {
    const std::string tmp = flags.port_file + ".tmp";
    std::ofstream(tmp) << server->port() << "\n";
    std::rename(tmp.c_str(), flags.port_file.c_str());
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("signal {}: stopping (answering requests in flight)", sig);
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
                  "Concurrent HTTP connections served")
      ->capture_default_str();
  cmd->add_option("--max-body-mb", flags->max_body_mb, "Largest request body accepted (413 above)")
      ->capture_default_str();
  cmd->add_option("--request-work-class", flags->request_work_class,
                  "CPU class of request work (image decode/encode, JSON tensors): 'idle' runs it "
                  "only while the models' threads wait (best throughput on few cores), 'normal' "
                  "competes with them")
      ->check(CLI::IsMember({"idle", "normal"}))
      ->capture_default_str();
  cmd->add_flag("--skip-invalid", flags->options.skip_invalid_models,
                "Serve valid models when some are invalid");
  cmd->callback([flags, exit_code] { *exit_code = RunServe(*flags); });
}

}  // namespace epara::cli
