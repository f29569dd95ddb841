#include "vision/spatial_split.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace epara::vision {
namespace {

// Splits [0, n) (n a multiple of align) into `parts` aligned, near-equal ranges; their starts.
std::vector<int> Cuts(int n, int parts, int align) {
  std::vector<int> cuts;
  const int cells = n / align;
  for (int i = 0; i <= parts; ++i)
    cuts.push_back(static_cast<int>(static_cast<int64_t>(cells) * i / parts) * align);
  return cuts;
}

// The image and options every plan needs: positive align, a halo and image sides that are
// multiples of it.
Status CheckGeometry(int width, int height, const TilePlanOptions& o) {
  if (o.align <= 0 || o.halo < 0)
    return InvalidArgument("tile plan: tiles and align must be positive, halo not negative");
  if (width <= 0 || height <= 0 || width % o.align || height % o.align)
    return InvalidArgument("tile plan: image " + std::to_string(width) + "x" +
                           std::to_string(height) + " is not a multiple of " +
                           std::to_string(o.align));
  if (o.halo % o.align)
    return InvalidArgument("tile plan: halo must be a multiple of " + std::to_string(o.align));
  return Status::Ok();
}

}  // namespace

Status PlanTiles(int width, int height, const TilePlanOptions& o, std::vector<Tile>* out) {
  if (o.tiles_x <= 0 || o.tiles_y <= 0)
    return InvalidArgument("tile plan: tiles and align must be positive, halo not negative");
  EPARA_RETURN_IF_ERROR(CheckGeometry(width, height, o));
  if (o.tiles_x > width / o.align || o.tiles_y > height / o.align)
    return InvalidArgument("tile plan: more tiles than " + std::to_string(o.align) +
                           "-pixel cells");
  const std::vector<int> xs = Cuts(width, o.tiles_x, o.align);
  const std::vector<int> ys = Cuts(height, o.tiles_y, o.align);
  out->clear();
  for (int ty = 0; ty < o.tiles_y; ++ty)
    for (int tx = 0; tx < o.tiles_x; ++tx) {
      Tile t;
      t.core = {xs[tx], ys[ty], xs[tx + 1] - xs[tx], ys[ty + 1] - ys[ty]};
      const int x0 = std::max(0, t.core.x - o.halo), y0 = std::max(0, t.core.y - o.halo);
      const int x1 = std::min(width, t.core.x + t.core.w + o.halo);
      const int y1 = std::min(height, t.core.y + t.core.h + o.halo);
      t.input = {x0, y0, x1 - x0, y1 - y0};
      out->push_back(t);
    }
  return Status::Ok();
}

