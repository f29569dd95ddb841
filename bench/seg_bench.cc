// seg_bench: segmentation through the HTTP server vs the backend called directly, in one run.
//
//   direct    the backend's Run() on preprocessed tensors, batch B, back to back (--backend:
//             libtorch runs the TorchScript UNet, onnxruntime the same UNet as ONNX)
//   pipeline  in-process decode -> preprocess -> Run -> argmax -> PNG encode, one image at a time
//   served    `POST /v1/segment/{model}` (an encoded image in, a PNG mask out) from C concurrent
//             keep-alive clients on loopback; with --route kserve, `POST /v2/models/{model}/infer`
//             with the preprocessed tensor in and the logits out as KServe binary tensor data
//             (what a Triton client sends: the same tensor the direct side runs)
//
// --instances K: both sides run K instances of cores / K intra-op threads (direct: one calling
// thread per instance); with K > 1 each round also measures the direct side as one instance of all
// cores, so the layouts' throughputs are compared in the same run. --cores N: the instances divide
// N cores (default: all); the others are left to the server's request work and the clients.
//
// Measurements are interleaved in rounds (direct, served, then served, direct: ABBA) so slow drift
// of a shared machine hits both sides; ratios are reported per round, as the median, and pooled
// (sum of served / sum of direct).
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "api/kserve_json.h"
#include "api/server.h"
#include "backend/libtorch/libtorch_backend.h"
#ifdef EPARA_HAVE_ORT
#include "backend/onnxruntime/ort_backend.h"
#endif
#include "bench_util.h"
#include "core/host_allocator.h"
#include "core/library_env.h"
#include "core/thread_name.h"
#include "image/image_codec.h"
#include "image/synthetic_scene.h"
#include "models/demo_segmentation.h"
#include "models/isnet_model.h"
#include "repo/model_descriptor.h"
#include "vision/segmentation_pipeline.h"

using namespace epara;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

