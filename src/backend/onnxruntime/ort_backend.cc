#include "backend/onnxruntime/ort_backend.h"

#include <onnxruntime_cxx_api.h>

#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <thread>

namespace epara::backend {
namespace {

// The element types epara carries, in both directions.
struct TypePair {
  ONNXTensorElementDataType ort;
  DataType epara;
};
constexpr TypePair kTypes[] = {
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, DataType::kFp32},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16, DataType::kFp16},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE, DataType::kFp64},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8, DataType::kInt8},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8, DataType::kUInt8},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, DataType::kInt32},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, DataType::kInt64},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, DataType::kBool},
};

bool ToDataType(ONNXTensorElementDataType t, DataType* out) {
  for (const TypePair& p : kTypes)
    if (p.ort == t) {
      *out = p.epara;
      return true;
    }
  return false;
}

ONNXTensorElementDataType ToOrtType(DataType d) {
  for (const TypePair& p : kTypes)
    if (p.epara == d) return p.ort;
  return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
}

// Reads one input's or output's declaration (its name always). InvalidArgument for a non-tensor or
// a datatype epara does not carry (strings, bfloat16, ...).
Status ReadTensorInfo(const Ort::TypeInfo& type, const std::string& name, const char* role,
                      TensorInfo* out) {
  out->name = name;
  if (type.GetONNXType() != ONNX_TYPE_TENSOR)
    return InvalidArgument(std::string(role) + " '" + name + "' is not a tensor");
  auto info = type.GetTensorTypeAndShapeInfo();
  if (!ToDataType(info.GetElementType(), &out->dtype))
    return InvalidArgument(std::string(role) + " '" + name + "' has ONNX element type " +
                           std::to_string(static_cast<int>(info.GetElementType())) +
                           ", which epara does not serve (supported: FP32, FP16, FP64, INT8, "
                           "UINT8, INT32, INT64, BOOL)");
  out->shape = info.GetShape();
  for (int64_t& d : out->shape)
    if (d < 0) d = -1;
  return Status::Ok();
}

std::string JoinNames(const std::vector<TensorInfo>& v) {
  std::string s;
  for (const auto& t : v) s += (s.empty() ? "" : ", ") + t.name;
  return s;
}

// Picks `wanted` (by name) out of `declared`; all of them, in the model's order, when `wanted` is
// empty. Each pick must have a datatype epara serves.
Status SelectTensors(const std::vector<std::string>& wanted,
                     const std::vector<TensorInfo>& declared,
                     const std::vector<Status>& declared_ok, const std::string& model,
                     const char* role, std::vector<size_t>* picks) {
  picks->clear();
  if (wanted.empty()) {
    for (size_t i = 0; i < declared.size(); ++i) picks->push_back(i);
  } else {
    for (const auto& name : wanted) {
      size_t i = 0;
      while (i < declared.size() && declared[i].name != name) ++i;
      if (i == declared.size())
        return InvalidArgument(model + ": the descriptor's " + role + " '" + name +
                               "' is not one of the model's (" + JoinNames(declared) + ")");
      picks->push_back(i);
    }
  }
  for (size_t i : *picks)
    if (!declared_ok[i].ok()) return declared_ok[i].WithContext(model);
  return Status::Ok();
}

class OrtInstance final : public ModelInstance {
 public:
  OrtInstance(std::shared_ptr<Ort::Env> env, Ort::Session session, std::string device,
              ModelSignature signature, std::vector<size_t> in_picks, std::vector<size_t> out_picks,
              int64_t footprint)
      : env_(std::move(env)),
        session_(std::move(session)),
        device_(std::move(device)),
        signature_(std::move(signature)),
        footprint_(footprint),
        memory_(Ort::MemoryInfo::CreateCpu(OrtDeviceAllocator, OrtMemTypeCPU)) {
    for (size_t i : in_picks) {
      in_names_.push_back(signature_.inputs[i].name);
      in_types_.push_back(signature_.inputs[i].dtype);
    }
    for (size_t i : out_picks) out_names_.push_back(signature_.outputs[i].name);
    for (const auto& n : in_names_) in_ptrs_.push_back(n.c_str());
    for (const auto& n : out_names_) out_ptrs_.push_back(n.c_str());
  }

