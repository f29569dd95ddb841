// Names the calling thread (Linux: 15 characters at most, longer names are cut), so that top -H,
// perf and gdb show which part of epara a thread belongs to. Threads the thread creates (OpenMP
// teams, for example) inherit the name.
#pragma once

#include <string_view>

namespace epara {

void SetCurrentThreadName(std::string_view name);

}  // namespace epara
