// Settings that native libraries read only once, when they load, before main() runs.
//
// OpenBLAS (Debian's pthreads build, which LibTorch calls for fp32 matrix products) keeps its
// worker threads busy-waiting with sched_yield for 2^28 cycles (~0.1 s) after every call. On a
// 2-core edge box that spinner takes a core from LibTorch's own OpenMP threads most of the time:
// perf showed 27% of all samples in sched_yield from one OpenBLAS thread during the segmentation
// benchmark. OPENBLAS_THREAD_TIMEOUT=4 (2^4 cycles) lets the workers sleep at once: direct batch-1
// segmentation went from ~23 to ~32 images/s and run-to-run spread from ±15% to ±2%
// (bench/results/README.md).
#pragma once

namespace epara {

// If the environment lacks the settings above, sets them and re-executes this program
// (/proc/self/exe, same argv) so they apply from library load. Values the user set are kept. Does
// nothing after the re-exec, or if exec fails (the process goes on with the library defaults).
// Call first thing in main(), before any thread exists. The re-exec costs a start-up: LibTorch and
// its libraries load twice (0.6 -> 1.15 s for `epara --version` here), so call it only for
// long-running processes.
void ApplyLibraryEnvironment(char** argv);

}  // namespace epara
