// Builds the LlmEngine of a `task: llm` model descriptor: weights (LlamaModel::Load), tokenizer,
// chat template and engine limits from the descriptor. Shared by `epara serve` and the benchmarks
// so both serve the same engine.
#pragma once

#include <memory>

#include "core/status.h"
#include "llm/llm_engine.h"
#include "repo/model_descriptor.h"

namespace epara::llm {

// `chat_template_recognized` (optional) is set false when the folder's chat template is not one
// epara renders natively and the documented default is used instead.
Status CreateEngineFromDescriptor(const ModelDescriptor& d, std::unique_ptr<LlmEngine>* out,
                                  bool* chat_template_recognized = nullptr);

}  // namespace epara::llm
