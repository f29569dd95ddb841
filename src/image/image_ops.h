// Pixel kernels used by the vision pre- and post-processing. Plain loops, no allocation inside.
#pragma once

#include <cstdint>

#include "image/image.h"
#include "repo/model_descriptor.h"

namespace epara {

// Resizes `img` (RGB) bilinearly (half-pixel centres, like OpenCV INTER_LINEAR) to p.width x
// p.height, scales to [0, 1], normalizes with p.mean/p.std, and writes planar CHW floats in the
// channel order p.bgr selects. `out` holds 3 * p.height * p.width floats.
void ImageToTensorCHW(const Image& img, const ImagePreprocess& p, float* out);

// For each pixel, the index of the largest of `classes` planes of `logits` (CHW). Ties pick the
// lower index. `mask` holds h * w bytes. REQUIRES: classes <= 256.
void ArgmaxClasses(const float* logits, int classes, int h, int w, uint8_t* mask);

// One-channel output -> binary mask: p = sigmoid(x) when `sigmoid`, else p = x (already a
// probability); mask = p >= threshold (1) or 0; alpha = p x 255, rounded and clamped to 0..255.
// NaN counts as background. `mask` holds n bytes, `alpha` n bytes or is null (not wanted).
void ForegroundFromChannel(const float* x, int64_t n, bool sigmoid, float threshold, uint8_t* mask,
                           uint8_t* alpha);

// Bilinear resize of a 1-channel image (half-pixel centres, as ImageToTensorCHW).
Image ResizeBilinearGray(const Image& src, int width, int height);

// Nearest-neighbour resize of a 1-channel image (class masks must not be interpolated).
Image ResizeNearest(const Image& src, int width, int height);

}  // namespace epara
