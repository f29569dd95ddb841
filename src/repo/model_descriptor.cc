#include "repo/model_descriptor.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace epara {
namespace {

// Error helper: every message names the file and the field.
class FieldError {
 public:
  explicit FieldError(const std::string& origin) : origin_(origin) {}
  Status operator()(const std::string& field, const std::string& what) const {
    return InvalidArgument(origin_ + ": field '" + field + "': " + what);
  }

 private:
  const std::string& origin_;
};

template <typename T>
Status ReadScalar(const YAML::Node& node, const std::string& field, const FieldError& err, T* out) {
  try {
    *out = node.as<T>();
    return Status::Ok();
  } catch (const YAML::Exception&) {
    return err(field, "expected a " + std::string(std::is_same_v<T, std::string> ? "string"
                                                  : std::is_floating_point_v<T>  ? "number"
                                                  : std::is_same_v<T, bool>      ? "boolean"
                                                                                 : "integer"));
  }
}

Status ParseTensorSpecs(const YAML::Node& node, const std::string& field, const FieldError& err,
                        std::vector<TensorSpec>* out) {
  if (!node || !node.IsSequence() || node.size() == 0)
    return err(field, "expected a non-empty list of tensors");
  std::set<std::string> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string f = field + "[" + std::to_string(i) + "]";
    const YAML::Node& t = node[i];
    if (!t.IsMap()) return err(f, "expected a map with name, datatype, shape");
    TensorSpec spec;
    if (!t["name"]) return err(f + ".name", "missing");
    EPARA_RETURN_IF_ERROR(ReadScalar(t["name"], f + ".name", err, &spec.name));
    if (spec.name.empty()) return err(f + ".name", "must not be empty");
    if (!seen.insert(spec.name).second) return err(f + ".name", "duplicate '" + spec.name + "'");
    if (!t["datatype"]) return err(f + ".datatype", "missing");
    std::string dt;
    EPARA_RETURN_IF_ERROR(ReadScalar(t["datatype"], f + ".datatype", err, &dt));
    if (Status s = ParseDataType(dt, &spec.dtype); !s.ok())
      return err(f + ".datatype", s.message());
    const YAML::Node& shape = t["shape"];
    if (!shape || !shape.IsSequence()) return err(f + ".shape", "expected a list of dimensions");
    for (size_t d = 0; d < shape.size(); ++d) {
      int64_t v = 0;
      EPARA_RETURN_IF_ERROR(ReadScalar(shape[d], f + ".shape", err, &v));
      if (v < -1 || v == 0) return err(f + ".shape", "dimensions must be positive or -1");
      spec.dims.push_back(v);
    }
    out->push_back(std::move(spec));
  }
  return Status::Ok();
}

Status ParseFloat3(const YAML::Node& node, const std::string& field, const FieldError& err,
                   std::array<float, 3>* out) {
  if (!node.IsSequence() || node.size() != 3) return err(field, "expected a list of 3 numbers");
  for (size_t i = 0; i < 3; ++i) EPARA_RETURN_IF_ERROR(ReadScalar(node[i], field, err, &(*out)[i]));
  return Status::Ok();
}

const std::set<std::string> kTopLevelKeys = {"name",      "version", "task",       "backend",
                                             "artifacts", "inputs",  "outputs",    "batching",
                                             "instances", "slo",     "preprocess", "postprocess",
                                             "labels",    "llm",     "variant"};

}  // namespace

std::string_view TaskTypeName(TaskType t) {
  switch (t) {
    case TaskType::kSegmentation:
      return "segmentation";
    case TaskType::kLlm:
      return "llm";
    case TaskType::kTensor:
      return "tensor";
  }
  return "unknown";
}

