#include "core/host_allocator.h"

#include <malloc.h>

namespace epara {

bool ConfigureHostAllocatorForInference() {
  bool ok = mallopt(M_ARENA_MAX, 1) == 1;
  ok = mallopt(M_MMAP_MAX, 0) == 1 && ok;
  ok = mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1 && ok;  // int parameter: 1 GiB
  ok = mallopt(M_TOP_PAD, 64 << 20) == 1 && ok;        // grow the heap in 64 MB steps
  return ok;
}

}  // namespace epara
