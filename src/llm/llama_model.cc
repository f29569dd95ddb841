#include "llm/llama_model.h"

namespace epara::llm {

Status LlamaModel::Forward(std::span<const int32_t> tokens, KvCache* cache,
                           std::vector<float>* logits) {
  const Chunk chunk{tokens, cache};
  return ForwardBatch(std::span(&chunk, 1), /*all_positions=*/true, logits);
}

Status ValidateStageInput(const LlamaConfig& c, int first_layer,
                          std::span<const LlamaModel::Chunk> chunks,
                          std::span<const float> hidden_in, int64_t* tokens) {
  if (chunks.empty()) return InvalidArgument("no sequences to run");
  int64_t total = 0;
  for (const LlamaModel::Chunk& ch : chunks) {
    if (ch.tokens.empty()) return InvalidArgument("a sequence has no tokens to run");
    for (int32_t t : ch.tokens)
      if (t < 0 || t >= c.vocab_size)
        return InvalidArgument("token id " + std::to_string(t) + " outside the vocabulary [0, " +
                               std::to_string(c.vocab_size) + ")");
    const int64_t end = int64_t{ch.cache->length()} + static_cast<int64_t>(ch.tokens.size());
    if (end > ch.cache->capacity())
      return ResourceExhausted("sequence of " + std::to_string(end) +
                               " tokens exceeds its KV cache of " +
                               std::to_string(ch.cache->capacity()));
    total += static_cast<int64_t>(ch.tokens.size());
  }
  const int64_t H = c.hidden_size;
  if (first_layer == 0 && !hidden_in.empty())
    return InvalidArgument("the first pipeline stage embeds tokens; it takes no hidden states");
  if (first_layer != 0 && hidden_in.size() != static_cast<size_t>(total * H))
    return InvalidArgument("pipeline stage at layer " + std::to_string(first_layer) +
                           " expects hidden states of " + std::to_string(total) + " x " +
                           std::to_string(H) + " floats, got " + std::to_string(hidden_in.size()));
  *tokens = total;
  return Status::Ok();
}

}  // namespace epara::llm