Status ParseModelDescriptor(const std::string& yaml_text, const std::string& origin,
                            const std::string& directory, ModelDescriptor* out) {
  FieldError err(origin);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(origin + ": not valid YAML: " + e.what());
  }
  if (!root.IsMap()) return InvalidArgument(origin + ": expected a YAML map at the top level");
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>("");
    if (!kTopLevelKeys.count(key)) return err(key, "unknown field");
  }

  ModelDescriptor d;
  d.directory = directory;
  if (!root["name"]) return err("name", "missing");
  EPARA_RETURN_IF_ERROR(ReadScalar(root["name"], "name", err, &d.name));
  if (d.name.empty() || d.name.find_first_of("/ \t?#%") != std::string::npos)
    return err("name", "must be non-empty without '/', spaces, '?', '#', '%'");
  if (root["version"])
    EPARA_RETURN_IF_ERROR(ReadScalar(root["version"], "version", err, &d.version));

  if (!root["task"]) return err("task", "missing (segmentation | llm | tensor)");
  std::string task;
  EPARA_RETURN_IF_ERROR(ReadScalar(root["task"], "task", err, &task));
  if (task == "segmentation")
    d.task = TaskType::kSegmentation;
  else if (task == "llm")
    d.task = TaskType::kLlm;
  else if (task == "tensor")
    d.task = TaskType::kTensor;
  else
    return err("task", "'" + task + "' is not one of segmentation, llm, tensor");

  if (root["backend"])
    EPARA_RETURN_IF_ERROR(ReadScalar(root["backend"], "backend", err, &d.backend));

  const YAML::Node& artifacts = root["artifacts"];
  if (!artifacts || !artifacts.IsSequence() || artifacts.size() == 0)
    return err("artifacts", "expected a non-empty list of files relative to the model folder");
  for (size_t i = 0; i < artifacts.size(); ++i) {
    std::string rel;
    const std::string f = "artifacts[" + std::to_string(i) + "]";
    EPARA_RETURN_IF_ERROR(ReadScalar(artifacts[i], f, err, &rel));
    std::filesystem::path p = std::filesystem::path(directory) / rel;
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) return err(f, "file not found: " + p.string());
    d.artifacts.push_back(p.string());
  }

  if (d.task != TaskType::kLlm) {
    // A backend that reads tensors from the model lets the descriptor omit them (but not state
    // an empty list).
    const bool optional = BackendDescribesModels(d.backend);
    if (!optional || root["inputs"])
      EPARA_RETURN_IF_ERROR(ParseTensorSpecs(root["inputs"], "inputs", err, &d.inputs));
    if (!optional || root["outputs"])
      EPARA_RETURN_IF_ERROR(ParseTensorSpecs(root["outputs"], "outputs", err, &d.outputs));
  }

  if (const YAML::Node& b = root["batching"]) {
    if (!b.IsMap()) return err("batching", "expected a map");
    if (b["max_batch_size"])
      EPARA_RETURN_IF_ERROR(ReadScalar(b["max_batch_size"], "batching.max_batch_size", err,
                                       &d.batching.max_batch_size));
    if (d.batching.max_batch_size < 0 || d.batching.max_batch_size > 4096)
      return err("batching.max_batch_size", "must be in [0, 4096]");
    if (b["max_queue_delay_ms"]) {
      double ms = 0;
      EPARA_RETURN_IF_ERROR(
          ReadScalar(b["max_queue_delay_ms"], "batching.max_queue_delay_ms", err, &ms));
      if (ms < 0 || ms > 60000) return err("batching.max_queue_delay_ms", "must be in [0, 60000]");
      d.batching.max_queue_delay_us = static_cast<int64_t>(ms * 1000.0);
    }
    if (b["max_queue_size"])
      EPARA_RETURN_IF_ERROR(ReadScalar(b["max_queue_size"], "batching.max_queue_size", err,
                                       &d.batching.max_queue_size));
    if (d.batching.max_queue_size < 1) return err("batching.max_queue_size", "must be >= 1");
    if (b["slo_aware"])
      EPARA_RETURN_IF_ERROR(
          ReadScalar(b["slo_aware"], "batching.slo_aware", err, &d.batching.slo_aware));
  }

  if (const YAML::Node& g = root["instances"]) {
    if (!g.IsMap()) return err("instances", "expected a map");
    if (g["count"])
      EPARA_RETURN_IF_ERROR(ReadScalar(g["count"], "instances.count", err, &d.instances.count));
    if (d.instances.count < 1 || d.instances.count > 64)
      return err("instances.count", "must be in [1, 64]");
    if (g["device"])
      EPARA_RETURN_IF_ERROR(ReadScalar(g["device"], "instances.device", err, &d.instances.device));
    const std::string& dev = d.instances.device;
    if (dev != "cpu" && dev.rfind("cuda:", 0) != 0)
      return err("instances.device", "expected 'cpu' or 'cuda:N', got '" + dev + "'");
    if (g["threads"])
      EPARA_RETURN_IF_ERROR(
          ReadScalar(g["threads"], "instances.threads", err, &d.instances.threads));
    if (d.instances.threads < 0) return err("instances.threads", "must be >= 0");
  }

  if (const YAML::Node& s = root["slo"]) {
    if (!s.IsMap()) return err("slo", "expected a map");
    if (s["latency_ms"])
      EPARA_RETURN_IF_ERROR(ReadScalar(s["latency_ms"], "slo.latency_ms", err, &d.slo.latency_ms));
    if (s["ttft_ms"])
      EPARA_RETURN_IF_ERROR(ReadScalar(s["ttft_ms"], "slo.ttft_ms", err, &d.slo.ttft_ms));
    if (s["tpot_ms"])
      EPARA_RETURN_IF_ERROR(ReadScalar(s["tpot_ms"], "slo.tpot_ms", err, &d.slo.tpot_ms));
    if (d.slo.latency_ms < 0 || d.slo.ttft_ms < 0 || d.slo.tpot_ms < 0)
      return err("slo", "values must be >= 0");
  }

  if (const YAML::Node& p = root["preprocess"]) {
    if (!p.IsMap()) return err("preprocess", "expected a map");
    ImagePreprocess pre;
    if (!p["width"] || !p["height"]) return err("preprocess", "width and height are required");
    EPARA_RETURN_IF_ERROR(ReadScalar(p["width"], "preprocess.width", err, &pre.width));
    EPARA_RETURN_IF_ERROR(ReadScalar(p["height"], "preprocess.height", err, &pre.height));
    if (pre.width < 1 || pre.height < 1 || pre.width > 16384 || pre.height > 16384)
      return err("preprocess", "width and height must be in [1, 16384]");
    if (p["mean"]) EPARA_RETURN_IF_ERROR(ParseFloat3(p["mean"], "preprocess.mean", err, &pre.mean));
    if (p["std"]) EPARA_RETURN_IF_ERROR(ParseFloat3(p["std"], "preprocess.std", err, &pre.std));
    for (float v : pre.std)
      if (v == 0.f) return err("preprocess.std", "must not contain 0");
    if (p["color"]) {
      std::string color;
      EPARA_RETURN_IF_ERROR(ReadScalar(p["color"], "preprocess.color", err, &color));
      if (color != "rgb" && color != "bgr") return err("preprocess.color", "expected rgb or bgr");
      pre.bgr = color == "bgr";
    }
    d.preprocess = pre;
  }

  if (const YAML::Node& p = root["postprocess"]) {
    if (!p.IsMap()) return err("postprocess", "expected a map");
    for (const auto& kv : p) {
      const std::string key = kv.first.as<std::string>("");
      if (key != "kind" && key != "threshold") return err("postprocess." + key, "unknown field");
    }
    if (p["kind"]) {
      std::string kind;
      EPARA_RETURN_IF_ERROR(ReadScalar(p["kind"], "postprocess.kind", err, &kind));
      using K = SegmentationPostprocess::Kind;
      if (kind == "argmax")
        d.postprocess.kind = K::kArgmax;
      else if (kind == "sigmoid")
        d.postprocess.kind = K::kSigmoid;
      else if (kind == "probability")
        d.postprocess.kind = K::kProbability;
      else
        return err("postprocess.kind", "'" + kind + "' is not one of argmax, sigmoid, probability");
    }
    if (p["threshold"]) {
      EPARA_RETURN_IF_ERROR(
          ReadScalar(p["threshold"], "postprocess.threshold", err, &d.postprocess.threshold));
      if (!(d.postprocess.threshold > 0.f && d.postprocess.threshold < 1.f))
        return err("postprocess.threshold", "must be in (0, 1)");
    }
  }

  if (const YAML::Node& v = root["variant"]) {
    if (!v.IsMap()) return err("variant", "expected a map with of, accuracy, min_accuracy");
    for (const auto& kv : v) {
      const std::string key = kv.first.as<std::string>("");
      if (key != "of" && key != "accuracy" && key != "min_accuracy")
        return err("variant." + key, "unknown field");
    }
    VariantInfo info;
    if (!v["of"]) return err("variant.of", "missing (the service this model is a variant of)");
    EPARA_RETURN_IF_ERROR(ReadScalar(v["of"], "variant.of", err, &info.of));
    if (info.of.empty()) return err("variant.of", "must not be empty");
    if (v["accuracy"])
      EPARA_RETURN_IF_ERROR(ReadScalar(v["accuracy"], "variant.accuracy", err, &info.accuracy));
    if (v["min_accuracy"])
      EPARA_RETURN_IF_ERROR(
          ReadScalar(v["min_accuracy"], "variant.min_accuracy", err, &info.min_accuracy));
    if (!(info.accuracy >= 0 && info.accuracy <= 1))
      return err("variant.accuracy", "must be in [0, 1]");
    if (!(info.min_accuracy >= 0 && info.min_accuracy <= 1))
      return err("variant.min_accuracy", "must be in [0, 1]");
    d.variant = info;
  }

  if (const YAML::Node& l = root["labels"]) {
    if (!l.IsSequence()) return err("labels", "expected a list of class names");
    for (size_t i = 0; i < l.size(); ++i) {
      std::string name;
      EPARA_RETURN_IF_ERROR(ReadScalar(l[i], "labels", err, &name));
      d.labels.push_back(name);
    }
  }

  if (const YAML::Node& l = root["llm"]) {
    if (!l.IsMap()) return err("llm", "expected a map");
    LlmServingOptions& o = d.llm;
    struct Field {
      const char* key;
      int* value;
      int min;
    };
    for (const Field& f :
         {Field{"kv_cache_mb", &o.kv_cache_mb, 1}, Field{"max_running", &o.max_running, 1},
          Field{"token_budget", &o.token_budget, 1}, Field{"max_waiting", &o.max_waiting, 1},
          Field{"threads", &o.threads, 0}}) {
      if (!l[f.key]) continue;
      const std::string field = std::string("llm.") + f.key;
      EPARA_RETURN_IF_ERROR(ReadScalar(l[f.key], field, err, f.value));
      if (*f.value < f.min) return err(field, "must be >= " + std::to_string(f.min));
    }
    if (const YAML::Node& w = l["weights"]) {
      const std::string t = w.IsScalar() ? w.as<std::string>() : "";
      if (t != "f32" && t != "bf16" && t != "q8_0" && t != "q4_0" && t != "q4_k" && t != "q6_k")
        return err("llm.weights", "must be f32, bf16, q8_0, q4_0, q4_k or q6_k");
      o.weights = w.as<std::string>();
    }
    if (const YAML::Node& v = l["kv_cache_dtype"]) {
      const std::string t = v.IsScalar() ? v.as<std::string>() : "";
      if (t != "auto" && t != "f32" && t != "f16")
        return err("llm.kv_cache_dtype", "must be auto, f32 or f16");
      o.kv_cache_dtype = t;
    }
    if (const YAML::Node& v = l["slo_steps"]) {
      EPARA_RETURN_IF_ERROR(ReadScalar(v, "llm.slo_steps", err, &o.slo_steps));
      if (o.slo_steps && !(d.slo.tpot_ms > 0))
        return err("llm.slo_steps", "needs slo.tpot_ms, the time per output token to keep");
    }
  }

  // Cross-field checks.
  if (d.task == TaskType::kSegmentation && !d.preprocess)
    return err("preprocess", "required for task 'segmentation'");
  if (!d.inputs.empty() && !d.outputs.empty()) EPARA_RETURN_IF_ERROR(CheckTaskIo(d, origin));
  *out = std::move(d);
  return Status::Ok();
}

