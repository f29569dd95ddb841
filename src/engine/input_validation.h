// Checks request tensors against a model's descriptor before they reach a queue.
#pragma once

#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "repo/model_descriptor.h"

namespace epara::engine {

// Validates names, datatypes and shapes of `named` against `d.inputs` and returns the tensors in
// descriptor order (moved out of `named`) plus the batch rows. With batching, every input carries
// a leading batch dimension in [1, max_batch_size], equal across inputs; without, shapes are exact
// (-1 matches any size) and rows = 1. Errors are InvalidArgument naming the input.
Status ValidateInputs(const ModelDescriptor& d, std::vector<NamedTensor>& named,
                      std::vector<Tensor>* ordered, int64_t* rows);

}  // namespace epara::engine
