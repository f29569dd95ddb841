// hetero_bench: one network on each engine, precision and thread layout this host has — the
// heterogeneity report of issue 21 ("how heterogeneity changes inference performance").
//
//   unet/libtorch      the demo UNet (untrained), TorchScript on LibTorch
//   unet/onnxruntime   the same weights as ONNX on ONNX Runtime
//   isnet/fp32         ISNet (trained): the fp16 graph rewritten to compute in fp32
//                      (formats/onnx_fp32.h; the package ships no fp32 form)
//   isnet/fp16         ISNet with fp16 weights, ONNX Runtime (FP32 in and out)
//   isnet/int8         ISNet dynamically quantized to int8, ONNX Runtime
//
// For each: latency at batch 1 (one instance of all cores), throughput at saturation in two
// instance layouts (1 instance x all cores; cores instances x 1 thread, each on its own thread),
// peak memory of one instance at batch 1 (each variant runs in a fresh child process: its VmHWM
// after the latency runs minus its VmRSS before loading) and output agreement with the reference
// variant of the same network (max |diff| of the raw output; mask IoU: UNet argmax masks agree per
// pixel, ISNet foreground IoU at 0.5). The reference for ISNet is its fp32 form.
//
//   epara_hetero_bench --out bench/results/heterogeneity     (writes .json, .md and .svg)
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "backend/libtorch/libtorch_backend.h"
#include "backend/onnxruntime/ort_backend.h"
#include "bench_util.h"
#include "core/host_allocator.h"
#include "core/library_env.h"
#include "image/image_codec.h"
#include "image/synthetic_scene.h"
#include "models/demo_segmentation.h"
#include "models/isnet_model.h"
#include "vision/segmentation_pipeline.h"

using namespace epara;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

using bench::Median;
using bench::Percentile;
using bench::Seconds;

struct Variant {
  std::string id, network, engine, precision, artifact, reference;  // reference: variant id
  int size = 0;                                                     // input side
  std::vector<std::string> inputs, outputs;
  ImagePreprocess pre;
};

// /proc/self/status field in bytes ("VmRSS", "VmHWM").
int64_t StatusBytes(const char* key) {
  std::ifstream in("/proc/self/status");
  int64_t kb = 0;
  for (std::string line; std::getline(in, line);)
    if (line.rfind(std::string(key) + ":", 0) == 0) {
      std::istringstream(line.substr(line.find(':') + 1)) >> kb;
      return kb * 1024;
    }
  return 0;
}

double Throughput(std::vector<std::unique_ptr<backend::ModelInstance>>& instances,
                  const Tensor& input, double seconds) {
  std::vector<double> rates(instances.size(), 0);
  const auto run = [&](size_t i) {
    backend::ModelInstance& m = *instances[i];
    std::vector<Tensor> out;
    // Warm-up: ONNX Runtime's arena grows over the first two runs of a large model (ISNet on one
    // thread: ~5.5 s, ~5.9 s, then 2.4 s).
    (void)m.Run({input}, &out);
    (void)m.Run({input}, &out);
    int64_t images = 0;
    const auto start = Clock::now();
    while (Seconds(Clock::now() - start) < seconds) {
      (void)m.Run({input}, &out);
      ++images;
    }
    rates[i] = images / Seconds(Clock::now() - start);  // this instance's own window
  };
  std::vector<std::thread> others;
  for (size_t i = 1; i < instances.size(); ++i) others.emplace_back(run, i);
  run(0);
  for (auto& t : others) t.join();
  double total = 0;
  for (double r : rates) total += r;
  return total;
}

