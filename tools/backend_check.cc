// backend_check: exercises the LibTorch backend alone on every device it reports (used on GPU
// hosts, which may lack the server's other dependencies). Writes the demo segmentation model, runs
// it on cpu and on each cuda:N, checks the outputs agree, and times batch-1 and batch-8 runs.
// Prints one JSON object per device. A device passes when its logits agree with cpu within 1e-2
// relative to the largest logit (cuDNN uses TF32 for FP32 convolutions on Ampere+ by default, a
// ~1e-3 relative precision) and at least 99% of mask pixels (argmax over classes) are identical.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include "backend/libtorch/libtorch_backend.h"
#include "models/demo_segmentation.h"
#ifdef EPARA_HAVE_LLM
#include "llm/llama_model.h"
#include "models/demo_llm.h"
#endif

using namespace epara;

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/epara-backend-check";
  models::DemoSegmentationOptions o;
  if (Status s = models::WriteDemoSegmentationModel(dir, o); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  auto be = backend::CreateLibTorchBackend();
  std::printf("{\"backend\":\"%s\",\"built_with_cuda\":%s}\n", be->name().c_str(),
              backend::LibTorchBuiltWithCuda() ? "true" : "false");
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  auto make_input = [&](int batch) {
    Tensor t(DataType::kFp32, {batch, 3, o.size, o.size});
    for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = nd(rng);
    return t;
  };
  std::vector<Tensor> in8 = {make_input(8)};
  std::vector<Tensor> in1 = {in8[0].SliceRows(0, 1)};
  std::vector<Tensor> ref;
  int failures = 0;
  for (const auto& dev : be->Devices()) {
    backend::LoadSpec spec{o.name,    {dir + "/" + o.name + "/model.pt"}, dev.name, 2, {"image"},
                           {"logits"}};
    std::unique_ptr<backend::ModelInstance> inst;
    if (Status s = be->Load(spec, &inst); !s.ok()) {
      std::printf("{\"device\":\"%s\",\"error\":\"%s\"}\n", dev.name.c_str(), s.ToString().c_str());
      ++failures;
      continue;
    }
    std::vector<Tensor> out;
    auto time_runs = [&](const std::vector<Tensor>& in, int reps) {
      for (int i = 0; i < 2; ++i) (void)inst->Run(in, &out);
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < reps; ++i) (void)inst->Run(in, &out);
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                 .count() /
             reps;
    };
    double ms1 = time_runs(in1, dev.kind == backend::DeviceKind::kCpu ? 3 : 50);
    double ms8 = time_runs(in8, dev.kind == backend::DeviceKind::kCpu ? 2 : 20);
    Status s = inst->Run(in8, &out);
    double max_diff = 0, max_ref = 0;
    if (ref.empty()) ref = out;
    const float* a = out[0].data<float>();
    const float* r = ref[0].data<float>();
    for (int64_t i = 0; s.ok() && i < out[0].num_elements(); ++i) {
      max_diff = std::max<double>(max_diff, std::fabs(a[i] - r[i]));
      max_ref = std::max<double>(max_ref, std::fabs(r[i]));
    }
    // Mask agreement: argmax over the class dimension of [N, C, H, W].
    const auto& sh = out[0].shape();
    const int64_t n = sh[0], c = sh[1], hw = sh[2] * sh[3];
    int64_t same = 0;
    for (int64_t b = 0; s.ok() && b < n; ++b)
      for (int64_t p = 0; p < hw; ++p) {
        int64_t ka = 0, kr = 0;
        for (int64_t k = 1; k < c; ++k) {
          if (a[(b * c + k) * hw + p] > a[(b * c + ka) * hw + p]) ka = k;
          if (r[(b * c + k) * hw + p] > r[(b * c + kr) * hw + p]) kr = k;
        }
        same += ka == kr;
      }
    const double rel = max_ref > 0 ? max_diff / max_ref : max_diff;
    const double agreement = static_cast<double>(same) / static_cast<double>(n * hw);
    bool ok = s.ok() && rel < 1e-2 && agreement >= 0.99;
    failures += ok ? 0 : 1;
    std::printf(
        "{\"device\":\"%s\",\"description\":\"%s\",\"memory_total_mb\":%.0f,\"footprint_mb\":%.2f,"
        "\"batch1_ms\":%.3f,\"batch8_ms\":%.3f,\"images_per_s_batch8\":%.1f,\"max_abs_diff_vs_"
        "cpu\":%.2e,"
        "\"max_rel_diff_vs_cpu\":%.2e,\"mask_agreement_vs_cpu\":%.5f,\"ok\":%s}\n",
        dev.name.c_str(), dev.description.c_str(), dev.memory_total_bytes / 1e6,
        inst->MemoryFootprintBytes() / 1e6, ms1, ms8, 8000.0 / ms8, max_diff, rel, agreement,
        ok ? "true" : "false");
  }
  // seg-hd's shape (the same UNet on 1024x1024 frames, `epara models demo --hd`): batch-1 time per
  // device, the speed ratio a GPU edge server has over CPU nodes on issue 24's LS-MD workload.
  models::DemoSegmentationOptions hd = o;
  hd.name = "seg-hd";
  hd.size = 1024;
  hd.max_batch_size = 1;
  if (Status s = models::WriteDemoSegmentationModel(dir, hd); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  Tensor hd_in(DataType::kFp32, {1, 3, hd.size, hd.size});
  for (int64_t i = 0; i < hd_in.num_elements(); ++i) hd_in.data<float>()[i] = nd(rng);
  for (const auto& dev : be->Devices()) {
    backend::LoadSpec spec{hd.name, {dir + "/" + hd.name + "/model.pt"}, dev.name, 1, {"image"},
                           {"logits"}};
    std::unique_ptr<backend::ModelInstance> inst;
    std::vector<Tensor> out;
    Status s = be->Load(spec, &inst);
    for (int i = 0; s.ok() && i < 2; ++i) s = inst->Run({hd_in}, &out);
    const int reps = dev.kind == backend::DeviceKind::kCpu ? 2 : 20;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; s.ok() && i < reps; ++i) s = inst->Run({hd_in}, &out);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
        reps;
    failures += s.ok() ? 0 : 1;
    std::printf("{\"hd_device\":\"%s\",\"size\":%d,\"batch1_ms\":%.3f,\"ok\":%s}\n",
                dev.name.c_str(), hd.size, ms, s.ok() ? "true" : "false");
  }
