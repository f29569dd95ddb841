// OrtBackend ("onnxruntime"): runs ONNX models through ONNX Runtime's C/C++ API. The only
// translation units that include ONNX Runtime's headers are in this folder; the library (1.29.0,
// from scripts/fetch_assets.sh) is linked only where CMake found it (EPARA_HAVE_ORT).
//
// - Models describe themselves: Signature() reports input/output names, datatypes and shapes
//   (dynamic dims as -1) read from the .onnx file, so descriptors may omit inputs/outputs.
// - Datatypes: FP32, FP16, FP64, INT8, UINT8, INT32, INT64, BOOL at the model's inputs and outputs
//   (inside, any operator ONNX Runtime has: quantized graphs, ConvInteger, ...).
// - cpu: LoadSpec::threads intra-op threads per session (one instance = one session), sequential
//   execution, intra-op workers that block instead of spinning when idle. cuda:N through the CUDA execution provider where the library has it; Unavailable
//   otherwise (the shipped build is CPU-only).
// - Inputs are passed to the engine without a copy; outputs are ONNX Runtime's buffers, wrapped.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace epara::backend {

// Creates the ONNX Runtime backend (its environment is created here, once per process).
std::unique_ptr<Backend> CreateOrtBackend();

// Execution providers of the ONNX Runtime this binary runs ("CPUExecutionProvider", ...).
std::vector<std::string> OrtProviders();
// "1.29.0".
std::string OrtVersion();

}  // namespace epara::backend