bool BackendDescribesModels(const std::string& backend) { return backend == "onnxruntime"; }

Status CheckTaskIo(const ModelDescriptor& d, const std::string& origin) {
  if (d.task != TaskType::kSegmentation) return Status::Ok();
  FieldError err(origin);
  if (!d.preprocess) return err("preprocess", "required for task 'segmentation'");
  if (d.inputs.size() != 1 || d.outputs.size() != 1)
    return err("inputs", "segmentation models take one image tensor and return one output tensor");
  const TensorSpec& in = d.inputs[0];
  if (in.dtype != DataType::kFp32 || in.dims.size() != 3 || in.dims[0] != 3)
    return err("inputs[0]", "segmentation input must be FP32 [3, H, W], got " +
                                std::string(DataTypeName(in.dtype)) + " " + ShapeToString(in.dims));
  if ((in.dims[1] != -1 && in.dims[1] != d.preprocess->height) ||
      (in.dims[2] != -1 && in.dims[2] != d.preprocess->width))
    return err("inputs[0].shape", "must match preprocess.height/width");
  const TensorSpec& o = d.outputs[0];
  if (o.dtype != DataType::kFp32 || o.dims.size() != 3)
    return err("outputs[0]", "segmentation output must be FP32 [classes, H, W], got " +
                                 std::string(DataTypeName(o.dtype)) + " " + ShapeToString(o.dims));
  if (d.postprocess.kind != SegmentationPostprocess::Kind::kArgmax && o.dims[0] != 1 &&
      o.dims[0] != -1)
    return err("postprocess.kind",
               "sigmoid and probability need one output channel, the output "
               "has " +
                   std::to_string(o.dims[0]));
  const bool binary = d.postprocess.kind != SegmentationPostprocess::Kind::kArgmax;
  if (!d.labels.empty() && binary && d.labels.size() != 2)
    return err("labels", "a one-channel mask has 2 classes (background, foreground)");
  if (!d.labels.empty() && !binary && o.dims[0] != -1 &&
      static_cast<int64_t>(d.labels.size()) != o.dims[0])
    return err("labels", "count must equal the number of output classes");
  return Status::Ok();
}

Status LoadModelDescriptor(const std::string& yaml_path, ModelDescriptor* out) {
  std::ifstream in(yaml_path);
  if (!in) return NotFound(yaml_path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  std::error_code ec;
  std::string dir =
      std::filesystem::absolute(std::filesystem::path(yaml_path).parent_path(), ec).string();
  return ParseModelDescriptor(ss.str(), yaml_path, dir, out);
}

}  // namespace epara
