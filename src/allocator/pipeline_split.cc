#include "allocator/pipeline_split.h"

#include <string>

namespace epara::allocator {

Status SplitLayers(int layers, int64_t layer_bytes, const std::vector<StageDevice>& stages,
                   std::vector<int>* counts) {
  const int n = static_cast<int>(stages.size());
  if (n == 0) return InvalidArgument("a pipeline needs at least one stage");
  if (layers < n)
    return InvalidArgument("a model of " + std::to_string(layers) + " layers cannot fill " +
                           std::to_string(n) + " pipeline stages");
  auto fits = [&](int i, int count) {
    const StageDevice& d = stages[i];
    return d.memory_bytes <= 0 || d.fixed_bytes + count * layer_bytes <= d.memory_bytes;
  };
  counts->assign(n, 1);
  for (int i = 0; i < n; ++i)
    if (!fits(i, 1) || stages[i].speed <= 0)
      return InvalidArgument("pipeline stage " + std::to_string(i) +
                             (stages[i].speed <= 0 ? " has no speed"
                                                   : " cannot hold even one layer in its memory"));
  for (int placed = n; placed < layers; ++placed) {
    int best = -1;
    double best_time = 0;
    for (int i = 0; i < n; ++i) {
      if (!fits(i, (*counts)[i] + 1)) continue;
      const double t = ((*counts)[i] + 1) / stages[i].speed;
      if (best < 0 || t < best_time) {
        best = i;
        best_time = t;
      }
    }
    if (best < 0)
      return InvalidArgument("the pipeline's stages hold " + std::to_string(placed) + " of " +
                             std::to_string(layers) + " layers in their memory");
    ++(*counts)[best];
  }
  return Status::Ok();
}

}  // namespace epara::allocator
