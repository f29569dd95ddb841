#include "llm/kernel_llama_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace epara::llm {
namespace {

class KernelKvCache final : public KvCache {
 public:
  KernelKvCache(int layers, int64_t kv_heads, int64_t head_dim, int capacity, kernels::KvType type)
      : capacity_(capacity),
        kv_heads_(kv_heads),
        row_bytes_(head_dim * kernels::KvElementBytes(type)),
        layer_bytes_(kv_heads * capacity * row_bytes_) {
    for (int l = 0; l < 2 * layers; ++l)
      data_.push_back(std::make_unique<uint8_t[]>(static_cast<size_t>(layer_bytes_)));  // zeroed
    for (int l = 0; l < layers; ++l) {
      k_ptr.push_back(data_[2 * l].get());
      v_ptr.push_back(data_[2 * l + 1].get());
    }
  }
  int length() const override { return length_; }
  int capacity() const override { return capacity_; }
  int64_t bytes() const override { return layer_bytes_ * static_cast<int64_t>(data_.size()); }
  void Truncate(int length) override { length_ = std::min(length_, std::max(0, length)); }
  void CopyFrom(const KvCache& other) override {
    const auto& o = static_cast<const KernelKvCache&>(other);
    // Per layer and KV head: the first `length` rows of [capacity, head_dim].
    for (size_t l = 0; l < data_.size(); ++l)
      for (int64_t h = 0; h < kv_heads_; ++h)
        std::memcpy(data_[l].get() + h * capacity_ * row_bytes_,
                    o.data_[l].get() + h * o.capacity_ * o.row_bytes_,
                    static_cast<size_t>(o.length_ * row_bytes_));
    length_ = o.length_;
  }

  std::vector<void*> k_ptr, v_ptr;
  int length_ = 0;

 private:
  int capacity_;
  int64_t kv_heads_, row_bytes_, layer_bytes_;
  std::vector<std::unique_ptr<uint8_t[]>> data_;  // per layer: keys, then values
};

}  // namespace

void BuildRopeTables(const LlamaConfig& c, std::vector<float>* cos, std::vector<float>* sin) {
  const std::vector<double> inv = RopeInverseFrequencies(c);
  const int64_t hd = c.head_dim, half = hd / 2;
  cos->resize(static_cast<size_t>(c.max_position_embeddings * hd));
  sin->resize(cos->size());
  for (int64_t p = 0; p < c.max_position_embeddings; ++p)
    for (int64_t i = 0; i < hd; ++i) {
      const float f = static_cast<float>(p) * static_cast<float>(inv[i % half]);
      (*cos)[p * hd + i] = std::cos(f);
      (*sin)[p * hd + i] = std::sin(f);
    }
}

KernelLlamaModel::KernelLlamaModel(LlamaConfig config, kernels::ModelWeights weights,
                                   std::shared_ptr<const void> storage, int64_t weight_bytes,
                                   int first_layer, int end_layer, int threads)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      storage_(std::move(storage)),
      weight_bytes_(weight_bytes),
      first_layer_(first_layer),
      end_layer_(end_layer),
      pool_(std::max(1, threads)) {}

int64_t KernelLlamaModel::kv_bytes_per_token() const {
  return int64_t{2} * (end_layer_ - first_layer_) * config_.num_key_value_heads * config_.head_dim *
         kernels::KvElementBytes(weights_.kv_type);
}

std::unique_ptr<KvCache> KernelLlamaModel::NewCache(int capacity) {
  return std::make_unique<KernelKvCache>(end_layer_ - first_layer_, config_.num_key_value_heads,
                                         config_.head_dim, capacity, weights_.kv_type);
}

Status KernelLlamaModel::ForwardStage(std::span<const Chunk> chunks,
                                      std::span<const float> hidden_in, bool all_positions,
                                      std::vector<float>* out) {
  int64_t total = 0;
  EPARA_RETURN_IF_ERROR(ValidateStageInput(config_, first_layer_, chunks, hidden_in, &total));
  tokens_.clear();
  size_t rows = 0;
  for (const Chunk& ch : chunks) {
    auto* cache = static_cast<KernelKvCache*>(ch.cache);
    const int64_t n = static_cast<int64_t>(ch.tokens.size());
    for (int64_t i = 0; i < n; ++i) {
      const bool output = !is_last_stage() || all_positions || i == n - 1;
      tokens_.push_back({ch.tokens[i], cache->length_ + i, cache->capacity(), cache->k_ptr,
                         cache->v_ptr, output});
      rows += output ? 1 : 0;
    }
  }
  out->resize(rows *
              static_cast<size_t>(is_last_stage() ? config_.vocab_size : config_.hidden_size));
  kernels::ForwardStep(weights_, tokens_, pool_, &scratch_, hidden_in.data(), out->data());
  for (const Chunk& ch : chunks)
    static_cast<KernelKvCache*>(ch.cache)->length_ += static_cast<int>(ch.tokens.size());
  return Status::Ok();
}

}  // namespace epara::llm
