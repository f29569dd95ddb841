#include "backend/libtorch/libtorch_backend.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <thread>

#ifdef EPARA_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

#include "backend/libtorch/torch_tensor_convert.h"
#include "backend/libtorch/torch_threads.h"

namespace epara::backend {
namespace {

int64_t HostMemAvailableBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

Status ParseDevice(const std::string& name, torch::Device* out) {
  try {
    *out = torch::Device(name);
  } catch (const std::exception&) {
    return InvalidArgument("unknown device '" + name + "' (expected cpu or cuda:N)");
  }
  if (out->is_cuda()) {
    if (!torch::cuda::is_available())
      return Unavailable("device " + name + " requested but no CUDA device is available" +
                         (LibTorchBuiltWithCuda() ? "" : " (this build's LibTorch has no CUDA)"));
    if (out->index() >= static_cast<int>(torch::cuda::device_count()))
      return Unavailable("device " + name + " does not exist (found " +
                         std::to_string(torch::cuda::device_count()) + " CUDA devices)");
  } else if (!out->is_cpu()) {
    return InvalidArgument("unsupported device '" + name + "'");
  }
  return Status::Ok();
}

class LibTorchInstance final : public ModelInstance {
 public:
  LibTorchInstance(torch::jit::Module module, torch::Device device, std::string device_name,
                   int threads, size_t num_outputs)
      : module_(std::move(module)),
        device_(device),
        device_name_(std::move(device_name)),
        threads_(threads),
        num_outputs_(num_outputs) {
    for (const auto& p : module_.parameters()) footprint_ += p.numel() * p.element_size();
    for (const auto& b : module_.buffers()) footprint_ += b.numel() * b.element_size();
  }

  Status Run(const std::vector<Tensor>& inputs, std::vector<Tensor>* outputs) override {
    try {
      if (device_.is_cpu()) ApplyIntraOpThreads(threads_);
      c10::InferenceMode guard;
      std::vector<torch::jit::IValue> args;
      args.reserve(inputs.size());
      for (const Tensor& t : inputs)
        args.emplace_back(ToTorch(t).to(device_, /*non_blocking=*/false));
      torch::jit::IValue result = module_.forward(args);
      std::vector<at::Tensor> outs;
      if (result.isTensor()) {
        outs.push_back(result.toTensor());
      } else if (result.isTuple()) {
        for (const auto& v : result.toTupleRef().elements()) {
          if (!v.isTensor()) return Internal("module returned a tuple with a non-tensor element");
          outs.push_back(v.toTensor());
        }
      } else if (result.isTensorList()) {
        for (const at::Tensor& t : result.toTensorVector()) outs.push_back(t);
      } else {
        return Internal("module returned " + result.tagKind() + ", expected tensor(s)");
      }
      if (outs.size() != num_outputs_)
        return Internal("module returned " + std::to_string(outs.size()) +
                        " outputs, descriptor declares " + std::to_string(num_outputs_));
      outputs->clear();
      for (const at::Tensor& t : outs) {
        Tensor host;
        EPARA_RETURN_IF_ERROR(FromTorch(t, &host));
        outputs->push_back(std::move(host));
      }
      return Status::Ok();
    } catch (const c10::Error& e) {
      // Inputs were validated against the descriptor before reaching here, so a failure inside
      // the network means model and descriptor disagree: a server-side error.
      return Internal(std::string("libtorch: ") + e.what_without_backtrace());
    } catch (const std::exception& e) {  // torch::jit::JITException and friends
      return Internal(std::string("libtorch: ") + e.what());
    }
  }

  int64_t MemoryFootprintBytes() const override { return footprint_; }
  const std::string& device() const override { return device_name_; }

 private:
  torch::jit::Module module_;
  torch::Device device_;
  std::string device_name_;
  int threads_;
  size_t num_outputs_;
  int64_t footprint_ = 0;
};

class LibTorchBackend final : public Backend {
 public:
  std::string name() const override { return "libtorch"; }
  ApiVersion version() const override { return {}; }

  std::vector<DeviceInfo> Devices() const override {
    std::vector<DeviceInfo> devices;
    DeviceInfo cpu;
    cpu.name = "cpu";
    cpu.kind = DeviceKind::kCpu;
    cpu.description = std::to_string(std::thread::hardware_concurrency()) + " cores";
    cpu.memory_total_bytes = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
    cpu.memory_free_bytes = HostMemAvailableBytes();
    devices.push_back(cpu);
    if (torch::cuda::is_available()) {
      for (int i = 0; i < static_cast<int>(torch::cuda::device_count()); ++i) {
        DeviceInfo d;
        d.name = "cuda:" + std::to_string(i);
        d.kind = DeviceKind::kCuda;
        d.index = i;
#ifdef EPARA_WITH_CUDA
        cudaDeviceProp prop;
        if (cudaGetDeviceProperties(&prop, i) == cudaSuccess) d.description = prop.name;
        c10::cuda::CUDAGuard g(static_cast<c10::DeviceIndex>(i));
        size_t free_b = 0, total_b = 0;
        if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
          d.memory_total_bytes = static_cast<int64_t>(total_b);
          d.memory_free_bytes = static_cast<int64_t>(free_b);
        }
#endif
        devices.push_back(d);
      }
    }
    return devices;
  }

  Status Load(const LoadSpec& spec, std::unique_ptr<ModelInstance>* out) override {
    std::string path;
    EPARA_RETURN_IF_ERROR(FirstArtifact(spec, &path));
    torch::Device device(torch::kCPU);
    EPARA_RETURN_IF_ERROR(ParseDevice(spec.device, &device));
    try {
      torch::jit::Module module = torch::jit::load(path, device);
      module.eval();
      *out =
          std::make_unique<LibTorchInstance>(std::move(module), device, spec.device,
                                             std::max(1, spec.threads), spec.output_names.size());
      return Status::Ok();
    } catch (const c10::Error& e) {
      return InvalidArgument(
          spec.model_name + ": " + path +
          " is not a loadable TorchScript module: " + e.what_without_backtrace());
    } catch (const std::exception& e) {
      return InvalidArgument(spec.model_name + ": cannot load " + path + ": " + e.what());
    }
  }
};

}  // namespace

std::unique_ptr<Backend> CreateLibTorchBackend() { return std::make_unique<LibTorchBackend>(); }

bool LibTorchBuiltWithCuda() {
#ifdef EPARA_WITH_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace epara::backend
