// ThrottledInstance: emulates a slower device for the local heterogeneous testbed (`epara up`
// device classes, a node's `cpu_quota`). Every Run() of the wrapped instance is followed by an idle
// pause so that a run which computed for t takes t / quota in total: what a CFS CPU quota of that
// share does to a CPU-bound batch, without needing cgroup privileges, and independent of what
// other processes on the host do (a thread cap alone is not: on a busy host a 2-thread node can be
// slower than a 1-thread one).
#pragma once

#include <memory>

#include "backend/backend.h"

namespace epara::backend {

class ThrottledInstance final : public ModelInstance {
 public:
  // REQUIRES: 0 < quota <= 1.
  ThrottledInstance(std::unique_ptr<ModelInstance> inner, double quota);

  Status Run(const std::vector<Tensor>& inputs, std::vector<Tensor>* outputs) override;
  int64_t MemoryFootprintBytes() const override { return inner_->MemoryFootprintBytes(); }
  const std::string& device() const override { return inner_->device(); }
  bool Signature(ModelSignature* out) const override { return inner_->Signature(out); }

 private:
  std::unique_ptr<ModelInstance> inner_;
  double quota_;
};

}  // namespace epara::backend
