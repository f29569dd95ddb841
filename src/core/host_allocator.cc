#include "core/host_allocator.h"

#include <malloc.h>
#include <unistd.h>

#include <fstream>

namespace epara {

bool ConfigureHostAllocatorForInference() {
  bool ok = mallopt(M_ARENA_MAX, 1) == 1;
  ok = mallopt(M_MMAP_MAX, 0) == 1 && ok;
  ok = mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1 && ok;  // int parameter: 1 GiB
  ok = mallopt(M_TOP_PAD, 64 << 20) == 1 && ok;        // grow the heap in 64 MB steps
  return ok;
}

namespace {

long long ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  long long size = 0, resident = 0;
  if (!(statm >> size >> resident)) return -1;
  return resident * sysconf(_SC_PAGESIZE);
}

}  // namespace

long long ReleaseFreeHostMemory() {
  const long long before = ResidentBytes();
  malloc_trim(0);
  const long long after = ResidentBytes();
  return before < 0 || after < 0 || after >= before ? 0 : before - after;
}

}  // namespace epara