// Child process: measures one variant, writes its raw output to `out_path`, prints JSON.
int Measure(const Variant& v, const std::string& image, int repeats, double seconds,
            const std::string& out_path) {
  const int64_t rss0 = StatusBytes("VmRSS");
  std::unique_ptr<backend::Backend> be =
      v.engine == "libtorch" ? backend::CreateLibTorchBackend() : backend::CreateOrtBackend();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  vision::PreprocessedImage pre;
  if (Status s = vision::PreprocessImage(image, v.pre, &pre); !s.ok()) return 1;
  backend::LoadSpec spec{v.id, {v.artifact}, "cpu", cores, v.inputs, v.outputs};
  std::vector<std::unique_ptr<backend::ModelInstance>> wide(1);
  if (Status s = be->Load(spec, &wide[0]); !s.ok()) {
    std::fprintf(stderr, "%s: %s\n", v.id.c_str(), s.ToString().c_str());
    return 1;
  }
  std::vector<Tensor> out;
  std::vector<double> ms;
  for (int i = 0; i < repeats + 2; ++i) {
    const auto t0 = Clock::now();
    if (Status s = wide[0]->Run({pre.input}, &out); !s.ok()) {
      std::fprintf(stderr, "%s: %s\n", v.id.c_str(), s.ToString().c_str());
      return 1;
    }
    if (i >= 2) ms.push_back(Seconds(Clock::now() - t0) * 1e3);
  }
  const int64_t peak = StatusBytes("VmHWM") - rss0;  // one instance, batch 1
  std::ofstream(out_path, std::ios::binary)
      .write(reinterpret_cast<const char*>(out[0].raw()),
             static_cast<std::streamsize>(out[0].byte_size()));
  // A window of at least a few images per instance (ISNet takes seconds per image).
  const double window = std::max(seconds, 4 * Median(ms) / 1e3 * cores);
  const double wide_ips = Throughput(wide, pre.input, window);
  wide.clear();  // the narrow layout runs alone (ISNet holds GBs of activations per instance)
  spec.threads = 1;
  std::vector<std::unique_ptr<backend::ModelInstance>> narrow(cores);
  for (auto& n : narrow)
    if (!be->Load(spec, &n).ok()) return 1;
  const double narrow_ips = Throughput(narrow, pre.input, window);
  json j = {
      {"latency_b1_ms", {{"p50", Median(ms)}, {"p90", Percentile(ms, 90)}, {"runs", ms.size()}}},
      {"throughput_img_s",
       {{"1x" + std::to_string(cores), wide_ips}, {std::to_string(cores) + "x1", narrow_ips}}},
      {"peak_memory_mb", peak / 1e6},
      {"output_shape", out[0].shape()}};
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

std::vector<float> ReadFloats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> f(b.size() / sizeof(float));
  std::memcpy(f.data(), b.data(), f.size() * sizeof(float));
  return f;
}

// Max |a - b| and mask agreement: for 1-channel outputs (ISNet) the IoU of foreground (>= 0.5);
// for class logits [1, C, H, W] the share of pixels whose argmax class agrees.
json Agreement(const std::vector<float>& a, const std::vector<float>& b, int64_t channels) {
  double max_diff = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    max_diff = std::max<double>(max_diff, std::abs(a[i] - b[i]));
  if (a.size() != b.size() || a.empty()) return {{"error", "output sizes differ"}};
  const size_t plane = a.size() / static_cast<size_t>(channels);
  double agree = 0;
  if (channels == 1) {
    int64_t inter = 0, uni = 0;
    for (size_t i = 0; i < plane; ++i) {
      const bool fa = a[i] >= 0.5f, fb = b[i] >= 0.5f;
      inter += fa && fb;
      uni += fa || fb;
    }
    agree = uni ? static_cast<double>(inter) / uni : 1.0;
    return {{"max_abs_diff", max_diff}, {"foreground_iou", agree}};
  }
  int64_t same = 0;
  for (size_t i = 0; i < plane; ++i) {
    int64_t ca = 0, cb = 0;
    for (int64_t c = 1; c < channels; ++c) {
      if (a[c * plane + i] > a[ca * plane + i]) ca = c;
      if (b[c * plane + i] > b[cb * plane + i]) cb = c;
    }
    same += ca == cb;
  }
  return {{"max_abs_diff", max_diff}, {"mask_pixel_agreement", static_cast<double>(same) / plane}};
}

