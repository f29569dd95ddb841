// image_bench: the per-request image work of the segmentation path, stage by stage, on one
// thread: decode (PNG / JPEG), normalize into the model's input tensor, argmax over the logits,
// encode the mask PNG. This is the CPU a served request spends outside the model.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "core/host_allocator.h"
#include "image/image_codec.h"
#include "image/synthetic_scene.h"
#include "vision/segmentation_pipeline.h"

using namespace epara;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

namespace {

// Median milliseconds of `f` over `n` calls (after 3 warm-up calls).
double MedianMs(int n, const std::function<void()>& f) {
  for (int i = 0; i < 3; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int size = 256, classes = 4, n = 200;
  std::string out;
  CLI::App app{"Per-request image work of the segmentation path, by stage"};
  app.add_option("--size", size, "Image and model side in pixels")->capture_default_str();
  app.add_option("--classes", classes, "Classes in the logits")->capture_default_str();
  app.add_option("--iterations", n, "Timed calls per stage")->capture_default_str();
  app.add_option("--out", out, "Write the JSON result here");
  CLI11_PARSE(app, argc, argv);
  (void)ConfigureHostAllocatorForInference();

  const Image scene = SyntheticScene(size, size);
  std::string png, jpeg;
  if (!EncodePng(scene, &png).ok() || !EncodeJpeg(scene, 90, &jpeg).ok()) return 1;
  ImagePreprocess pre;
  pre.width = pre.height = size;
  pre.mean = {0.485f, 0.456f, 0.406f};
  pre.std = {0.229f, 0.224f, 0.225f};

  Tensor logits = Tensor::Uninitialized(DataType::kFp32, {1, classes, size, size});
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  for (int64_t i = 0; i < logits.num_elements(); ++i) logits.data<float>()[i] = normal(rng);
  vision::SegmentationMask mask;
  if (!vision::PostprocessLogits(logits, size, size, &mask).ok()) return 1;
  const auto palette = ClassPalette(classes);

  Image decoded;
  vision::PreprocessedImage prepared;
  std::string encoded;
  json r = {{"benchmark", "image_bench"},
            {"size", size},
            {"classes", classes},
            {"png_bytes", png.size()},
            {"jpeg_bytes", jpeg.size()},
            {"median_ms",
             {{"decode_png", MedianMs(n, [&] { (void)DecodeImage(png, &decoded); })},
              {"decode_jpeg", MedianMs(n, [&] { (void)DecodeImage(jpeg, &decoded); })},
              {"decode_png_and_normalize",
               MedianMs(n, [&] { (void)vision::PreprocessImage(png, pre, &prepared); })},
              {"argmax_and_count",
               MedianMs(n, [&] { (void)vision::PostprocessLogits(logits, size, size, &mask); })},
              {"encode_mask_png",
               MedianMs(n, [&] { (void)EncodePalettePng(mask.mask, palette, &encoded); })}}},
            {"mask_png_bytes", encoded.size()}};
  std::printf("%s\n", r.dump(2).c_str());
  if (!out.empty()) std::ofstream(out) << r.dump(2) << "\n";
  return 0;
}
