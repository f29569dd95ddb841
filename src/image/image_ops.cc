#include "image/image_ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace epara {

void ImageToTensorCHW(const Image& img, const ImagePreprocess& p, float* out) {
  const int ow = p.width, oh = p.height;
  const size_t plane = static_cast<size_t>(ow) * oh;
  // Source channel c (RGB) lands in plane dst_channel[c]; mean/std are in the network's order.
  const int dst_channel[3] = {p.bgr ? 2 : 0, 1, p.bgr ? 0 : 2};
  float scale[3], bias[3];
  for (int c = 0; c < 3; ++c) {
    scale[c] = 1.0f / (255.0f * p.std[dst_channel[c]]);
    bias[c] = -p.mean[dst_channel[c]] / p.std[dst_channel[c]];
  }
  const uint8_t* px = img.pixels.data();
  const int stride = img.width * 3;
  if (img.width == ow && img.height == oh) {
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x)
        for (int c = 0; c < 3; ++c)
          out[dst_channel[c] * plane + static_cast<size_t>(y) * ow + x] =
              px[y * stride + x * 3 + c] * scale[c] + bias[c];
    return;
  }
  const float sx = static_cast<float>(img.width) / ow, sy = static_cast<float>(img.height) / oh;
  std::vector<int> x0(ow), x1(ow);
  std::vector<float> fx(ow);
  for (int x = 0; x < ow; ++x) {
    float src = std::max(0.0f, (x + 0.5f) * sx - 0.5f);
    x0[x] = std::min(static_cast<int>(src), img.width - 1);
    x1[x] = std::min(x0[x] + 1, img.width - 1);
    fx[x] = src - x0[x];
  }
  for (int y = 0; y < oh; ++y) {
    float src = std::max(0.0f, (y + 0.5f) * sy - 0.5f);
    const int y0 = std::min(static_cast<int>(src), img.height - 1),
              y1 = std::min(y0 + 1, img.height - 1);
    const float fy = src - y0;
    const uint8_t* r0 = px + y0 * stride;
    const uint8_t* r1 = px + y1 * stride;
    for (int x = 0; x < ow; ++x) {
      for (int c = 0; c < 3; ++c) {
        const float top = r0[x0[x] * 3 + c] + (r0[x1[x] * 3 + c] - r0[x0[x] * 3 + c]) * fx[x];
        const float bot = r1[x0[x] * 3 + c] + (r1[x1[x] * 3 + c] - r1[x0[x] * 3 + c]) * fx[x];
        out[dst_channel[c] * plane + static_cast<size_t>(y) * ow + x] =
            (top + (bot - top) * fy) * scale[c] + bias[c];
      }
    }
  }
}

void ArgmaxClasses(const float* logits, int classes, int h, int w, uint8_t* mask) {
  // Tiles of pixels small enough for L1; per tile a running maximum and its class as int32 (the
  // same lane width as float, so GCC vectorizes the select; a uint8 index or a branch per pixel
  // does not vectorize, and the branch mispredicts on every class boundary: 6x slower measured
  // with bench/image_bench.cc).
  constexpr size_t kTile = 1024;
  const size_t plane = static_cast<size_t>(h) * w;
  float best[kTile];
  int32_t index[kTile];
  for (size_t start = 0; start < plane; start += kTile) {
    const size_t n = std::min(kTile, plane - start);
    std::copy_n(logits + start, n, best);
    std::fill_n(index, n, 0);
    for (int c = 1; c < classes; ++c) {
      const float* __restrict l = logits + static_cast<size_t>(c) * plane + start;
      for (size_t i = 0; i < n; ++i) {
        const float v = l[i], b = best[i];
        const int32_t more = v > b;  // false for NaN: NaN never wins
        best[i] = more ? v : b;
        index[i] += (c - index[i]) * more;
      }
    }
    for (size_t i = 0; i < n; ++i) mask[start + i] = static_cast<uint8_t>(index[i]);
  }
}

void ForegroundFromChannel(const float* x, int64_t n, bool sigmoid, float threshold, uint8_t* mask,
                           uint8_t* alpha) {
  for (int64_t i = 0; i < n; ++i) {
    float p = sigmoid ? 1.0f / (1.0f + std::exp(-x[i])) : x[i];
    if (!(p >= 0.0f)) p = 0.0f;  // NaN and negatives
    if (p > 1.0f) p = 1.0f;
    mask[i] = p >= threshold ? 1 : 0;
    if (alpha) alpha[i] = static_cast<uint8_t>(p * 255.0f + 0.5f);
  }
}

namespace {

Image GrayImage(int width, int height) {
  Image img;
  img.width = width;
  img.height = height;
  img.channels = 1;
  img.pixels.resize(static_cast<size_t>(width) * height);
  return img;
}

}  // namespace

Image ResizeBilinearGray(const Image& src, int width, int height) {
  Image dst = GrayImage(width, height);
  if (src.width <= 0 || src.height <= 0) return dst;
  const float sx = static_cast<float>(src.width) / width,
              sy = static_cast<float>(src.height) / height;
  for (int y = 0; y < height; ++y) {
    const float fy_src = std::max(0.0f, (y + 0.5f) * sy - 0.5f);
    const int y0 = std::min(static_cast<int>(fy_src), src.height - 1),
              y1 = std::min(y0 + 1, src.height - 1);
    const float fy = fy_src - y0;
    const uint8_t* r0 = src.pixels.data() + static_cast<size_t>(y0) * src.width;
    const uint8_t* r1 = src.pixels.data() + static_cast<size_t>(y1) * src.width;
    for (int x = 0; x < width; ++x) {
      const float fx_src = std::max(0.0f, (x + 0.5f) * sx - 0.5f);
      const int x0 = std::min(static_cast<int>(fx_src), src.width - 1),
                x1 = std::min(x0 + 1, src.width - 1);
      const float fx = fx_src - x0;
      const float top = r0[x0] + (r0[x1] - r0[x0]) * fx;
      const float bot = r1[x0] + (r1[x1] - r1[x0]) * fx;
      dst.pixels[static_cast<size_t>(y) * width + x] =
          static_cast<uint8_t>(std::lround(top + (bot - top) * fy));
    }
  }
  return dst;
}

Image ResizeNearest(const Image& src, int width, int height) {
  Image dst = GrayImage(width, height);
  for (int y = 0; y < height; ++y) {
    const int sy = std::min(src.height - 1, static_cast<int>((y + 0.5) * src.height / height));
    for (int x = 0; x < width; ++x) {
      const int sx = std::min(src.width - 1, static_cast<int>((x + 0.5) * src.width / width));
      dst.pixels[static_cast<size_t>(y) * width + x] =
          src.pixels[static_cast<size_t>(sy) * src.width + sx];
    }
  }
  return dst;
}

}  // namespace epara