namespace {

using bench::Median;
using bench::Percentile;
using bench::Seconds;

// CPU seconds this process has used (all threads, user + system).
double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// Runs `f` (which measures for about `seconds`) and returns the share of the machine's cores the
// process kept busy meanwhile: near 1 when the model never waits.
template <typename F>
double CpuShare(F&& f, int cores) {
  const double c0 = ProcessCpuSeconds();
  const auto t0 = Clock::now();
  f();
  return (ProcessCpuSeconds() - c0) / (Seconds(Clock::now() - t0) * cores);
}

// Light load: one request at a time, the three paths interleaved per iteration so drift hits all
// of them alike; per-iteration differences isolate what the server adds. The paths run on
// different threads (bench thread vs the server's worker), and libgomp keeps a finished team
// spinning for ~1-3 ms; a settle gap before each path keeps one path's spinning team from
// slowing the next (the server itself runs every model on its own worker, so it never pays this).
struct LatencySamples {
  std::vector<double> direct, pipeline, served, served_minus_pipeline, served_minus_direct;
  json Summary() const {
    auto pct = [](const std::vector<double>& v) {
      return json{{"p50", Percentile(v, 50)}, {"p99", Percentile(v, 99)}};
    };
    return {{"direct", pct(direct)},
            {"pipeline_in_process", pct(pipeline)},
            {"served", pct(served)},
            {"added_served_minus_pipeline_paired", pct(served_minus_pipeline)},
            {"added_served_minus_direct_paired", pct(served_minus_direct)},
            {"samples", direct.size()}};
  }
};

// One served request, sent unchanged many times.
struct Request {
  std::string path, body, content_type;
  httplib::Headers headers;
};

// The request for `model` on `route`: the encoded image to /v1/segment, or the preprocessed tensor
// as KServe binary data (logits back as binary data) to /v2/models/{model}/infer.
Request MakeRequest(const std::string& route, const std::string& model, const std::string& image,
                    const std::string& content_type, const Tensor& tensor) {
  if (route == "segment") return {"/v1/segment/" + model, image, content_type, {}};
  size_t json_length = 0;
  std::string body = api::KServeBinaryRequest({{"image", tensor}}, true, &json_length);
  return {"/v2/models/" + model + "/infer",
          std::move(body),
          "application/octet-stream",
          {{api::kInferenceHeaderLength, std::to_string(json_length)}}};
}

LatencySamples MeasureLatency(backend::ModelInstance& m, const ImagePreprocess& pre,
                              const std::string& image, int port, const Request& request, int n) {
  LatencySamples l;
  vision::PreprocessedImage prepared;
  (void)vision::PreprocessImage(image, pre, &prepared);
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);
  std::vector<Tensor> out;
  const auto settle = [] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); };
  for (int i = 0; i < n + 3; ++i) {
    settle();
    auto t0 = Clock::now();
    (void)m.Run({prepared.input}, &out);
    const double direct = Seconds(Clock::now() - t0) * 1e3;

    settle();
    t0 = Clock::now();
    vision::PreprocessedImage p;
    (void)vision::PreprocessImage(image, pre, &p);
    (void)m.Run({p.input}, &out);
    vision::SegmentationMask mask;
    (void)vision::PostprocessLogits(out[0], p.original_width, p.original_height, &mask);
    std::string png;
    (void)EncodePalettePng(mask.mask, ClassPalette(4), &png);
    const double pipeline = Seconds(Clock::now() - t0) * 1e3;

    settle();
    t0 = Clock::now();
    auto r = c.Post(request.path, request.headers, request.body, request.content_type);
    const double served = Seconds(Clock::now() - t0) * 1e3;
    if (!r || r->status != 200) {
      std::fprintf(stderr, "served request to %s failed\n", request.path.c_str());
      std::exit(1);
    }
    if (i < 3) continue;  // warm-up
    l.direct.push_back(direct);
    l.pipeline.push_back(pipeline);
    l.served.push_back(served);
    l.served_minus_pipeline.push_back(served - pipeline);
    l.served_minus_direct.push_back(served - direct);
  }
  return l;
}

struct Options {
  double seconds = 8;
  int rounds = 3;
  int concurrency = 16;
  int batch = 8;
  int instances = 1;
  int cores = 0;  // cores the instances divide; 0: all
  int size = 256;
  int light_requests = 60;
  int small_size = 64;
  std::string format = "png";
  std::string route = "segment";
  std::string model = "unet";
  std::string backend = "libtorch";
  std::string request_work_class = "idle";
  bool idle_clients = false;
  std::string out;
};

// Images per second of back-to-back Run() calls at `batch` for `seconds`, every instance at once
// (the first on the calling thread, each other one on a thread of its own), as the server's
// workers run them.
double DirectThroughput(const std::vector<std::unique_ptr<backend::ModelInstance>>& instances,
                        const Tensor& one, int batch, double seconds) {
  std::vector<const Tensor*> parts(batch, &one);
  Tensor input;
  (void)ConcatRows(parts, &input);
  // Each instance's rate over its own back-to-back runs, from after its warm-up run to the end of
  // its last run (exact: no window edge cuts a run).
  std::mutex mu;
  double rate = 0;
  const auto run = [&](backend::ModelInstance& m) {
    std::vector<Tensor> out;
    // Two warm-up runs: ONNX Runtime's arena grows over a large model's first two (ISNet: 5.5 s,
    // 5.9 s, then ~2 s), as the served instances' load-time warm-up and first request cover.
    for (int w = 0; w < 2; ++w) (void)m.Run({input}, &out);
    int64_t mine = 0;
    const auto start = Clock::now();
    while (Seconds(Clock::now() - start) < seconds) {
      (void)m.Run({input}, &out);
      mine += batch;
    }
    const double r = mine / Seconds(Clock::now() - start);
    std::lock_guard<std::mutex> lock(mu);
    rate += r;
  };
  std::vector<std::thread> others;
  for (size_t i = 1; i < instances.size(); ++i) others.emplace_back(run, std::ref(*instances[i]));
  run(*instances[0]);
  for (auto& t : others) t.join();
  return rate;
}

