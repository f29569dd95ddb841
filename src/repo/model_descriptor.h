// ModelDescriptor: the typed form of a model folder's `model.yaml`, validated once at load.
//
// Shapes follow Triton's convention: when batching.max_batch_size > 0 the descriptor's shapes omit
// the leading batch dimension and requests carry it; -1 marks a variable dimension.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace epara {

enum class TaskType { kSegmentation, kLlm, kTensor };
std::string_view TaskTypeName(TaskType t);

struct TensorSpec {
  std::string name;
  DataType dtype = DataType::kFp32;
  std::vector<int64_t> dims;  // without the batch dimension when batching is enabled; -1 = any
};

struct ImagePreprocess {
  int width = 0;  // the network's input size; images are resized to it (bilinear)
  int height = 0;
  // Applied after scaling pixels to [0, 1]; listed in the network's channel order (so for a BGR
  // network mean[0] is blue's), as torchvision and Caffe model cards give them.
  std::array<float, 3> mean = {0.f, 0.f, 0.f};
  std::array<float, 3> std = {1.f, 1.f, 1.f};
  bool bgr = false;  // channel order the network expects
};

// How a segmentation network's output becomes a mask (the `postprocess:` section).
struct SegmentationPostprocess {
  enum class Kind {
    kArgmax,       // class logits [C, H, W]: each pixel's class is its largest channel
    kSigmoid,      // one channel of logits [1, H, W]: foreground where sigmoid(x) >= threshold
    kProbability,  // one channel of probabilities [1, H, W]: foreground where p >= threshold
  };
  Kind kind = Kind::kArgmax;
  float threshold = 0.5f;  // kSigmoid, kProbability; in (0, 1)
};

// One of several forms of the same service (e.g. ISNet int8 and fp16): the `variant:` section.
// The allocator serves, on each device, the fastest variant whose accuracy is acceptable
// (allocator/variant_choice.h).
struct VariantInfo {
  std::string of;             // the service's name, shared by its variants
  double accuracy = 1.0;      // this variant's quality relative to the best one (e.g. mask IoU)
  double min_accuracy = 0.0;  // the least the service accepts (variants should agree)
};

struct BatchingConfig {
  int max_batch_size = 0;          // 0: no batching; requests run one at a time, shapes are exact
  int64_t max_queue_delay_us = 0;  // how long the first request of a batch may wait for company
  int max_queue_size = 256;        // requests waiting beyond this are rejected (503)
  // SLO-aware batching (engine/slo_batch_policy.h): batches grow only while every member meets its
  // deadline; latency-sensitive requests go first. false: Triton-style dynamic batching.
  bool slo_aware = false;
};

struct InstanceGroup {
  int count = 1;               // loaded copies, each with its own worker thread
  std::string device = "cpu";  // "cpu" or "cuda:N"
  int threads = 0;             // intra-op threads per instance (cpu); 0 = all cores / count
};

struct Slo {
  double latency_ms = 0;  // end-to-end (segmentation, tensor); 0 = none
  double ttft_ms = 0;     // LLM time to first token
  double tpot_ms = 0;     // LLM time per output token
};

struct LlmServingOptions {
  int kv_cache_mb = 256;    // KV-cache memory for all sequences of the instance
  int max_running = 64;     // sequences decoded together
  int token_budget = 2048;  // tokens per engine step (prefill + decode)
  int max_waiting = 256;    // queued requests beyond this are rejected (503)
  int threads = 0;          // intra-op threads; 0 = all cores
  // Weight matrices as the engine holds them: "f32", or converted at load: "bf16", "q8_0",
  // "q4_0", "q4_k", "q6_k" (GGML's blocks; llm/llama_model.h has the sizes and width rules). A GGUF
  // model's weights are used as stored.
  std::string weights = "f32";
  // How the KV cache holds keys and values: "f32", "f16" (half the memory per token: twice the
  // context in kv_cache_mb, half the bytes a decode step reads; cpu only), or "auto": f16 on cpu,
  // f32 elsewhere (greedy agreement measured unchanged: docs/ARCHITECTURE.md, the LLM engine).
  std::string kv_cache_dtype = "auto";
  // true: steps with decoding streams are sized to slo.tpot_ms (prompts prefill in chunks that
  // fit between two output tokens; llm/step_planner.h TpotTokenBudget). Needs slo.tpot_ms.
  bool slo_steps = false;
  // Not read from model.yaml: set by a node that holds a pipeline stage of the model (issue 5).
  // The instance loads decoder layers [first_layer, end_layer) (end_layer 0: the last) and gets
  // the share of kv_cache_mb its layers need for the same number of tokens.
  int first_layer = 0;
  int end_layer = 0;
};

struct ModelDescriptor {
  std::string name;
  std::string version = "1";
  TaskType task = TaskType::kTensor;
  std::string backend = "libtorch";
  std::string directory;               // absolute folder of the model
  std::vector<std::string> artifacts;  // absolute paths, each checked to exist
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  BatchingConfig batching;
  InstanceGroup instances;
  Slo slo;
  std::optional<ImagePreprocess> preprocess;  // required for segmentation
  SegmentationPostprocess postprocess;        // segmentation
  std::optional<VariantInfo> variant;         // when this model is one form of a service
  std::vector<std::string> labels;            // class names (segmentation), optional
  LlmServingOptions llm;                      // task llm: the `llm:` section
};

// Where inputs/outputs may be omitted: backends whose models declare their own (onnxruntime).
// ModelManager then fills them from the loaded model (engine/model_io.h).
bool BackendDescribesModels(const std::string& backend);

// The checks a task makes of the inputs and outputs (segmentation: one FP32 [3, H, W] image
// matching preprocess, one FP32 [C, H, W] output that fits postprocess and labels). Run at parse
// time when the descriptor states its tensors and again once a model filled them in. Errors name
// `origin` and the field.
Status CheckTaskIo(const ModelDescriptor& d, const std::string& origin);

// Parses and validates `yaml_path`. Errors name the file and the offending field, e.g.
// "models/seg/model.yaml: field 'inputs[0].datatype': unsupported datatype 'FP8'".
Status LoadModelDescriptor(const std::string& yaml_path, ModelDescriptor* out);

// Same, from YAML text; `origin` names the source in error messages and `directory` resolves
// artifact paths.
Status ParseModelDescriptor(const std::string& yaml_text, const std::string& origin,
                            const std::string& directory, ModelDescriptor* out);

}  // namespace epara
