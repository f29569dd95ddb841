// Conversions between epara::Tensor and at::Tensor. Internal to the LibTorch backend and engine.
#pragma once

#include <torch/script.h>

#include "core/status.h"
#include "core/tensor.h"

namespace epara::backend {

// A zero-copy CPU view of `t`. The view must not outlive `t` and must not be written to.
at::Tensor ToTorch(const Tensor& t);
// Copies a tensor of any device/layout into a contiguous host Tensor. InvalidArgument for dtypes
// epara does not carry (the view is converted to FP32 for floating types like FP16/BF16).
Status FromTorch(const at::Tensor& t, Tensor* out);

}  // namespace epara::backend