// Images per second with `clients` concurrent keep-alive clients; counts failures. The clients
// run for a warm-up of seconds / 4 (the queue fills, every instance is busy), then for `seconds`.
// Each client sends its next request as soon as the last one is answered, so by Little's law the
// throughput is clients / mean response time, taken over the requests answered in the window:
// for a model of seconds per image this is far steadier than counting completions (at 1 image/s
// the count in a 24 s window moves by +-2 with the instances' phase, +-8%).
double ServedThroughput(int port, const Request& request, int clients, double seconds,
                        bool idle_clients, int64_t* failures) {
  std::atomic<int64_t> bad{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  double latency_sum = 0;
  int64_t answered = 0;
  std::vector<std::thread> threads;
  const auto w0 = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(seconds / 4));
  const auto w1 =
      w0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&] {
      bench::LowerClientThreadPriority(idle_clients);
      SetCurrentThreadName("bench-client");
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(120, 0);
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);
      while (!stop.load()) {
        const auto sent = Clock::now();
        auto r = c.Post(request.path, request.headers, request.body, request.content_type);
        const auto t = Clock::now();
        if (!r || r->status != 200) {
          ++bad;
        } else if (t >= w0 && t < w1) {
          std::lock_guard<std::mutex> lock(mu);
          latency_sum += Seconds(t - sent);
          ++answered;
        }
      }
    });
  std::this_thread::sleep_until(w1);  // the warm-up and the measurement window
  stop = true;
  for (auto& t : threads) t.join();
  *failures = bad.load();
  return answered > 0 ? clients * answered / latency_sum : 0;
}

// What the served model did in a window: the share of wall time its workers spent in Run() (mean
// over instances) and the compute seconds per image (per instance). served/direct = busy x (direct
// s/img / served s/img), so these two tell an idle model (empty queue, hand-off gaps) from a slowed
// one (cores taken by others).
struct ModelBusy {
  double busy = 0, compute_s_per_image = 0, mean_queue_s = 0;
  json ToJson() const {
    return {{"busy", busy},
            {"compute_ms_per_image", compute_s_per_image * 1e3},
            {"mean_queue_ms", mean_queue_s * 1e3}};
  }
};

class BusyProbe {
 public:
  BusyProbe(engine::ServedModel* m, int instances)
      : m_(m),
        instances_(instances),
        start_(Clock::now()),
        compute0_(m->metrics.compute_duration->sum()),
        images0_(m->metrics.batch_size->sum()),
        queue0_(m->metrics.queue_duration->sum()),
        queued0_(m->metrics.queue_duration->count()) {}
  ModelBusy Finish() const {
    ModelBusy b;
    const double compute = m_->metrics.compute_duration->sum() - compute0_;
    const double images = m_->metrics.batch_size->sum() - images0_;
    const double queued = static_cast<double>(m_->metrics.queue_duration->count() - queued0_);
    b.busy = compute / (Seconds(Clock::now() - start_) * instances_);  // per instance
    b.compute_s_per_image = images > 0 ? compute / images : 0;
    b.mean_queue_s = queued > 0 ? (m_->metrics.queue_duration->sum() - queue0_) / queued : 0;
    return b;
  }

 private:
  engine::ServedModel* m_;
  int instances_;
  Clock::time_point start_;
  double compute0_, images0_, queue0_;
  uint64_t queued0_;
};

// The whole file, or NotFound.
Status ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  out->assign(std::istreambuf_iterator<char>(in), {});
  return Status::Ok();
}