  Status Run(const std::vector<Tensor>& inputs, std::vector<Tensor>* outputs) override {
    if (inputs.size() != in_names_.size())
      return InvalidArgument("expected " + std::to_string(in_names_.size()) + " inputs, got " +
                             std::to_string(inputs.size()));
    try {
      std::vector<Ort::Value> values;
      values.reserve(inputs.size());
      for (size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& t = inputs[i];
        if (t.dtype() != in_types_[i])
          return InvalidArgument("input '" + in_names_[i] + "' is " +
                                 std::string(DataTypeName(t.dtype())) + ", the model takes " +
                                 std::string(DataTypeName(in_types_[i])));
        // ONNX Runtime reads inputs only; the const_cast lets it wrap the buffer without a copy.
        values.push_back(Ort::Value::CreateTensor(memory_, const_cast<std::byte*>(t.raw()),
                                                  t.byte_size(), t.shape().data(), t.shape().size(),
                                                  ToOrtType(t.dtype())));
      }
      std::vector<Ort::Value> results =
          session_.Run(Ort::RunOptions{nullptr}, in_ptrs_.data(), values.data(), values.size(),
                       out_ptrs_.data(), out_ptrs_.size());
      outputs->clear();
      for (size_t i = 0; i < results.size(); ++i) {
        auto owner = std::make_shared<Ort::Value>(std::move(results[i]));
        if (!owner->IsTensor()) return Internal("output '" + out_names_[i] + "' is not a tensor");
        auto info = owner->GetTensorTypeAndShapeInfo();
        DataType dtype;
        if (!ToDataType(info.GetElementType(), &dtype))
          return Internal("output '" + out_names_[i] + "' has an unsupported element type");
        std::vector<int64_t> shape = info.GetShape();
        auto* data = static_cast<std::byte*>(owner->GetTensorMutableRawData());
        outputs->push_back(Tensor::Wrap(dtype, std::move(shape), owner, data));
      }
      return Status::Ok();
    } catch (const Ort::Exception& e) {
      // Inputs were validated against the model's signature, so this is the engine's failure (a
      // shape the graph rejects deep inside, out of memory): a server-side error.
      return Internal(std::string("onnxruntime: ") + e.what());
    }
  }

  int64_t MemoryFootprintBytes() const override { return footprint_; }
  const std::string& device() const override { return device_; }
  bool Signature(ModelSignature* out) const override {
    *out = signature_;
    return true;
  }

 private:
  std::shared_ptr<Ort::Env> env_;  // outlives the session
  Ort::Session session_;
  std::string device_;
  ModelSignature signature_;
  int64_t footprint_;
  Ort::MemoryInfo memory_;
  std::vector<std::string> in_names_, out_names_;
  std::vector<DataType> in_types_;
  std::vector<const char*> in_ptrs_, out_ptrs_;
};

bool HasProvider(const std::string& name) {
  const auto p = OrtProviders();
  return std::find(p.begin(), p.end(), name) != p.end();
}

class OrtBackend final : public Backend {
 public:
  OrtBackend() : env_(std::make_shared<Ort::Env>(ORT_LOGGING_LEVEL_ERROR, "epara")) {}

  std::string name() const override { return "onnxruntime"; }
  ApiVersion version() const override { return {}; }

  std::vector<DeviceInfo> Devices() const override {
    DeviceInfo cpu;
    cpu.name = "cpu";
    cpu.kind = DeviceKind::kCpu;
    cpu.description = std::to_string(std::thread::hardware_concurrency()) + " cores (onnxruntime " +
                      OrtVersion() + ")";
    cpu.memory_total_bytes = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
    std::vector<DeviceInfo> devices{cpu};
    if (HasProvider("CUDAExecutionProvider")) {
      DeviceInfo d;
      d.name = "cuda:0";
      d.kind = DeviceKind::kCuda;
      d.description = "CUDA execution provider";
      devices.push_back(d);
    }
    return devices;
  }

