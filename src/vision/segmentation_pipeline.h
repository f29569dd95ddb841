// Segmentation pre- and post-processing around a model: image bytes -> normalized input tensor;
// logits -> class mask at the original image size, plus per-class pixel counts.
#pragma once

#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "image/image.h"
#include "image/image_codec.h"
#include "repo/model_descriptor.h"

namespace epara::vision {

struct PreprocessedImage {
  Tensor input;  // FP32 [1, 3, H, W] at the model's size
  int original_width = 0;
  int original_height = 0;
};

// Decodes PNG/JPEG bytes and prepares the model input. InvalidArgument for bad images.
Status PreprocessImage(std::string_view bytes, const ImagePreprocess& p, PreprocessedImage* out,
                       const DecodeLimits& limits = {});

struct SegmentationMask {
  Image mask;                         // 1 channel of class indices, original size
  std::vector<int64_t> class_pixels;  // pixels per class in `mask`
};

// `logits`: FP32 [1, C, H, W] or [C, H, W]. InvalidArgument on other shapes or C > 256.
Status PostprocessLogits(const Tensor& logits, int original_width, int original_height,
                         SegmentationMask* out);

}  // namespace epara::vision
