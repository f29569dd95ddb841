// The backend boundary: the only way epara's core talks to an inference engine. Versioned like
// Triton's backend API: a backend whose major version differs from kBackendApiMajor is refused at
// registration; minor versions add optional behaviour only.
//
// Implementations live in src/backend/<name>/ and are the only translation units allowed to
// include an engine's headers (LibTorch's take ~15 s per file).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace epara::backend {

inline constexpr int kBackendApiMajor = 1;
// 1.1: ModelInstance::Signature (a model that describes its own inputs and outputs).
inline constexpr int kBackendApiMinor = 1;

struct ApiVersion {
  int major = kBackendApiMajor;
  int minor = kBackendApiMinor;
};

enum class DeviceKind { kCpu, kCuda };

struct DeviceInfo {
  std::string name;  // "cpu", "cuda:0"
  DeviceKind kind = DeviceKind::kCpu;
  int index = 0;
  std::string description;  // e.g. GPU product name, CPU core count
  int64_t memory_total_bytes = 0;
  int64_t memory_free_bytes = 0;
};

// A tensor as a model file declares it: the full shape (batch dimension included, when the model
// has one), -1 for a dimension the model leaves open.
struct TensorInfo {
  std::string name;
  DataType dtype = DataType::kFp32;
  std::vector<int64_t> shape;
};

struct ModelSignature {
  std::vector<TensorInfo> inputs;   // in the model's order
  std::vector<TensorInfo> outputs;  // in the model's order
};

// What to load and where. Derived from a ModelDescriptor by the engine.
struct LoadSpec {
  std::string model_name;
  std::vector<std::string> artifacts;  // absolute paths
  std::string device = "cpu";          // "cpu" or "cuda:N"
  int threads = 1;                     // intra-op threads for this instance (cpu)
  // Positional order of Run()'s inputs and outputs. A backend whose models name their tensors
  // (onnxruntime) maps these names onto the model's and takes the model's own order when empty;
  // one whose models do not (libtorch) uses them as the forward() order and the outputs' names.
  std::vector<std::string> input_names;
  std::vector<std::string> output_names;
};

// One loaded copy of a model on one device. Thread-compatible: the engine calls Run() from one
// worker thread at a time per instance.
class ModelInstance {
 public:
  virtual ~ModelInstance() = default;
  // Runs a batch. `inputs` are in LoadSpec::input_names order with the batch as dim 0 (when the
  // model batches). On success `outputs` holds one tensor per output name, on the host. Errors in
  // the engine (shape mismatch inside the network, out of memory) come back as Internal statuses;
  // the instance stays usable.
  virtual Status Run(const std::vector<Tensor>& inputs, std::vector<Tensor>* outputs) = 0;
  // Bytes of device memory held by the weights of this instance.
  virtual int64_t MemoryFootprintBytes() const = 0;
  virtual const std::string& device() const = 0;
  // API 1.1. The inputs and outputs the model file itself declares. Returns false when the engine
  // cannot tell (TorchScript modules keep no tensor types): descriptors must then state them.
  virtual bool Signature(ModelSignature* out) const { return false; }
};

// The file a backend loads: the spec's first artifact. InvalidArgument when the spec has none,
// NotFound when it is not a regular file; the messages name the model and the path.
Status FirstArtifact(const LoadSpec& spec, std::string* path);

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual ApiVersion version() const = 0;
  // Devices this backend can run on, on this host, right now.
  virtual std::vector<DeviceInfo> Devices() const = 0;
  // Loads one instance. Errors: NotFound (artifact missing), InvalidArgument (not a model this
  // backend understands, unknown device), Unavailable (device absent), Internal otherwise.
  virtual Status Load(const LoadSpec& spec, std::unique_ptr<ModelInstance>* out) = 0;
};

}  // namespace epara::backend
