#include "cli/process_support.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "backend/libtorch/libtorch_backend.h"
#ifdef EPARA_HAVE_ORT
#include "backend/onnxruntime/ort_backend.h"
#endif
#include "llm/engine_factory.h"

namespace epara::cli {

sigset_t BlockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

int WaitForStopSignal(const sigset_t& signals) {
  int sig = 0;
  sigwait(&signals, &sig);
  return sig;
}

decltype(api::ServerOptions::llm_loader) LibTorchLlmLoader() {
  return [](const ModelDescriptor& d, std::unique_ptr<llm::LlmEngine>* out) {
    bool recognized = true;
    EPARA_RETURN_IF_ERROR(llm::CreateEngineFromDescriptor(d, out, &recognized));
    if (!recognized)
      spdlog::warn("model {}: chat template not recognized; using epara's default", d.name);
    return Status::Ok();
  };
}

decltype(api::ServerOptions::llm_stage_loader) LibTorchLlmStageLoader() {
  return [](const ModelDescriptor& d, std::unique_ptr<llm::LlamaModel>* out) {
    llm::LlamaLoadOptions o{d.instances.device, d.llm.threads};
    o.first_layer = d.llm.first_layer;
    o.end_layer = d.llm.end_layer;
    return llm::LlamaModel::Load(d.directory, o, out);
  };
}

bool RegisterBackends(backend::BackendRegistry* backends) {
  if (Status s = backends->Register(backend::CreateLibTorchBackend()); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return false;
  }
#ifdef EPARA_HAVE_ORT
  if (Status s = backends->Register(backend::CreateOrtBackend()); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return false;
  }
#endif
  return true;
}

void LogModels(api::Server& server) {
  for (const auto* m : server.models().List()) {
    spdlog::info("model {} [{}] {} on {}: {:.1f} MB{}", m->descriptor.name,
                 TaskTypeName(m->descriptor.task), engine::ModelStateName(m->state),
                 m->descriptor.instances.device, m->memory_footprint_bytes / 1e6,
                 m->load_error.ok() ? "" : " (" + m->load_error.message() + ")");
  }
  for (const api::LlmRegistry::Info& i : server.llms().List())
    spdlog::info("model {} [llm] READY on {}: {:.1f} MB weights, {} MB KV cache", i.name, "cpu",
                 i.engine->model().weight_bytes() / 1e6, i.engine->kv_budget_bytes() >> 20);
  for (const std::string& why : server.skipped()) spdlog::warn("skipped {}", why);
}

void WritePortFile(const std::string& path, const std::string& content) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << content << "\n";
  std::rename(tmp.c_str(), path.c_str());
}

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool ChildExited(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == pid;
}

}  // namespace epara::cli
