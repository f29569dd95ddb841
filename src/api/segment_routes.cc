#include "api/segment_routes.h"

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
  if (Status routed; RoutedElsewhere(ctx, req.path_params[0], req, res, &routed)) {
    if (!routed.ok()) WriteError(routed, res);
    return;
  }
  if (Status s = FindModel(ctx, req.path_params[0], &model); !s.ok()) return WriteError(s, res);
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
  if (format != "png" && format != "json")
    return finish(InvalidArgument("format must be 'png' or 'json', got '" + format + "'"));

  vision::PreprocessedImage pre;
  if (Status s = RunRequestWork(
          ctx,
          [&] { return vision::PreprocessImage(req.body, *d.preprocess, &pre, ctx.image_limits); });
      !s.ok())
    return finish(s);
  const auto t1 = Clock::now();
  std::vector<Tensor> inputs;
  inputs.push_back(std::move(pre.input));
  if (d.batching.max_batch_size == 0) {  // unbatched models take [3, H, W]
    if (Status s = inputs[0].Reshape({3, d.preprocess->height, d.preprocess->width}, &inputs[0]);
        !s.ok())
      return finish(s);
  }
  engine::InferenceResult result;
  if (Status s = engine::InferSync(*model, std::move(inputs), /*rows=*/1, &result,
                                   PriorityOf(req, model->descriptor));
      !s.ok())
    return finish(s);
  const auto t2 = Clock::now();
  vision::SegmentationMask mask;
  std::string png;
  if (Status s = RunRequestWork(
          ctx,
          [&] {
            EPARA_RETURN_IF_ERROR(vision::PostprocessLogits(result.outputs[0], pre.original_width,
                                                            pre.original_height, &mask));
            if (format != "png") return Status::Ok();
            return EncodePalettePng(mask.mask,
                                    ClassPalette(static_cast<int>(mask.class_pixels.size())), &png);
          });
      !s.ok())
    return finish(s);
  const int classes = static_cast<int>(mask.class_pixels.size());
  const auto t3 = Clock::now();
  const double pre_ms = Ms(t1 - t0), infer_ms = Ms(t2 - t1), post_ms = Ms(t3 - t2);
  if (format == "png") {
    res->content_type = "image/png";
    res->body = std::move(png);
    res->headers.emplace_back("X-Epara-Queue-Ms", std::to_string(result.queue_seconds * 1e3));
    res->headers.emplace_back("X-Epara-Compute-Ms", std::to_string(result.compute_seconds * 1e3));
    res->headers.emplace_back("X-Epara-Batch-Size", std::to_string(result.batch_rows));
  } else {
    nlohmann::json cls = nlohmann::json::array();
    const double total = static_cast<double>(mask.mask.pixels.size());
    for (int c = 0; c < classes; ++c)
      cls.push_back(
          {{"id", c},
           {"label", c < static_cast<int>(d.labels.size()) ? d.labels[c] : std::to_string(c)},
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

}  // namespace

void AddSegmentationRoutes(HttpServer* http, const ServerContext* ctx) {
  http->Route("POST", R"(/v1/segment/([^/]+))",
              [ctx](const HttpRequest& req, HttpResponse* res) { Segment(*ctx, req, res); });
}

}  // namespace epara::api