  Status Load(const LoadSpec& spec, std::unique_ptr<ModelInstance>* out) override {
    std::string path;
    EPARA_RETURN_IF_ERROR(FirstArtifact(spec, &path));
    std::error_code ec;
    const int64_t footprint = static_cast<int64_t>(std::filesystem::file_size(path, ec));
    try {
      Ort::SessionOptions options;
      options.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
      options.SetExecutionMode(ExecutionMode::ORT_SEQUENTIAL);
      options.SetInterOpNumThreads(1);
      if (spec.device == "cpu") {
        options.SetIntraOpNumThreads(std::max(1, spec.threads));
        // No spinning: an intra-op worker that spins after a run keeps a core from the request
        // work epara runs in SCHED_IDLE (decode, encode), and the response waits for the spin to
        // end. Measured with seg_bench's 64x64 UNet, 2 threads: the server added 5.3 ms p50 with
        // spinning, 1.2 ms without; the bare run went from 2.1 to 3.2 ms (docs/ARCHITECTURE.md 15).
        options.AddConfigEntry("session.intra_op.allow_spinning", "0");
      } else if (spec.device.rfind("cuda:", 0) == 0) {
        int index = -1;
        try {
          index = std::stoi(spec.device.substr(5));
        } catch (const std::exception&) {
        }
        if (index < 0) return InvalidArgument("unknown device '" + spec.device + "'");
        if (!HasProvider("CUDAExecutionProvider"))
          return Unavailable("device " + spec.device + " requested but this ONNX Runtime (" +
                             OrtVersion() + ") has no CUDA execution provider");
        OrtCUDAProviderOptions cuda;
        cuda.device_id = index;
        options.AppendExecutionProvider_CUDA(cuda);
      } else {
        return InvalidArgument("unknown device '" + spec.device + "' (expected cpu or cuda:N)");
      }
      Ort::Session session(*env_, path.c_str(), options);

      // Every declared tensor, with whether epara can carry it (an unused output of another type
      // does not stop the load; a selected one does, in SelectTensors).
      ModelSignature sig;
      std::vector<Status> in_ok, out_ok;
      Ort::AllocatorWithDefaultOptions alloc;
      const auto declare = [&](const std::string& name, const Ort::TypeInfo& type, const char* role,
                               std::vector<TensorInfo>* list, std::vector<Status>* ok) {
        ok->push_back(ReadTensorInfo(type, name, role, &list->emplace_back()));
      };
      for (size_t i = 0; i < session.GetInputCount(); ++i)
        declare(session.GetInputNameAllocated(i, alloc).get(), session.GetInputTypeInfo(i), "input",
                &sig.inputs, &in_ok);
      for (size_t i = 0; i < session.GetOutputCount(); ++i)
        declare(session.GetOutputNameAllocated(i, alloc).get(), session.GetOutputTypeInfo(i),
                "output", &sig.outputs, &out_ok);
      std::vector<size_t> in_picks, out_picks;
      const std::string where = spec.model_name + ": " + path;
      EPARA_RETURN_IF_ERROR(
          SelectTensors(spec.input_names, sig.inputs, in_ok, where, "input", &in_picks));
      if (in_picks.size() != sig.inputs.size())
        return InvalidArgument(where + ": the descriptor names " + std::to_string(in_picks.size()) +
                               " inputs, the model takes " + std::to_string(sig.inputs.size()) +
                               " (" + JoinNames(sig.inputs) + ")");
      EPARA_RETURN_IF_ERROR(
          SelectTensors(spec.output_names, sig.outputs, out_ok, where, "output", &out_picks));
      *out = std::make_unique<OrtInstance>(env_, std::move(session), spec.device, std::move(sig),
                                           std::move(in_picks), std::move(out_picks), footprint);
      return Status::Ok();
    } catch (const Ort::Exception& e) {
      return InvalidArgument(spec.model_name + ": " + path +
                             " is not a loadable ONNX model: " + e.what());
    }
  }

 private:
  std::shared_ptr<Ort::Env> env_;
};

}  // namespace

std::unique_ptr<Backend> CreateOrtBackend() { return std::make_unique<OrtBackend>(); }

std::vector<std::string> OrtProviders() {
  try {
    return Ort::GetAvailableProviders();
  } catch (const Ort::Exception&) {
    return {};
  }
}

std::string OrtVersion() { return Ort::GetVersionString(); }

}  // namespace epara::backend
