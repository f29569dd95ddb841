// Intra-op thread count for the calling thread (LibTorch's OpenMP setting is per thread).
#pragma once

namespace epara::backend {

// Applies `threads` to the calling thread if its current setting differs. at::set_num_threads costs
// ~5 ms (it rebuilds thread pools), so callers may invoke this before every run.
void ApplyIntraOpThreads(int threads);

}  // namespace epara::backend
