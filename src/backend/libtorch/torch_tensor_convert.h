// Conversions between epara::Tensor and at::Tensor. Internal to the LibTorch backend and engine.
#pragma once

#include <torch/script.h>

#include "core/status.h"
#include "core/tensor.h"

namespace epara::backend {

// A zero-copy CPU view of `t`. The view must not outlive `t` and must not be written to.
at::Tensor ToTorch(const Tensor& t);
// A host Tensor with the contents of `t` (any device/layout). When `t` is already a contiguous CPU
// tensor of a dtype epara carries, the result shares its storage (no copy); otherwise it is
// converted (FP16/BF16 -> FP32) and copied. InvalidArgument for dtypes epara does not carry.
Status FromTorch(const at::Tensor& t, Tensor* out);

}  // namespace epara::backend