#ifdef EPARA_HAVE_LLM
  // The demo LLM on every device: last-position logits vs cpu, and decode speed at batch 1 and 16.
  if (Status s = models::WriteDemoLlm(dir, {}); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  std::vector<int32_t> prompt(32);
  for (int i = 0; i < 32; ++i) prompt[i] = 3 + (i * 7) % 250;
  std::vector<float> ref_logits;
  for (const auto& dev : be->Devices()) {
    std::unique_ptr<llm::LlamaModel> m;
    if (Status s = llm::LlamaModel::Load(dir + "/llama-demo", {dev.name, 0}, &m); !s.ok()) {
      std::printf("{\"llm_device\":\"%s\",\"error\":\"%s\"}\n", dev.name.c_str(),
                  s.ToString().c_str());
      ++failures;
      continue;
    }
    std::vector<float> logits;
    auto cache = m->NewCache(64);
    const llm::LlamaModel::Chunk first{prompt, cache.get()};
    Status s = m->ForwardBatch(std::span(&first, 1), false, &logits);
    if (ref_logits.empty()) ref_logits = logits;
    double max_diff = 0, max_ref = 0;
    for (size_t i = 0; s.ok() && i < logits.size(); ++i) {
      max_diff = std::max<double>(max_diff, std::fabs(logits[i] - ref_logits[i]));
      max_ref = std::max<double>(max_ref, std::fabs(ref_logits[i]));
    }
    const bool same_argmax =
        std::max_element(logits.begin(), logits.end()) - logits.begin() ==
        std::max_element(ref_logits.begin(), ref_logits.end()) - ref_logits.begin();
    auto decode_tps = [&](int batch) {
      std::vector<std::unique_ptr<llm::KvCache>> caches;
      std::vector<llm::LlamaModel::Chunk> chunks;
      for (int b = 0; b < batch; ++b) {
        caches.push_back(m->NewCache(128));
        chunks.push_back({prompt, caches.back().get()});
      }
      std::vector<float> out;
      (void)m->ForwardBatch(chunks, false, &out);
      std::vector<int32_t> next(batch, 5);
      for (int b = 0; b < batch; ++b) chunks[b] = {std::span(&next[b], 1), caches[b].get()};
      (void)m->ForwardBatch(chunks, false, &out);
      const int steps = 32;
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < steps; ++i) (void)m->ForwardBatch(chunks, false, &out);
      return batch * steps /
             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    const double t1 = decode_tps(1), t16 = decode_tps(16);
    const double rel = max_ref > 0 ? max_diff / max_ref : 0;
    const bool ok = s.ok() && rel < 1e-2 && same_argmax;
    failures += ok ? 0 : 1;
    std::printf(
        "{\"llm_device\":\"%s\",\"weights_mb\":%.1f,\"max_rel_logit_diff_vs_cpu\":%.2e,\"same_"
        "argmax\":%s,"
        "\"decode_tokens_per_s_batch1\":%.1f,\"decode_tokens_per_s_batch16\":%.1f,\"ok\":%s}\n",
        dev.name.c_str(), m->weight_bytes() / 1e6, rel, same_argmax ? "true" : "false", t1, t16,
        ok ? "true" : "false");
  }
#endif
  return failures == 0 ? 0 : 1;
}
