// LibTorchBackend: runs TorchScript modules (torch::jit::load) on cpu or cuda:N. CUDA paths compile
// everywhere (LibTorch's device API is generic); CUDA-only queries (free memory) are compiled in
// only when the LibTorch found by CMake has CUDA (EPARA_WITH_CUDA).
//
// Threads: LibTorch's OpenMP intra-op pool size is a per-calling-thread setting, so each instance
// applies its own LoadSpec::threads in its worker thread before every Run().
#pragma once

#include <memory>

#include "backend/backend.h"

namespace epara::backend {

// Creates the LibTorch backend. Never fails; devices are probed lazily.
std::unique_ptr<Backend> CreateLibTorchBackend();

// True when this binary was built against a LibTorch with CUDA support.
bool LibTorchBuiltWithCuda();

}  // namespace epara::backend
