#include "core/pending_compute.h"

#include <atomic>

namespace epara {
namespace {

std::atomic<int> g_pending{0};

}  // namespace

void AddPendingCompute(int delta) { g_pending.fetch_add(delta, std::memory_order_relaxed); }

int PendingCompute() { return g_pending.load(std::memory_order_relaxed); }

}  // namespace epara