// A grouped horizontal bar chart: one row per variant, a bar per layout, as a multiple of the
// throughput of its network's first variant in the one-instance layout (networks differ 40x in
// cost; each bar is labelled with its images/s).
std::string BarChart(const json& results, int cores) {
  std::ostringstream s;
  const int row = 46, left = 150, top = 40;
  const double px_per_x = 180;  // pixels for 1.0x
  std::map<std::string, double> base;
  for (const auto& r : results) {
    const std::string v = r["variant"].get<std::string>(), net = v.substr(0, v.find('/'));
    if (!base.count(net)) base[net] = r["throughput_img_s"]["1x" + std::to_string(cores)];
  }
  const int h = top + row * static_cast<int>(results.size()) + 30;
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='720' height='" << h
    << "' font-family='sans-serif' font-size='12'>\n"
    << "<text x='10' y='20' font-size='14'>Throughput at saturation (batch 1) as a multiple of "
       "each network's first row, 1 instance x "
    << cores << " threads</text>\n";
  const char* colors[] = {"#4477aa", "#ee8866"};
  int i = 0;
  for (const auto& r : results) {
    const std::string v = r["variant"].get<std::string>(), net = v.substr(0, v.find('/'));
    const int y = top + row * i++;
    s << "<text x='10' y='" << y + 20 << "'>" << v << "</text>\n";
    int k = 0;
    for (const auto& [layout, value] : r["throughput_img_s"].items()) {
      const double x = base[net] > 0 ? value.get<double>() / base[net] : 0;
      const double w = x * px_per_x;
      const int by = y + 4 + 18 * k;
      char label[96];
      std::snprintf(label, sizeof label, "%s: %.2fx (%.2f img/s)", layout.c_str(), x,
                    value.get<double>());
      s << "<rect x='" << left << "' y='" << by << "' width='" << w << "' height='16' fill='"
        << colors[k % 2] << "'/>\n<text x='" << left + w + 4 << "' y='" << by + 12 << "'>" << label
        << "</text>\n";
      ++k;
    }
  }
  s << "<line x1='" << left + px_per_x << "' y1='" << top - 4 << "' x2='" << left + px_per_x
    << "' y2='" << h - 26 << "' stroke='#999' stroke-dasharray='3,3'/>\n"
    << "<text x='" << left + px_per_x - 10 << "' y='" << h - 12 << "'>1.0x</text>\n</svg>\n";
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  epara::ApplyLibraryEnvironment(argv);
  // As `epara` itself does (core/host_allocator.h): glibc's defaults re-fault every activation.
  const bool default_malloc = std::getenv("EPARA_BENCH_DEFAULT_MALLOC") != nullptr;
  if (!default_malloc && !ConfigureHostAllocatorForInference())
    std::fprintf(stderr, "mallopt refused a setting\n");
  std::string out = "bench/results/heterogeneity", cache = models::AssetCacheDir(), work;
  int repeats = 15, measure = -1;
  double seconds = 6;
  CLI::App app{
      "One network on each engine, precision and thread layout: latency, throughput, "
      "memory, agreement"};
  app.add_option("--out", out, "Output prefix (.json, .md, .svg)")->capture_default_str();
  bool chart_only = false;
  app.add_flag("--chart-only", chart_only, "Redraw <out>.svg from <out>.json without measuring");
  app.add_option("--cache", cache, "Asset cache (ISNet, photograph)")->capture_default_str();
  app.add_option("--repeats", repeats, "Batch-1 runs for the latency")->capture_default_str();
  app.add_option("--seconds", seconds, "Seconds per throughput window")->capture_default_str();
  std::string only;
  app.add_option("--only", only, "Measure only the variants whose id starts with this");
  app.add_option("--measure", measure, "(internal) measure variant N in this process");
  app.add_option("--work", work, "(internal) working folder");
  CLI11_PARSE(app, argc, argv);

  if (chart_only) {
    std::ifstream in(out + ".json");
    const json doc = json::parse(in, nullptr, false);
    if (doc.is_discarded() || !doc.contains("results")) return 1;
    std::ofstream(out + ".svg") << BarChart(doc["results"], doc["cores"].get<int>());
    return 0;
  }
  const bool child = measure >= 0;
  if (!child) work = (fs::temp_directory_path() / ("epara_hetero_" + std::to_string(getpid())));
  models::DemoSegmentationOptions unet;
  unet.onnx_name = "seg-demo-onnx";
  if (!child)
    if (Status s = models::WriteDemoSegmentationModel(work, unet); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  ImagePreprocess unet_pre{
      unet.size, unet.size, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
  ImagePreprocess isnet_pre{
      1024, 1024, {0.50196f, 0.50196f, 0.50196f}, {1.00392f, 1.00392f, 1.00392f}};
  std::vector<Variant> variants = {
      {"unet/libtorch",
       "unet",
       "libtorch",
       "fp32",
       work + "/seg-demo/model.pt",
       "",
       unet.size,
       {"image"},
       {"logits"},
       unet_pre},
      {"unet/onnxruntime",
       "unet",
       "onnxruntime",
       "fp32",
       work + "/seg-demo-onnx/model.onnx",
       "unet/libtorch",
       unet.size,
       {},
       {},
       unet_pre},
  };
  const fs::path isnet = fs::path(cache) / "isnet",
                 photo = fs::path(cache) / "photos/astronaut.png";
  const bool have_isnet = fs::exists(isnet / "model_int8.onnx") && fs::exists(photo);
  if (have_isnet && !child) {
    if (Status s = models::EnsureIsnetFp32(cache); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  }
  if (have_isnet) {
    const auto isnet_variant = [&](const char* id, const char* precision, const char* file,
                                   const char* reference) {
      variants.push_back({id,
                          "isnet",
                          "onnxruntime",
                          precision,
                          (isnet / file).string(),
                          reference,
                          1024,
                          {},
                          {"output"},
                          isnet_pre});
    };
    isnet_variant("isnet/fp32", "fp32 (fp16 weights upcast)", "model_fp32.onnx", "");
    isnet_variant("isnet/fp16", "fp16 weights", "model_fp16.onnx", "isnet/fp32");
    isnet_variant("isnet/int8", "int8 (dynamic)", "model_int8.onnx", "isnet/fp32");
  }
  std::string scene, photo_bytes;
  (void)EncodePng(SyntheticScene(640, 480), &scene);
  if (have_isnet) {
    std::ifstream in(photo, std::ios::binary);
    photo_bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto image_of = [&](const Variant& v) { return v.network == "isnet" ? photo_bytes : scene; };
  auto out_file = [&](size_t i) { return work + "/out" + std::to_string(i) + ".bin"; };
  if (child)
    return Measure(variants.at(measure), image_of(variants.at(measure)), repeats, seconds,
                   out_file(measure));

  json results = json::array();
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  for (size_t i = 0; i < variants.size(); ++i) {
    const bool needed = variants[i].id.rfind(only, 0) == 0 ||
                        std::any_of(variants.begin(), variants.end(), [&](const Variant& v) {
                          return v.id.rfind(only, 0) == 0 && v.reference == variants[i].id;
                        });
    if (!needed) continue;
    const std::string cmd = self + " --measure " + std::to_string(i) + " --work " + work +
                            " --cache " + cache + " --repeats " + std::to_string(repeats) +
                            " --seconds " + std::to_string(seconds);
    std::fprintf(stderr, "measuring %s ...\n", variants[i].id.c_str());
    FILE* p = popen(cmd.c_str(), "r");
    std::string text;
    char buf[4096];
    while (p && fgets(buf, sizeof buf, p)) text += buf;
    if (!p || pclose(p) != 0) {
      std::fprintf(stderr, "%s failed\n", variants[i].id.c_str());
      return 1;
    }
    json r = json::parse(text);
    r["variant"] = variants[i].id;
    r["engine"] = variants[i].engine;
    r["precision"] = variants[i].precision;
    r["input"] = {3, variants[i].size, variants[i].size};
    if (!variants[i].reference.empty()) {
      size_t ref = 0;
      while (variants[ref].id != variants[i].reference) ++ref;  // measured before it (listed first)
      const int64_t channels = r["output_shape"][1].get<int64_t>();
      r["agreement"] = Agreement(ReadFloats(out_file(i)), ReadFloats(out_file(ref)), channels);
      r["agreement"]["reference"] = variants[i].reference;
    }
    std::fprintf(stderr, "%s\n", r.dump().c_str());
    results.push_back(r);
  }
  fs::remove_all(work);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  json doc = {{"benchmark", "hetero_bench"},
              {"cores", cores},
              {"onnxruntime", backend::OrtVersion()},
              {"isnet", have_isnet ? "fetched" : "missing (scripts/fetch_assets.sh)"},
              {"repeats", repeats},
              {"seconds_per_window", seconds},
              {"results", results}};
  std::ofstream(out + ".json") << doc.dump(2) << "\n";
  std::ofstream(out + ".svg") << BarChart(results, cores);
  std::ostringstream md;
  md << "| variant | engine | precision | input | batch-1 p50 ms | img/s 1x" << cores << " | img/s "
     << cores << "x1 | peak MB | max abs diff | mask agreement | vs |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : results) {
    const auto& t = r["throughput_img_s"];
    char line[512];
    const json a = r.value("agreement", json::object());
    const double mask = a.contains("foreground_iou") ? a["foreground_iou"].get<double>()
                        : a.contains("mask_pixel_agreement")
                            ? a["mask_pixel_agreement"].get<double>()
                            : -1;
    std::snprintf(
        line, sizeof line,
        "| %s | %s | %s | %lldx%lld | %.1f | %.2f | %.2f | %.0f | %s | %s | %s |\n",
        r["variant"].get<std::string>().c_str(), r["engine"].get<std::string>().c_str(),
        r["precision"].get<std::string>().c_str(),
        static_cast<long long>(r["input"][1].get<int64_t>()),
        static_cast<long long>(r["input"][2].get<int64_t>()),
        r["latency_b1_ms"]["p50"].get<double>(), t["1x" + std::to_string(cores)].get<double>(),
        t[std::to_string(cores) + "x1"].get<double>(), r["peak_memory_mb"].get<double>(),
        a.contains("max_abs_diff") ? std::to_string(a["max_abs_diff"].get<double>()).c_str()
                                   : "(reference)",
        mask >= 0 ? std::to_string(mask).c_str() : "",
        a.contains("reference") ? a["reference"].get<std::string>().c_str() : "");
    md << line;
  }
  std::ofstream(out + ".md") << md.str();
  std::printf("%s", md.str().c_str());
  return 0;
}
