// What the long-running `epara` commands (serve, node, up) share: stop signals, the LLM loader,
// the LibTorch backend, and port files for the tests and scripts that start them.
#pragma once

#include <csignal>
#include <memory>
#include <string>

#include <sys/types.h>

#include "api/server.h"
#include "backend/backend_registry.h"

namespace epara::cli {

// Blocks SIGINT and SIGTERM in this thread and every thread it starts later; WaitForStopSignal()
// then receives them. Call first thing in a command.
sigset_t BlockStopSignals();
// Waits for SIGINT or SIGTERM; returns the signal.
int WaitForStopSignal(const sigset_t& signals);

// ServerOptions::llm_loader backed by LibTorch (warns when a chat template is not recognized).
decltype(api::ServerOptions::llm_loader) LibTorchLlmLoader();
// ServerOptions::llm_stage_loader backed by LibTorch.
decltype(api::ServerOptions::llm_stage_loader) LibTorchLlmStageLoader();

// Registers the LibTorch backend and, where this build has it, ONNX Runtime ("onnxruntime");
// false (after logging) if one cannot be registered.
bool RegisterBackends(backend::BackendRegistry* backends);

// Logs every model of `server` with its state, device and memory, and the ones skipped.
void LogModels(api::Server& server);

// The whole file as text ("" when it cannot be read).
std::string ReadTextFile(const std::string& path);

// True once the child `pid` has exited (reaped; never blocks).
bool ChildExited(pid_t pid);

// Writes "port\n" (or "api_port peer_port\n") atomically: to path.tmp, then renamed.
void WritePortFile(const std::string& path, const std::string& content);

}  // namespace epara::cli
