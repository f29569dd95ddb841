// Seeded, stateless pseudo-randomness for the simulator (issue 23): a decision drawn from a hash of
// its inputs (which digest is lost, where a node's sync starts, which node a request enters at) is
// the same in every run with the same seed, whatever else the run did.
#pragma once

#include <cstdint>

namespace epara::sim {

// splitmix64's finalizer: a bijection on 64 bits whose outputs look independent.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A number in [0, 1) from a hash.
inline double UnitInterval(uint64_t hash) { return static_cast<double>(hash >> 11) * 0x1.0p-53; }

}  // namespace epara::sim
