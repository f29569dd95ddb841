// Host memory allocator settings for inference processes.
//
// LibTorch allocates every CPU activation with malloc. With glibc's defaults, blocks above the
// (dynamic, <= 32 MB) mmap threshold are mmap'd and unmapped on free, and worker threads allocate
// from per-thread arenas whose heaps are capped at 64 MB and trimmed on free, so each inference
// page-faults and re-zeroes its activations. Measured on the demo UNet (256x256, 2 cores): 105 ms
// per image with defaults vs 46 ms with the settings below; batch 8 went from ~5 to ~30 img/s
// (bench/results/seg_bench.md). The cost: the process keeps its peak heap instead of returning it
// to the OS, as a caching allocator does.
#pragma once

namespace epara {

// One malloc arena for all threads, no mmap'd chunks, no trimming. Call once at process start,
// before worker threads exist. Returns false if glibc refused a setting.
bool ConfigureHostAllocatorForInference();

// Returns the heap's free pages to the OS (malloc_trim): the settings above never trim, so a node
// that loads and unloads models keeps the high-water mark of every load (measured: +35 MB on a
// node that served a model every other minute for 30 min, bench/results/soak_s25.md). Call after
// an unload has freed its instances; it costs one pass over the heap (milliseconds) and the next
// requests re-fault the pages they touch. Returns the bytes of resident memory released as seen
// by /proc/self/statm (0 when none, or where statm is unreadable).
long long ReleaseFreeHostMemory();

}  // namespace epara
