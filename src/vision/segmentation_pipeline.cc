#include "vision/segmentation_pipeline.h"

#include "image/image_ops.h"

namespace epara::vision {

Status PreprocessImage(std::string_view bytes, const ImagePreprocess& p, PreprocessedImage* out,
                       const DecodeLimits& limits, bool keep_original) {
  Image img;
  EPARA_RETURN_IF_ERROR(DecodeImage(bytes, &img, limits));
  Tensor t = Tensor::Uninitialized(DataType::kFp32, {1, 3, p.height, p.width});
  ImageToTensorCHW(img, p, t.data<float>());
  out->input = std::move(t);
  out->original_width = img.width;
  out->original_height = img.height;
  if (keep_original) out->original = std::move(img);
  return Status::Ok();
}

Status PostprocessLogits(const Tensor& logits, int original_width, int original_height,
                         SegmentationMask* out, const PostprocessOptions& options) {
  const auto& s = logits.shape();
  const bool batched = s.size() == 4;
  if (logits.dtype() != DataType::kFp32 || !(s.size() == 3 || (batched && s[0] == 1)))
    return InvalidArgument("segmentation output must be FP32 [1, C, H, W], got " +
                           ShapeToString(s));
  const int64_t c = s[batched ? 1 : 0], h = s[batched ? 2 : 1], w = s[batched ? 3 : 2];
  if (c < 1 || c > 256)
    return InvalidArgument("segmentation output has " + std::to_string(c) + " classes (1..256)");
  using Kind = SegmentationPostprocess::Kind;
  const Kind kind = options.kind.kind;
  if (kind != Kind::kArgmax && c != 1)
    return InvalidArgument("a one-channel postprocess got " + std::to_string(c) + " channels");
  Image mask;
  mask.width = static_cast<int>(w);
  mask.height = static_cast<int>(h);
  mask.channels = 1;
  mask.pixels.resize(static_cast<size_t>(h * w));
  Image alpha;  // at the network's size
  if (kind == Kind::kArgmax) {
    ArgmaxClasses(logits.data<float>(), static_cast<int>(c), mask.height, mask.width,
                  mask.pixels.data());
  } else {
    if (options.alpha) alpha = mask;  // same size; filled below
    ForegroundFromChannel(logits.data<float>(), h * w, kind == Kind::kSigmoid,
                          options.kind.threshold, mask.pixels.data(),
                          options.alpha ? alpha.pixels.data() : nullptr);
  }
  if (original_width != mask.width || original_height != mask.height)
    mask = ResizeNearest(mask, original_width, original_height);
  out->class_pixels.assign(kind == Kind::kArgmax ? static_cast<size_t>(c) : 2, 0);
  for (uint8_t v : mask.pixels) ++out->class_pixels[v];
  out->alpha = Image{};
  if (options.alpha) {
    if (kind == Kind::kArgmax) {
      out->alpha = mask;
      for (uint8_t& v : out->alpha.pixels) v = v ? 255 : 0;
    } else {
      out->alpha = ResizeBilinearGray(alpha, original_width, original_height);
    }
  }
  out->mask = std::move(mask);
  return Status::Ok();
}

Status EncodeCutoutPng(const Image& rgb, const Image& alpha, std::string* out) {
  if (rgb.channels != 3 || alpha.channels != 1 || rgb.width != alpha.width ||
      rgb.height != alpha.height)
    return InvalidArgument("cut-out needs an RGB image and a 1-channel alpha of the same size");
  Image rgba;
  rgba.width = rgb.width;
  rgba.height = rgb.height;
  rgba.channels = 4;
  const size_t n = static_cast<size_t>(rgb.width) * rgb.height;
  rgba.pixels.resize(n * 4);
  for (size_t i = 0; i < n; ++i) {
    rgba.pixels[4 * i] = rgb.pixels[3 * i];
    rgba.pixels[4 * i + 1] = rgb.pixels[3 * i + 1];
    rgba.pixels[4 * i + 2] = rgb.pixels[3 * i + 2];
    rgba.pixels[4 * i + 3] = alpha.pixels[i];
  }
  return EncodePng(rgba, out);
}

}  // namespace epara::vision
