#include "api/kserve_routes.h"

#include <nlohmann/json.hpp>

#include <chrono>

#include "api/error_mapping.h"
#include "api/kserve_json.h"
#include "engine/input_validation.h"

namespace epara::api {
namespace {

using json = nlohmann::json;
constexpr const char* kModelPath = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)";

json TensorMetadata(const TensorSpec& t, bool batching) {
  std::vector<int64_t> shape = t.dims;
  if (batching) shape.insert(shape.begin(), -1);
  return {{"name", t.name}, {"datatype", DataTypeName(t.dtype)}, {"shape", shape}};
}

Status CheckVersion(const engine::ServedModel& m, const HttpRequest& req) {
  if (req.path_params.size() > 1 && !req.path_params[1].empty() &&
      req.path_params[1] != m.descriptor.version)
    return NotFound("model '" + m.descriptor.name + "' has no version '" + req.path_params[1] +
                    "'");
  return Status::Ok();
}

void Infer(const ServerContext& ctx, const HttpRequest& req, HttpResponse* res) {
  const auto start = std::chrono::steady_clock::now();
  engine::ServedModel* model = nullptr;
  if (AnsweredElsewhere(ctx, req.path_params[0], req, res)) return;
  std::optional<engine::ModelUse> use;
  if (Status s = FindModel(ctx, req.path_params[0], &model, &use); !s.ok())
    return WriteError(s, res);
  auto finish = [&](const Status& s) {
    model->metrics.RecordRequest(
        s, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (!s.ok()) WriteError(s, res);
  };
  if (Status s = CheckVersion(*model, req); !s.ok()) return finish(s);
  const ModelDescriptor& d = model->descriptor;
  KServeInferRequest parsed;
  if (Status s =
          RunRequestWork(ctx,
                         [&] {
                           size_t json_length = 0;
                           EPARA_RETURN_IF_ERROR(ParseInferenceHeaderLength(
                               req.Header(kInferenceHeaderLength), req.body.size(), &json_length));
                           return ParseKServeInferRequest(req.body, json_length, &parsed);
                         });
      !s.ok())
    return finish(s);
  // (output index, binary) in the order the request lists them; every output when none is listed.
  std::vector<std::pair<size_t, bool>> selected;
  for (const KServeRequestedOutput& o : parsed.requested_outputs) {
    size_t i = 0;
    while (i < d.outputs.size() && d.outputs[i].name != o.name) ++i;
    if (i == d.outputs.size())
      return finish(InvalidArgument("unknown output '" + o.name + "' for model '" + d.name + "'"));
    selected.emplace_back(i, parsed.OutputBinary(&o));
  }
  if (selected.empty())
    for (size_t i = 0; i < d.outputs.size(); ++i)
      selected.emplace_back(i, parsed.OutputBinary(nullptr));
  std::vector<Tensor> inputs;
  int64_t rows = 1;
  if (Status s = engine::ValidateInputs(d, parsed.inputs, &inputs, &rows); !s.ok())
    return finish(s);
  engine::InferenceResult result;
  if (Status s = engine::InferSync(*model, std::move(inputs), rows, &result,
                                   PriorityOf(req, model->descriptor));
      !s.ok())
    return finish(s);
  std::vector<KServeOutput> outputs;
  for (const auto& [i, binary] : selected)
    outputs.push_back({d.outputs[i].name, &result.outputs[i], binary});
  (void)RunRequestWork(ctx, [&] {
    size_t json_length = 0;
    res->body = KServeInferResponse(d.name, d.version, parsed.id, outputs, &json_length);
    if (json_length > 0) {
      res->content_type = "application/octet-stream";
      res->headers.emplace_back(kInferenceHeaderLength, std::to_string(json_length));
    }
    return Status::Ok();
  });
  finish(Status::Ok());
}

}  // namespace

void AddKServeRoutes(HttpServer* http, const ServerContext* ctx) {
  http->Route("GET", "/v2", [ctx](const HttpRequest&, HttpResponse* res) {
    res->body = json{{"name", ctx->server_name},
                     {"version", ctx->server_version},
                     {"extensions", json::array({"binary_tensor_data"})}}
                    .dump();
  });
  http->Route("GET", "/v2/health/live",
              [](const HttpRequest&, HttpResponse* res) { res->body = R"({"live":true})"; });
  http->Route("GET", "/v2/health/ready", [ctx](const HttpRequest&, HttpResponse* res) {
    bool ready = true;
    for (const engine::ServedModel* m : ctx->models->List())
      ready = ready && m->state == engine::ModelState::kReady;
    if (!ready) return WriteError(Unavailable("not every model is ready"), res);
    res->body = R"({"ready":true})";
  });
  http->Route("GET", kModelPath, [ctx](const HttpRequest& req, HttpResponse* res) {
    engine::ServedModel* m = nullptr;
    if (Status s = FindModel(*ctx, req.path_params[0], &m); !s.ok()) {
      if (!AnsweredElsewhere(*ctx, req.path_params[0], req, res)) WriteError(s, res);
      return;
    }
    if (Status s = CheckVersion(*m, req); !s.ok()) return WriteError(s, res);
    const ModelDescriptor& d = m->descriptor;
    const bool batching = d.batching.max_batch_size > 0;
    json j = {{"name", d.name},
              {"versions", {d.version}},
              {"platform", d.backend},
              {"task", TaskTypeName(d.task)},
              {"state", engine::ModelStateName(m->state)},
              {"inputs", json::array()},
              {"outputs", json::array()}};
    // A loading model's tensors may still be filled in from the model file (engine/model_io.h).
    if (m->state != engine::ModelState::kLoading) {
      for (const auto& t : d.inputs) j["inputs"].push_back(TensorMetadata(t, batching));
      for (const auto& t : d.outputs) j["outputs"].push_back(TensorMetadata(t, batching));
    }
    res->body = j.dump();
  });
  http->Route(
      "GET", std::string(kModelPath) + "/ready", [ctx](const HttpRequest& req, HttpResponse* res) {
        engine::ServedModel* m = nullptr;
        if (Status s = FindModel(*ctx, req.path_params[0], &m); !s.ok()) {
          if (!AnsweredElsewhere(*ctx, req.path_params[0], req, res)) WriteError(s, res);
          return;
        }
        if (Status s = CheckVersion(*m, req); !s.ok()) return WriteError(s, res);
        if (m->state != engine::ModelState::kReady)
          return WriteError(Unavailable("model '" + m->descriptor.name + "' is " +
                                        std::string(engine::ModelStateName(m->state)) +
                                        (m->load_error.ok() ? "" : ": " + m->load_error.message())),
                            res);
        res->body = json{{"name", m->descriptor.name}, {"ready", true}}.dump();
      });
  http->Route("POST", std::string(kModelPath) + "/infer",
              [ctx](const HttpRequest& req, HttpResponse* res) { Infer(*ctx, req, res); });
}

}  // namespace epara::api
