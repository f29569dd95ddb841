#include "profiler/profiler.h"

#include <algorithm>
#include <chrono>

#include "backend/device_probe.h"
#include "engine/model_io.h"
#include "llm/llama_model.h"

namespace epara::profiler {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

Status ProfileTensorModel(const ModelDescriptor& descriptor, backend::BackendRegistry* backends,
                          const ProfilerOptions& o, allocator::Profile* out) {
  ModelDescriptor d = descriptor;  // completed from the model's own signature where it has one
  backend::Backend* be = backends->Get(d.backend);
  if (!be) return InvalidArgument("model '" + d.name + "': unknown backend '" + d.backend + "'");
  const bool batching = d.batching.max_batch_size > 0;
  for (int threads : o.threads) {
    backend::LoadSpec spec;
    spec.model_name = d.name;
    spec.artifacts = d.artifacts;
    spec.device = d.instances.device;
    spec.threads = threads;
    for (const auto& t : d.inputs) spec.input_names.push_back(t.name);
    for (const auto& t : d.outputs) spec.output_names.push_back(t.name);
    std::unique_ptr<backend::ModelInstance> inst;
    EPARA_RETURN_IF_ERROR(be->Load(spec, &inst));
    if (backend::ModelSignature sig; inst->Signature(&sig))
      EPARA_RETURN_IF_ERROR(engine::ResolveModelIo(sig, &d));
    for (const auto& t : d.inputs)
      for (int64_t dim : t.dims)
        if (dim <= 0)
          return Status(StatusCode::kUnimplemented,
                        "model '" + d.name + "': input '" + t.name +
                            "' has a variable dimension; the profiler needs fixed shapes");
    out->memory_bytes = inst->MemoryFootprintBytes();
    for (int batch : o.batches) {
      if (batch > 1 && (!batching || batch > d.batching.max_batch_size)) continue;
      std::vector<Tensor> inputs;
      for (const auto& t : d.inputs) {
        std::vector<int64_t> shape = t.dims;
        if (batching) shape.insert(shape.begin(), batch);
        inputs.emplace_back(t.dtype, shape);
      }
      std::vector<Tensor> outputs;
      EPARA_RETURN_IF_ERROR(inst->Run(inputs, &outputs));  // warm-up at this shape
      std::vector<double> samples;
      for (int r = 0; r < o.repeats; ++r) {
        const auto t0 = Clock::now();
        EPARA_RETURN_IF_ERROR(inst->Run(inputs, &outputs));
        samples.push_back(Ms(Clock::now() - t0));
      }
      out->batches.push_back({threads, batch, allocator::Summarize(samples)});
    }
  }
  return Status::Ok();
}

Status ProfileLlm(const ModelDescriptor& d, const ProfilerOptions& o, allocator::Profile* out) {
  const int threads = *std::max_element(o.threads.begin(), o.threads.end());
  std::unique_ptr<llm::LlamaModel> model;
  EPARA_RETURN_IF_ERROR(llm::LlamaModel::Load(d.directory, {d.instances.device, threads}, &model));
  out->memory_bytes = model->weight_bytes() + (static_cast<int64_t>(d.llm.kv_cache_mb) << 20);
  const int vocab = static_cast<int>(model->config().vocab_size);
  auto tokens = [&](int n) {
    std::vector<int32_t> t(n);
    for (int i = 0; i < n; ++i) t[i] = (i * 7 + 3) % vocab;
    return t;
  };
  std::vector<float> logits;
  for (int n : o.prompt_tokens) {
    if (n >= model->config().max_position_embeddings) continue;
    const std::vector<int32_t> prompt = tokens(n);
    std::vector<double> samples;
    for (int r = 0; r <= o.repeats; ++r) {  // the first run warms up
      auto cache = model->NewCache(n + 1);
      const auto t0 = Clock::now();
      EPARA_RETURN_IF_ERROR(model->Forward(prompt, cache.get(), &logits));
      if (r > 0) samples.push_back(Ms(Clock::now() - t0));
    }
    out->prefill.push_back({n, allocator::Summarize(samples)});
  }
  for (int batch : o.decode_batches) {
    constexpr int kContext = 64;  // each sequence has this many tokens before the measured steps
    std::vector<std::unique_ptr<llm::KvCache>> caches;
    const std::vector<int32_t> prompt = tokens(kContext);
    for (int b = 0; b < batch; ++b) {
      caches.push_back(model->NewCache(kContext + o.repeats + 2));
      EPARA_RETURN_IF_ERROR(model->Forward(prompt, caches.back().get(), &logits));
    }
    const std::vector<int32_t> next = {5};
    std::vector<llm::LlamaModel::Chunk> chunks;
    for (auto& c : caches) chunks.push_back({next, c.get()});
    std::vector<double> samples;
    for (int r = 0; r <= o.repeats; ++r) {
      const auto t0 = Clock::now();
      EPARA_RETURN_IF_ERROR(model->ForwardBatch(chunks, false, &logits));
      if (r > 0) samples.push_back(Ms(Clock::now() - t0));
    }
    out->decode.push_back({batch, allocator::Summarize(samples)});
  }
  return Status::Ok();
}

}  // namespace

Status ProfileModel(const ModelDescriptor& d, backend::BackendRegistry* backends,
                    const ProfilerOptions& options, allocator::Profile* out) {
  if (options.repeats < 1 || options.threads.empty())
    return InvalidArgument("the profiler needs at least one repeat and one thread count");
  allocator::Profile p;
  p.model = d.name;
  p.task = std::string(TaskTypeName(d.task));
  p.engine = d.task == TaskType::kLlm ? "epara-llm" : d.backend;
  p.device_class = options.device_class;
  p.repeats = options.repeats;
  p.speed_gflops =
      backend::MeasureCpuGflops(*std::max_element(options.threads.begin(), options.threads.end()));
  EPARA_RETURN_IF_ERROR(d.task == TaskType::kLlm ? ProfileLlm(d, options, &p)
                                                 : ProfileTensorModel(d, backends, options, &p));
  *out = std::move(p);
  return Status::Ok();
}

}  // namespace epara::profiler
