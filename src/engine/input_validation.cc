#include "engine/input_validation.h"

namespace epara::engine {

Status ValidateInputs(const ModelDescriptor& d, std::vector<NamedTensor>& named,
                      std::vector<Tensor>* ordered, int64_t* rows) {
  const bool batching = d.batching.max_batch_size > 0;
  if (named.size() != d.inputs.size())
    return InvalidArgument("model '" + d.name + "' expects " + std::to_string(d.inputs.size()) +
                           " input(s), got " + std::to_string(named.size()));
  ordered->assign(d.inputs.size(), Tensor());
  std::vector<bool> seen(d.inputs.size(), false);
  int64_t batch = batching ? -1 : 1;
  for (NamedTensor& nt : named) {
    size_t idx = 0;
    while (idx < d.inputs.size() && d.inputs[idx].name != nt.name) ++idx;
    if (idx == d.inputs.size())
      return InvalidArgument("unknown input '" + nt.name + "' for model '" + d.name + "'");
    if (seen[idx]) return InvalidArgument("input '" + nt.name + "' given twice");
    seen[idx] = true;
    const TensorSpec& spec = d.inputs[idx];
    if (nt.tensor.dtype() != spec.dtype)
      return InvalidArgument("input '" + nt.name + "': datatype " +
                             std::string(DataTypeName(nt.tensor.dtype())) + ", expected " +
                             std::string(DataTypeName(spec.dtype)));
    const auto& shape = nt.tensor.shape();
    const size_t offset = batching ? 1 : 0;
    std::vector<int64_t> expected = spec.dims;
    if (batching) expected.insert(expected.begin(), -1);
    bool match = shape.size() == spec.dims.size() + offset;
    for (size_t i = 0; match && i < spec.dims.size(); ++i)
      match = spec.dims[i] == -1 || spec.dims[i] == shape[i + offset];
    if (!match)
      return InvalidArgument("input '" + nt.name + "': shape " + ShapeToString(shape) +
                             ", expected " + ShapeToString(expected) + " (-1 = any)");
    if (batching) {
      if (shape[0] < 1 || shape[0] > d.batching.max_batch_size)
        return InvalidArgument("input '" + nt.name + "': batch dimension " +
                               std::to_string(shape[0]) + " outside [1, " +
                               std::to_string(d.batching.max_batch_size) + "]");
      if (batch != -1 && batch != shape[0])
        return InvalidArgument("inputs disagree on the batch dimension");
      batch = shape[0];
    }
    (*ordered)[idx] = std::move(nt.tensor);
  }
  *rows = batch;
  return Status::Ok();
}

}  // namespace epara::engine
