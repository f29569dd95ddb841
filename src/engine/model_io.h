// ResolveModelIo: reconciles a descriptor's inputs and outputs with what a loaded model declares
// about itself (backend::ModelInstance::Signature, e.g. an ONNX file).
//
// - Descriptor without inputs (or outputs): they are taken from the model, in the model's order;
//   with batching (max_batch_size > 0) the model's leading dimension is the batch and is dropped.
// - Descriptor with them: each one is checked against the model's tensor of the same name —
//   datatype, rank (batch dimension included) and every dimension both fix; a dimension the
//   descriptor leaves open (-1) takes the model's value when the model fixes it.
// - Batching needs a batch dimension the model leaves open (or fixes at 1 with max_batch_size 1).
// Then the task's own checks (CheckTaskIo) run on the result. Errors are InvalidArgument naming
// the descriptor file, the field, and the model's declaration.
#pragma once

#include "backend/backend.h"
#include "repo/model_descriptor.h"

namespace epara::engine {

Status ResolveModelIo(const backend::ModelSignature& signature, ModelDescriptor* d);

}  // namespace epara::engine
