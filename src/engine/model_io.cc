#include "engine/model_io.h"

#include <filesystem>

namespace epara::engine {
namespace {

std::string Describe(const backend::TensorInfo& t) {
  return "'" + t.name + "' " + std::string(DataTypeName(t.dtype)) + " " + ShapeToString(t.shape);
}

// The model's dims as the descriptor writes them (batch dimension dropped when batching).
Status DescriptorDims(const backend::TensorInfo& t, const BatchingConfig& b, const char* role,
                      const std::string& where, std::vector<int64_t>* out) {
  *out = t.shape;
  if (b.max_batch_size <= 0) return Status::Ok();
  const bool open = !t.shape.empty() && t.shape[0] == -1;
  const bool single = !t.shape.empty() && t.shape[0] == 1 && b.max_batch_size == 1;
  if (!open && !single)
    return InvalidArgument(where + ": field 'batching.max_batch_size': the model's " + role + " " +
                           Describe(t) +
                           " has no open batch dimension; set max_batch_size: 0 (or 1 when its "
                           "first dimension is 1) or export the model with a dynamic batch");
  out->erase(out->begin());
  return Status::Ok();
}

Status ResolveList(const std::vector<backend::TensorInfo>& model, const BatchingConfig& b,
                   const char* role, const std::string& field, const std::string& where,
                   std::vector<TensorSpec>* specs) {
  if (specs->empty()) {
    for (const auto& t : model) {
      TensorSpec s{t.name, t.dtype, {}};
      EPARA_RETURN_IF_ERROR(DescriptorDims(t, b, role, where, &s.dims));
      specs->push_back(std::move(s));
    }
    return Status::Ok();
  }
  for (size_t i = 0; i < specs->size(); ++i) {
    TensorSpec& s = (*specs)[i];
    const std::string f = field + "[" + std::to_string(i) + "]";
    const backend::TensorInfo* t = nullptr;
    for (const auto& m : model)
      if (m.name == s.name) t = &m;
    if (!t)
      return InvalidArgument(where + ": field '" + f + ".name': the model has no " + role + " '" +
                             s.name + "'");
    if (t->dtype != s.dtype)
      return InvalidArgument(where + ": field '" + f +
                             ".datatype': " + std::string(DataTypeName(s.dtype)) +
                             " disagrees with the model's " + role + " " + Describe(*t));
    std::vector<int64_t> dims;
    EPARA_RETURN_IF_ERROR(DescriptorDims(*t, b, role, where, &dims));
    bool agree = dims.size() == s.dims.size();
    for (size_t k = 0; agree && k < dims.size(); ++k)
      agree = s.dims[k] == -1 || dims[k] == -1 || s.dims[k] == dims[k];
    if (!agree)
      return InvalidArgument(where + ": field '" + f + ".shape': " + ShapeToString(s.dims) +
                             " disagrees with the model's " + role + " " + Describe(*t) +
                             (b.max_batch_size > 0 ? " (batch dimension first)" : ""));
    for (size_t k = 0; k < dims.size(); ++k)
      if (s.dims[k] == -1) s.dims[k] = dims[k];
  }
  return Status::Ok();
}

}  // namespace

Status ResolveModelIo(const backend::ModelSignature& signature, ModelDescriptor* d) {
  const std::string where = (std::filesystem::path(d->directory) / "model.yaml").string();
  EPARA_RETURN_IF_ERROR(
      ResolveList(signature.inputs, d->batching, "input", "inputs", where, &d->inputs));
  EPARA_RETURN_IF_ERROR(
      ResolveList(signature.outputs, d->batching, "output", "outputs", where, &d->outputs));
  return CheckTaskIo(*d, where);
}

}  // namespace epara::engine
