// Segmentation pre- and post-processing around a model: image bytes -> normalized input tensor;
// network output -> class mask at the original image size, per-class pixel counts, and (for
// cut-outs) a foreground alpha.
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
  Image original;  // the decoded RGB image; kept only when asked (cut-outs)
};

// Decodes PNG/JPEG bytes and prepares the model input. InvalidArgument for bad images.
// `keep_original` keeps the decoded image in `out->original`.
Status PreprocessImage(std::string_view bytes, const ImagePreprocess& p, PreprocessedImage* out,
                       const DecodeLimits& limits = {}, bool keep_original = false);

struct SegmentationMask {
  Image mask;                         // 1 channel of class indices, original size
  std::vector<int64_t> class_pixels;  // pixels per class in `mask`
  // Foreground opacity (1 channel, original size), when asked for: probability x 255 resized
  // bilinearly for one-channel outputs (soft edges); 255 where the class is not 0 for argmax.
  Image alpha;
};

struct PostprocessOptions {
  SegmentationPostprocess kind;  // argmax, or sigmoid/probability with a threshold
  bool alpha = false;            // also fill SegmentationMask::alpha
};

// `logits`: FP32 [1, C, H, W] or [C, H, W]. Argmax: class = largest channel. Sigmoid and
// probability: C must be 1, class 1 (foreground) where the probability >= threshold, else 0.
// InvalidArgument on other shapes or C > 256.
Status PostprocessLogits(const Tensor& logits, int original_width, int original_height,
                         SegmentationMask* out, const PostprocessOptions& options = {});

// `rgb` (3 channels) with `alpha` (1 channel, same size) as an RGBA PNG: the background
// transparent. InvalidArgument when the sizes differ.
Status EncodeCutoutPng(const Image& rgb, const Image& alpha, std::string* out);

}  // namespace epara::vision
