#include "backend/libtorch/torch_threads.h"

#include <ATen/Parallel.h>

namespace epara::backend {

void ApplyIntraOpThreads(int threads) {
  thread_local int applied = -1;
  if (threads > 0 && applied != threads) {
    at::set_num_threads(threads);
    applied = threads;
  }
}

}  // namespace epara::backend
