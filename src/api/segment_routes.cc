#include "api/segment_routes.h"

#include <sstream>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>

#include "api/error_mapping.h"
#include "vision/segmentation_pipeline.h"

namespace epara::api {
namespace {

using Clock = std::chrono::steady_clock;
double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void Segment(const ServerContext& ctx, const HttpRequest& req, HttpResponse* res) {
  const auto t0 = Clock::now();
  engine::ServedModel* model = nullptr;
  if (AnsweredElsewhere(ctx, req.path_params[0], req, res)) return;
  std::optional<engine::ModelUse> use;
  if (Status s = FindModel(ctx, req.path_params[0], &model, &use); !s.ok())
    return WriteError(s, res);
  auto finish = [&](const Status& s) {
    model->metrics.RecordRequest(s, std::chrono::duration<double>(Clock::now() - t0).count());
    if (!s.ok()) WriteError(s, res);
  };
  const ModelDescriptor& d = model->descriptor;
  if (d.task != TaskType::kSegmentation)
    return finish(InvalidArgument("model '" + d.name + "' is a " +
                                  std::string(TaskTypeName(d.task)) +
                                  " model; /v1/segment needs a segmentation model"));
  const std::string format = req.Query("format", "png");
  if (format != "png" && format != "json" && format != "cutout")
    return finish(
        InvalidArgument("format must be 'png', 'json' or 'cutout', got '" + format + "'"));
  const bool cutout = format == "cutout";

  vision::PreprocessedImage pre;
  if (Status s = RunRequestWork(ctx,
                                [&] {
                                  return vision::PreprocessImage(req.body, *d.preprocess, &pre,
                                                                 ctx.image_limits, cutout);
                                });
      !s.ok())
    return finish(s);
  const auto t1 = Clock::now();
  const int planned = ctx.split_default ? std::max(1, ctx.split_default(d.name)) : 1;
  const int split = std::atoi(req.Query("split", std::to_string(planned)).c_str());
  if (split < 1 || split > 64) return finish(InvalidArgument("split must be in [1, 64]"));
  engine::InferenceResult result;
  if (split > 1) {
    // Spatial split: the image's tiles run on several nodes at once (vision/spatial_split.h).
    if (!ctx.run_split)
      return finish(InvalidArgument("?split needs a cluster node (epara node or epara up)"));
    Tensor logits;
    const bool planned = req.Query("split").empty();
    if (Status s = ctx.run_split(d.name, pre.input, split, planned, Ms(t1 - t0), &logits); !s.ok())
      return finish(s);
    result.outputs.push_back(std::move(logits));
    result.batch_rows = 1;
  } else {
    std::vector<Tensor> inputs;
    inputs.push_back(std::move(pre.input));
    if (d.batching.max_batch_size == 0) {  // unbatched models take [3, H, W]
      if (Status s = inputs[0].Reshape({3, d.preprocess->height, d.preprocess->width}, &inputs[0]);
          !s.ok())
        return finish(s);
    }
    if (Status s = engine::InferSync(*model, std::move(inputs), /*rows=*/1, &result,
                                     PriorityOf(req, model->descriptor));
        !s.ok())
      return finish(s);
  }
  const auto t2 = Clock::now();
  vision::SegmentationMask mask;
  std::string png;
  if (Status s = RunRequestWork(
          ctx,
          [&] {
            EPARA_RETURN_IF_ERROR(vision::PostprocessLogits(result.outputs[0], pre.original_width,
                                                            pre.original_height, &mask,
                                                            {d.postprocess, cutout}));
            if (cutout) return vision::EncodeCutoutPng(pre.original, mask.alpha, &png);
            if (format != "png") return Status::Ok();
            return EncodePalettePng(mask.mask,
                                    ClassPalette(static_cast<int>(mask.class_pixels.size())), &png);
          });
      !s.ok())
    return finish(s);
  const int classes = static_cast<int>(mask.class_pixels.size());
  const auto t3 = Clock::now();
  const double pre_ms = Ms(t1 - t0), infer_ms = Ms(t2 - t1), post_ms = Ms(t3 - t2);
  if (format != "json") {  // the mask (palette PNG) or the cut-out (RGBA PNG)
    res->content_type = "image/png";
    res->body = std::move(png);
    res->headers.emplace_back("X-Epara-Queue-Ms", std::to_string(result.queue_seconds * 1e3));
    res->headers.emplace_back("X-Epara-Compute-Ms", std::to_string(result.compute_seconds * 1e3));
    res->headers.emplace_back("X-Epara-Batch-Size", std::to_string(result.batch_rows));
  } else {
    nlohmann::json cls = nlohmann::json::array();
    const double total = static_cast<double>(mask.mask.pixels.size());
    const bool binary = d.postprocess.kind != SegmentationPostprocess::Kind::kArgmax;
    auto label = [&](int c) {
      if (c < static_cast<int>(d.labels.size())) return d.labels[c];
      if (binary) return std::string(c == 0 ? "background" : "foreground");
      return std::to_string(c);
    };
    for (int c = 0; c < classes; ++c)
      cls.push_back({{"id", c},
                     {"label", label(c)},
                     {"pixels", mask.class_pixels[c]},
                     {"fraction", total > 0 ? mask.class_pixels[c] / total : 0.0}});
    res->body = nlohmann::json{{"model", d.name},
                               {"width", mask.mask.width},
                               {"height", mask.mask.height},
                               {"classes", std::move(cls)},
                               {"batch_size", result.batch_rows},
                               {"timings_ms",
                                {{"decode_preprocess", pre_ms},
                                 {"queue", result.queue_seconds * 1e3},
                                 {"compute", result.compute_seconds * 1e3},
                                 {"inference_total", infer_ms},
                                 {"postprocess", post_ms},
                                 {"total", Ms(t3 - t0)}}}}
                    .dump();
  }
  finish(Status::Ok());
}

// POST /v1/internal/tile/{model}: one spatial tile, raw FP32 [1, C, h, w] in (header
// X-Epara-Shape "1,C,h,w"), raw FP32 logits [1, K, h, w] out (same header). Run alone (solo): its
// shape differs from the descriptor's. Peers send it; see NodeAgent::RunSplit.
void Tile(const ServerContext& ctx, const HttpRequest& req, HttpResponse* res) {
  engine::ServedModel* model = nullptr;
  std::optional<engine::ModelUse> use;
  if (Status s = FindModel(ctx, req.path_params[0], &model, &use); !s.ok())
    return WriteError(s, res);
  const ModelDescriptor& d = model->descriptor;
  if (d.task != TaskType::kSegmentation)
    return WriteError(InvalidArgument("tiles are for segmentation models"), res);
  std::vector<int64_t> shape;
  std::stringstream dims(req.Header("X-Epara-Shape"));
  for (std::string v; std::getline(dims, v, ',');) shape.push_back(std::atoll(v.c_str()));
  if (shape.size() != 4 || shape[0] != 1 || shape[1] != 3 || shape[2] <= 0 || shape[3] <= 0 ||
      shape[2] % 16 || shape[3] % 16 || shape[2] > 8192 || shape[3] > 8192)
    return WriteError(InvalidArgument("X-Epara-Shape must be 1,3,h,w with h, w multiples of 16"),
                      res);
  Tensor input = Tensor::Uninitialized(DataType::kFp32, shape);
  if (req.body.size() != input.byte_size())
    return WriteError(InvalidArgument("tile body has " + std::to_string(req.body.size()) +
                                      " bytes, shape needs " + std::to_string(input.byte_size())),
                      res);
  std::memcpy(input.raw(), req.body.data(), req.body.size());
  if (d.batching.max_batch_size == 0)
    if (Status s = input.Reshape({3, shape[2], shape[3]}, &input); !s.ok())
      return WriteError(s, res);
  engine::InferenceResult result;
  engine::RequestPriority solo = PriorityOf(req, d);
  solo.solo = true;
  if (d.preprocess && d.preprocess->width > 0 && d.preprocess->height > 0)
    solo.work_share = std::min(
        1.0, double(shape[2]) * shape[3] / (double(d.preprocess->width) * d.preprocess->height));
  if (Status s = engine::InferSync(*model, {input}, /*rows=*/1, &result, solo); !s.ok())
    return WriteError(s, res);
  Tensor logits = result.outputs[0];
  if (logits.shape().size() == 3)
    if (Status s =
            logits.Reshape({1, logits.shape()[0], logits.shape()[1], logits.shape()[2]}, &logits);
        !s.ok())
      return WriteError(s, res);
  res->content_type = "application/octet-stream";
  res->body.assign(reinterpret_cast<const char*>(logits.raw()), logits.byte_size());
  res->headers.emplace_back("X-Epara-Shape", std::to_string(logits.shape()[0]) + "," +
                                                 std::to_string(logits.shape()[1]) + "," +
                                                 std::to_string(logits.shape()[2]) + "," +
                                                 std::to_string(logits.shape()[3]));
}

}  // namespace

void AddSegmentationRoutes(HttpServer* http, const ServerContext* ctx) {
  http->Route("POST", R"(/v1/internal/tile/([^/]+))",
              [ctx](const HttpRequest& req, HttpResponse* res) { Tile(*ctx, req, res); });
  http->Route("POST", R"(/v1/segment/([^/]+))",
              [ctx](const HttpRequest& req, HttpResponse* res) { Segment(*ctx, req, res); });
}

}  // namespace epara::api
