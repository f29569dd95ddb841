// EPARA_CPU_CLONES: compiles a hot function for several x86-64 levels and picks one when the
// program loads (GCC function multiversioning), so one binary uses AVX-512 or AVX2 where the CPU
// has them and still runs on any x86-64. Other compilers and architectures get one plain build.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EPARA_CPU_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define EPARA_CPU_CLONES
#endif
