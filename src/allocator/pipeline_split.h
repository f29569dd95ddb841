// How a pipeline-parallel LLM's decoder layers are split over its stages (issue 5: "uneven splits
// allowed, sized by device speed and memory"). Pure: `epara up` and the scheduler share it.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"

namespace epara::allocator {

struct StageDevice {
  double speed = 1;          // relative compute speed (e.g. GFLOP/s); > 0
  int64_t memory_bytes = 0;  // what the stage may hold; 0: unlimited
  int64_t fixed_bytes = 0;   // what it holds besides its layers (embedding, LM head, KV cache)
};

// Layer counts, in stage order, summing to `layers`: every stage gets at least one layer, and the
// rest go one at a time to the stage whose time after taking it, (count + 1) / speed, is smallest
// among those whose memory still holds one more layer of `layer_bytes`. This minimizes the slowest
// stage's time (the pipeline's throughput bound) under the memory limits.
// InvalidArgument when there are fewer layers than stages or the stages cannot hold them all.
Status SplitLayers(int layers, int64_t layer_bytes, const std::vector<StageDevice>& stages,
                   std::vector<int>* counts);

}  // namespace epara::allocator
