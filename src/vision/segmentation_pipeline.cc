#include "vision/segmentation_pipeline.h"

#include "image/image_ops.h"

namespace epara::vision {

Status PreprocessImage(std::string_view bytes, const ImagePreprocess& p, PreprocessedImage* out,
                       const DecodeLimits& limits) {
  Image img;
  EPARA_RETURN_IF_ERROR(DecodeImage(bytes, &img, limits));
  Tensor t = Tensor::Uninitialized(DataType::kFp32, {1, 3, p.height, p.width});
  ImageToTensorCHW(img, p, t.data<float>());
  out->input = std::move(t);
  out->original_width = img.width;
  out->original_height = img.height;
  return Status::Ok();
}

Status PostprocessLogits(const Tensor& logits, int original_width, int original_height,
                         SegmentationMask* out) {
  const auto& s = logits.shape();
  const bool batched = s.size() == 4;
  if (logits.dtype() != DataType::kFp32 || !(s.size() == 3 || (batched && s[0] == 1)))
    return InvalidArgument("segmentation output must be FP32 [1, C, H, W], got " +
                           ShapeToString(s));
  const int64_t c = s[batched ? 1 : 0], h = s[batched ? 2 : 1], w = s[batched ? 3 : 2];
  if (c < 1 || c > 256)
    return InvalidArgument("segmentation output has " + std::to_string(c) + " classes (1..256)");
  Image mask;
  mask.width = static_cast<int>(w);
  mask.height = static_cast<int>(h);
  mask.channels = 1;
  mask.pixels.resize(static_cast<size_t>(h * w));
  ArgmaxClasses(logits.data<float>(), static_cast<int>(c), mask.height, mask.width,
                mask.pixels.data());
  if (original_width != mask.width || original_height != mask.height)
    mask = ResizeNearest(mask, original_width, original_height);
  out->class_pixels.assign(static_cast<size_t>(c), 0);
  for (uint8_t v : mask.pixels) ++out->class_pixels[v];
  out->mask = std::move(mask);
  return Status::Ok();
}

}  // namespace epara::vision