Status PlanWeightedTiles(int width, int height, const std::vector<TileDevice>& devices,
                         const TilePlanOptions& o, std::vector<Tile>* out,
                         std::vector<size_t>* device) {
  EPARA_RETURN_IF_ERROR(CheckGeometry(width, height, o));
  if (devices.empty()) return InvalidArgument("tile plan: no device");
  for (const TileDevice& d : devices)
    if (!(d.ms_per_column > 0) || !std::isfinite(d.ms_per_column) || !std::isfinite(d.start_ms))
      return InvalidArgument("tile plan: a device's cost must be positive and finite");
  std::vector<size_t> kept(devices.size());
  for (size_t i = 0; i < kept.size(); ++i) kept[i] = i;
  if (kept.size() > static_cast<size_t>(width / o.align))
    kept.resize(static_cast<size_t>(width / o.align));
  std::vector<double> core;
  const auto inner_sides = [&](size_t k) {
    return kept.size() == 1 ? 0 : (k == 0 || k + 1 == kept.size()) ? 1 : 2;
  };
  for (;;) {
    // sum_d (T - start_d) / c_d - halo x sides_d = width  =>  T in closed form.
    double inv = 0, offset = 0;
    for (size_t k = 0; k < kept.size(); ++k) {
      const TileDevice& d = devices[kept[k]];
      inv += 1 / d.ms_per_column;
      offset += d.start_ms / d.ms_per_column + double(o.halo) * inner_sides(k);
    }
    const double t = (width + offset) / inv;
    core.assign(kept.size(), 0);
    size_t worst = 0;
    for (size_t k = 0; k < kept.size(); ++k) {
      const TileDevice& d = devices[kept[k]];
      core[k] = (t - d.start_ms) / d.ms_per_column - double(o.halo) * inner_sides(k);
      if (core[k] < core[worst]) worst = k;
    }
    if (core[worst] >= o.align || kept.size() == 1) break;
    kept.erase(kept.begin() + static_cast<std::ptrdiff_t>(worst));
  }
  // Aligned cores (each >= align, summing to width, so the rounded-down cells sum to at most the
  // width's); the columns rounding left go to the tile predicted to finish first.
  std::vector<int> cells(kept.size());
  int used = 0;
  for (size_t k = 0; k < kept.size(); ++k) {
    cells[k] = std::max(1, static_cast<int>(core[k] / o.align));  // 1: float rounding
    used += cells[k];
  }
  const int total = width / o.align;
  const auto finish = [&](size_t k, int c) {
    const TileDevice& d = devices[kept[k]];
    return d.start_ms + d.ms_per_column * (double(c) * o.align + double(o.halo) * inner_sides(k));
  };
  while (used < total) {
    size_t best = 0;
    for (size_t k = 1; k < kept.size(); ++k)
      if (finish(k, cells[k] + 1) < finish(best, cells[best] + 1)) best = k;
    ++cells[best];
    ++used;
  }
  out->clear();
  device->clear();
  int x = 0;
  for (size_t k = 0; k < kept.size(); ++k) {
    Tile t;
    t.core = {x, 0, cells[k] * o.align, height};
    x += t.core.w;
    const int x0 = std::max(0, t.core.x - o.halo);
    const int x1 = std::min(width, t.core.x + t.core.w + o.halo);
    t.input = {x0, 0, x1 - x0, height};
    out->push_back(t);
    device->push_back(kept[k]);
  }
  return Status::Ok();
}

Tensor CropImage(const Tensor& image, const Rect& r) {
  const int64_t c = image.shape()[1], h = image.shape()[2], w = image.shape()[3];
  Tensor out = Tensor::Uninitialized(DataType::kFp32, {1, c, r.h, r.w});
  const float* src = image.data<float>();
  float* dst = out.data<float>();
  for (int64_t ch = 0; ch < c; ++ch)
    for (int y = 0; y < r.h; ++y)
      std::memcpy(dst + (ch * r.h + y) * r.w, src + (ch * h + r.y + y) * w + r.x,
                  sizeof(float) * r.w);
  return out;
}

Status StitchTiles(const std::vector<Tile>& tiles, const std::vector<Tensor>& logits, int width,
                   int height, Tensor* out) {
  if (tiles.size() != logits.size() || tiles.empty())
    return InvalidArgument("stitch: one logits tensor per tile expected");
  const auto& s0 = logits[0].shape();
  if (s0.size() != 4 || s0[0] != 1) return InvalidArgument("stitch: logits must be [1, K, h, w]");
  const int64_t k = s0[1];
  Tensor full = Tensor::Uninitialized(DataType::kFp32, {1, k, height, width});
  float* dst = full.data<float>();
  for (size_t i = 0; i < tiles.size(); ++i) {
    const Tile& t = tiles[i];
    const auto& s = logits[i].shape();
    if (s.size() != 4 || s[0] != 1 || s[1] != k || s[2] != t.input.h || s[3] != t.input.w ||
        logits[i].dtype() != DataType::kFp32)
      return InvalidArgument("stitch: tile " + std::to_string(i) + " logits have the wrong shape");
    const float* src = logits[i].data<float>();
    const int dx = t.core.x - t.input.x, dy = t.core.y - t.input.y;
    for (int64_t ch = 0; ch < k; ++ch)
      for (int y = 0; y < t.core.h; ++y)
        std::memcpy(dst + (ch * height + t.core.y + y) * width + t.core.x,
                    src + (ch * t.input.h + dy + y) * t.input.w + dx, sizeof(float) * t.core.w);
  }
  *out = std::move(full);
  return Status::Ok();
}

}  // namespace epara::vision