// Writes ISNet variant `variant` as model `name` under `dir` with `instances` instances of
// cores / instances threads (the repository layout `epara models isnet` writes, renamed).
Status WriteIsnetAs(const std::filesystem::path& dir, const std::string& variant,
                    const std::string& name, int instances, int cores) {
  const models::IsnetVariant& v = variant == "isnet"        ? models::IsnetInt8()
                                  : variant == "isnet-fp16" ? models::IsnetFp16()
                                                            : models::IsnetFp32();
  const auto staging = dir / "isnet-staging";
  EPARA_RETURN_IF_ERROR(models::WriteIsnetModel(staging.string(), models::AssetCacheDir(), v));
  std::filesystem::remove_all(dir / name);  // the UNet written under that name
  std::filesystem::rename(staging / v.name, dir / name);
  std::filesystem::remove_all(staging);
  std::string yaml;
  const std::string path = (dir / name / "model.yaml").string();
  EPARA_RETURN_IF_ERROR(ReadFile(path, &yaml));
  const auto replace = [&](const std::string& from, const std::string& to) {
    const size_t at = yaml.find(from);
    if (at == std::string::npos) return false;
    yaml.replace(at, from.size(), to);
    return true;
  };
  if (!replace("name: " + v.name + "\n", "name: " + name + "\n") ||
      !replace("instances: {count: 1, device: cpu, threads: 0}",
               "instances: {count: " + std::to_string(instances) + ", device: cpu, threads: " +
                   std::to_string(std::max(1, cores / instances)) + "}"))
    return Internal("the ISNet descriptor's layout changed: " + path);
  std::ofstream(path) << yaml;
  return Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  epara::ApplyLibraryEnvironment(argv);
  Options o;
  CLI::App app{"Segmentation: served vs direct-backend throughput and added latency"};
  app.add_option("--seconds", o.seconds, "Seconds per throughput measurement")
      ->capture_default_str();
  app.add_option("--rounds", o.rounds, "Interleaved rounds")->capture_default_str();
  app.add_option("--concurrency", o.concurrency, "Concurrent HTTP clients at saturation")
      ->capture_default_str();
  app.add_option("--batch", o.batch, "Batch size compared at saturation")->capture_default_str();
  app.add_option("--instances", o.instances,
                 "Model instances at saturation, each with cores / instances intra-op threads "
                 "(served: the descriptor's instance count; direct: one thread per instance)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--cores", o.cores,
                 "Cores the instances divide (0: all); the rest is left to the request work and "
                 "the clients")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app.add_option("--size", o.size, "Model input size (multiple of 16)")->capture_default_str();
  app.add_option("--light-requests", o.light_requests,
                 "Sequential requests for the latency comparison")
      ->capture_default_str();
  app.add_option("--small-size", o.small_size,
                 "Input size of the small model used to resolve added latency")
      ->capture_default_str();
  app.add_option("--format", o.format, "Request image format: png or jpeg")->capture_default_str();
  app.add_option("--route", o.route,
                 "Served route: segment (image in, PNG mask out) or kserve (the preprocessed "
                 "tensor in, logits out, as KServe binary tensor data)")
      ->check(CLI::IsMember({"segment", "kserve"}))
      ->capture_default_str();
  app.add_option("--model", o.model,
                 "Served network: unet (the demo UNet, untrained) or a trained ISNet variant "
                 "(isnet int8, isnet-fp16, isnet-fp32; ONNX Runtime, batch 1, the demo "
                 "photograph; needs scripts/fetch_assets.sh)")
      ->check(CLI::IsMember({"unet", "isnet", "isnet-fp16", "isnet-fp32"}))
      ->capture_default_str();
  app.add_option("--backend", o.backend,
                 "Engine of both sides: libtorch (TorchScript UNet) or onnxruntime (the same UNet "
                 "as ONNX)")
      ->check(CLI::IsMember({"libtorch", "onnxruntime"}))
      ->capture_default_str();
  app.add_option("--request-work-class", o.request_work_class,
                 "Server's CPU class for request work: idle or normal")
      ->check(CLI::IsMember({"idle", "normal"}))
      ->capture_default_str();
  app.add_option("--out", o.out, "Write the JSON result here");
  app.add_flag("--idle-clients", o.idle_clients,
               "Client threads in SCHED_IDLE instead of nice 10 (their CPU stays out of the "
               "measurement, as a remote client's would)");
  bool default_malloc = false;
  app.add_flag("--default-malloc", default_malloc,
               "Keep glibc's malloc defaults (to measure their cost)");
  CLI11_PARSE(app, argc, argv);
  if (!default_malloc && !ConfigureHostAllocatorForInference())
    std::fprintf(stderr, "mallopt refused a setting\n");

  namespace fs = std::filesystem;
  const int machine_cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int cores = o.cores > 0 ? std::min(o.cores, machine_cores) : machine_cores;
  const fs::path dir = fs::temp_directory_path() / ("epara_seg_bench_" + std::to_string(getpid()));
  models::DemoSegmentationOptions b1, bn, small;
  small.name = "seg-small";
  small.size = o.small_size;
  small.max_batch_size = 1;
  small.max_queue_delay_ms = 0;
  b1.name = "seg-b1";
  b1.size = bn.size = o.size;
  b1.max_batch_size = 1;
  b1.max_queue_delay_ms = 0;
  bn.name = "seg-batched";
  bn.max_batch_size = o.batch;
  bn.max_queue_delay_ms = 5;
  b1.instances = bn.instances = o.instances;
  const bool ort = o.backend == "onnxruntime";
  if (ort) {
#ifndef EPARA_HAVE_ORT
    std::fprintf(stderr, "this build has no ONNX Runtime (scripts/fetch_assets.sh)\n");
    return 1;
#endif
    for (auto* opt : {&b1, &bn, &small}) opt->onnx_name = opt->name + "-onnx";
  }
  // The served model's name and the artifact the direct side loads, for the chosen engine.
  const auto served = [&](const models::DemoSegmentationOptions& m) {
    return ort ? m.onnx_name : m.name;
  };
  const auto artifact = [&](const models::DemoSegmentationOptions& m) {
    return ort ? (dir / m.onnx_name / "model.onnx").string() : (dir / m.name / "model.pt").string();
  };
  for (const auto& opt : {b1, bn, small})
    if (Status s = models::WriteDemoSegmentationModel(dir.string(), opt); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }

  const bool isnet = o.model != "unet";
  if (isnet && (!ort || o.batch != 1)) {
    std::fprintf(stderr,
                 "--model %s runs on --backend onnxruntime with --batch 1 (its graph "
                 "has a fixed batch of 1)\n",
                 o.model.c_str());
    return 1;
  }
  if (isnet) {
    if (Status s = WriteIsnetAs(dir, o.model, b1.onnx_name, o.instances, cores); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  }

  // The request image: a synthetic scene at the model's size, as a camera frame would arrive, or
  // for ISNet the demo photograph.
  std::string image;
  if (isnet) {
    Image photo;
    std::string png;
    if (Status s = ReadFile(models::AssetCacheDir() + "/photos/astronaut.png", &png);
        !s.ok() || !DecodeImage(png, &photo).ok()) {
      std::fprintf(stderr, "no demo photograph (scripts/fetch_assets.sh)\n");
      return 1;
    }
    Status enc = o.format == "jpeg" ? EncodeJpeg(photo, 90, &image) : EncodePng(photo, &image);
    if (!enc.ok()) return 1;
  } else {
    Image scene = SyntheticScene(o.size, o.size);
    Status enc = o.format == "jpeg" ? EncodeJpeg(scene, 90, &image) : EncodePng(scene, &image);
    if (!enc.ok()) return 1;
  }
  const std::string content_type = o.format == "jpeg" ? "image/jpeg" : "image/png";

  backend::BackendRegistry backends;
  (void)backends.Register(backend::CreateLibTorchBackend());
#ifdef EPARA_HAVE_ORT
  (void)backends.Register(backend::CreateOrtBackend());
#endif
  // Each instance as the served model's: cores / instances intra-op threads.
  backend::LoadSpec spec{"seg-b1", {artifact(b1)}, "cpu", std::max(1, cores / o.instances), {}, {}};
  if (!ort) {  // TorchScript keeps no tensor names: the descriptor's order
    spec.input_names = {"image"};
    spec.output_names = {"logits"};
  }
  if (isnet) spec.output_names = {"output"};  // the one output served, as the server fetches it
  backend::Backend* engine = backends.Get(o.backend);
  // The direct side; the first instance also serves the light-load latency pair.
  std::vector<std::unique_ptr<backend::ModelInstance>> saturated;
  for (int i = 0; i < o.instances; ++i) {
    if (Status s = engine->Load(spec, &saturated.emplace_back()); !s.ok()) {
      std::fprintf(stderr, "load: %s\n", s.ToString().c_str());
      return 1;
    }
  }

  // With several instances, the direct reference of the usual layout too (one instance of all
  // cores), measured in the same rounds: served throughput of one layout against the other's best.
  std::vector<std::unique_ptr<backend::ModelInstance>> wide;
  if (o.instances > 1) {
    backend::LoadSpec all = spec;
    all.threads = cores;
    if (Status s = engine->Load(all, &wide.emplace_back()); !s.ok()) return 1;
  }

  ImagePreprocess pre;
  pre.width = pre.height = o.size;
  pre.mean = {0.485f, 0.456f, 0.406f};
  pre.std = {0.229f, 0.224f, 0.225f};
  if (isnet) {
    ModelDescriptor d;
    if (Status s = LoadModelDescriptor((dir / b1.onnx_name / "model.yaml").string(), &d); !s.ok())
      return 1;
    pre = *d.preprocess;
  }
  vision::PreprocessedImage prepared;
  if (!vision::PreprocessImage(image, pre, &prepared).ok()) return 1;

  api::ServerOptions so;
  so.models_dir = dir.string();
  so.only_models = {served(b1), served(bn), served(small)};
  so.request_work_idle_class = o.request_work_class == "idle";
  so.http.port = 0;
  so.cpu_threads = o.cores > 0 ? cores : 0;  // the served instances divide the same cores
  std::unique_ptr<api::Server> server;
  if (Status s = api::Server::Create(so, &backends, &server); !s.ok() || !server->Start().ok()) {
    std::fprintf(stderr, "server: %s\n", s.ToString().c_str());
    return 1;
  }
  // Latency at light load, full-size model and a small one (whose compute does not drown the
  // server's own cost in the machine's noise).
  const LatencySamples lat_full = MeasureLatency(
      *saturated[0], pre, image, server->port(),
      MakeRequest(o.route, served(b1), image, content_type, prepared.input), o.light_requests);
  std::string small_image;
  if (!EncodePng(SyntheticScene(o.small_size, o.small_size), &small_image).ok()) return 1;
  ImagePreprocess small_pre = pre;
  small_pre.width = small_pre.height = o.small_size;
  backend::LoadSpec small_spec = spec;
  small_spec.threads = cores;  // seg-small always has one instance
  small_spec.artifacts = {artifact(small)};
  if (isnet) small_spec.output_names.clear();  // seg-small is the UNet
  std::unique_ptr<backend::ModelInstance> small_direct;
  if (Status s = engine->Load(small_spec, &small_direct); !s.ok()) {
    std::fprintf(stderr, "load: %s\n", s.ToString().c_str());
    return 1;
  }
  vision::PreprocessedImage small_prepared;
  if (!vision::PreprocessImage(small_image, small_pre, &small_prepared).ok()) return 1;
  const LatencySamples lat_small = MeasureLatency(
      *small_direct, small_pre, small_image, server->port(),
      MakeRequest(o.route, served(small), small_image, "image/png", small_prepared.input),
      o.light_requests * 3);
  const Request request1 = MakeRequest(o.route, served(b1), image, content_type, prepared.input);
  const Request requestn = MakeRequest(o.route, served(bn), image, content_type, prepared.input);

  // Saturation, interleaved rounds.
  json rounds = json::array();
  std::vector<double> ratio1, ration, wide_ratio1, wide_ration;
  double sum_d1 = 0, sum_s1 = 0, sum_dn = 0, sum_sn = 0, sum_w1 = 0, sum_wn = 0;
  int64_t failures_total = 0;
  for (int r = 0; r < o.rounds; ++r) {
    int64_t f1 = 0, fn = 0;
    double d1 = 0, s1 = 0, dn = 0, sn = 0;
    const auto direct1 = [&] { d1 = DirectThroughput(saturated, prepared.input, 1, o.seconds); };
    ModelBusy busy1, busyn;
    const auto served1 = [&] {
      const BusyProbe probe(server->models().Find(served(b1)), o.instances);
      s1 =
          ServedThroughput(server->port(), request1, o.concurrency, o.seconds, o.idle_clients, &f1);
      busy1 = probe.Finish();
    };
    const auto directn = [&] {
      dn = DirectThroughput(saturated, prepared.input, o.batch, o.seconds);
    };
    const auto servedn = [&] {
      const BusyProbe probe(server->models().Find(served(bn)), o.instances);
      sn =
          ServedThroughput(server->port(), requestn, o.concurrency, o.seconds, o.idle_clients, &fn);
      busyn = probe.Finish();
    };
    // ABBA: odd rounds run served first, so a linear drift within a pair favours neither side.
    double cpu_d1 = 0, cpu_s1 = 0, cpu_dn = 0, cpu_sn = 0;
    const bool served_first = r % 2 == 1;
    // Measures one (direct, served) pair in this round's order, with each window's CPU share.
    const auto pair = [&](const auto& d, const auto& s, double* cpu_d, double* cpu_s) {
      if (served_first) *cpu_s = CpuShare(s, machine_cores);
      *cpu_d = CpuShare(d, machine_cores);
      if (!served_first) *cpu_s = CpuShare(s, machine_cores);
    };
    double w1 = 0, wn = 0;  // one instance of all cores (only with --instances > 1)
    const auto measure_wide = [&] {
      if (wide.empty()) return;
      w1 = DirectThroughput(wide, prepared.input, 1, o.seconds);
      wide_ratio1.push_back(s1 / w1);
      sum_w1 += w1;
      if (isnet) return;
      wn = DirectThroughput(wide, prepared.input, o.batch, o.seconds);
      wide_ration.push_back(sn / wn);
      sum_wn += wn;
    };
    if (!served_first) measure_wide();  // ... and after the pairs in the other rounds
    pair(direct1, served1, &cpu_d1, &cpu_s1);
    if (!isnet) pair(directn, servedn, &cpu_dn, &cpu_sn);  // ISNet has batch 1 only
    if (served_first) measure_wide();
    failures_total += f1 + fn;
    sum_d1 += d1, sum_s1 += s1, sum_dn += dn, sum_sn += sn;
    ratio1.push_back(s1 / d1);
    if (!isnet) ration.push_back(sn / dn);
    rounds.push_back({{"direct_b1_img_s", d1},
                      {"served_b1_img_s", s1},
                      {"direct_bN_img_s", dn},
                      {"served_bN_img_s", sn},
                      {"ratio_b1", s1 / d1},
                      {"ratio_bN", sn / dn},
                      {"direct_one_instance_all_cores_b1_img_s", w1},
                      {"direct_one_instance_all_cores_bN_img_s", wn},
                      {"failures", f1 + fn},
                      {"served_model", {{"b1", busy1.ToJson()}, {"bN", busyn.ToJson()}}},
                      {"cpu_share",
                       {{"direct_b1", cpu_d1},
                        {"served_b1", cpu_s1},
                        {"direct_bN", cpu_dn},
                        {"served_bN", cpu_sn}}}});
    std::fprintf(
        stderr,
        "round %d: b1 direct %.2f served %.2f (%.3f) | b%d direct %.2f served %.2f (%.3f) | cpu "
        "%.2f %.2f %.2f %.2f | served busy %.3f %.3f, ms/img %.2f (direct %.2f) %.2f (direct "
        "%.2f)\n",
        r, d1, s1, s1 / d1, o.batch, dn, sn, sn / dn, cpu_d1, cpu_s1, cpu_dn, cpu_sn, busy1.busy,
        busyn.busy, busy1.compute_s_per_image * 1e3, o.instances * 1e3 / d1,
        busyn.compute_s_per_image * 1e3, o.instances * 1e3 / dn);
    if (!wide.empty())
      std::fprintf(stderr,
                   "  one instance of all cores, direct: b1 %.2f (served %.3f) b%d %.2f (%.3f)\n",
                   w1, s1 / w1, o.batch, wn, sn / wn);
  }
  const bool server_idle_class = server->request_work_idle_class();
  auto* batched = server->models().Find(served(bn));
  const double mean_batch = batched->metrics.batch_size->sum() /
                            std::max<uint64_t>(1, batched->metrics.batch_size->count());
  server->Stop();
  fs::remove_all(dir);

  json result = {
      {"benchmark", "seg_bench"},
      {"model", isnet ? json{{"name", o.model + " (ISNet, trained)"},
                             {"backend", o.backend},
                             {"input", {3, pre.height, pre.width}},
                             {"image", "astronaut.png (scikit-image, public domain)"}}
                      : json{{"name", "demo UNet (untrained)"},
                             {"backend", o.backend},
                             {"parameters", models::DemoSegmentationParameterCount(bn)},
                             {"input", {3, o.size, o.size}}}},
      {"config",
       {{"seconds", o.seconds},
        {"rounds", o.rounds},
        {"concurrency", o.concurrency},
        {"batch", o.batch},
        {"instances", o.instances},
        {"threads_per_instance", std::max(1, cores / o.instances)},
        {"format", o.format},
        {"route", o.route},
        {"image_bytes", image.size()},
        {"cores", machine_cores},
        {"model_cores", cores},
        {"malloc", default_malloc ? "glibc defaults" : "epara inference settings"},
        {"client_threads", o.idle_clients ? "SCHED_IDLE" : "nice 10"},
        {"request_work_class", server_idle_class ? "idle" : "normal"}}},
      {"rounds", rounds},
      {"throughput_ratio_served_over_direct",
       {{"batch1_median", Median(ratio1)},
        {"batchN_median", Median(ration)},
        {"batch1_pooled", sum_s1 / sum_d1},
        {"batchN_pooled", sum_sn / sum_dn}}},
      {"served_over_direct_one_instance_all_cores",
       wide.empty() ? json(nullptr)
                    : json{{"batch1_median", Median(wide_ratio1)},
                           {"batchN_median", Median(wide_ration)},
                           {"batch1_pooled", sum_s1 / sum_w1},
                           {"batchN_pooled", sum_sn / sum_wn}}},
      {"served_mean_batch_size", mean_batch},
      {"failures", failures_total},
      {"latency_ms",
       {{"model_" + std::to_string(o.size), lat_full.Summary()},
        {"model_" + std::to_string(o.small_size), lat_small.Summary()}}},
  };
  std::printf("%s\n", result.dump(2).c_str());
  if (!o.out.empty()) std::ofstream(o.out) << result.dump(2) << "\n";
  return failures_total == 0 ? 0 : 2;
}
