// Intra-request spatial parallelism for segmentation (issue 5, LS-MD): one image split into tiles
// that run on different devices or nodes, their logits stitched back. Pure functions over shapes
// and tensors; the network and transport are elsewhere.
//
// Exactness: a tile's input is its core (the output region it owns) grown by `halo` pixels on every
// side that is not the image border, clipped to the image. When the halo covers the network's
// receptive-field radius and every tile origin is a multiple of `align` (the network's total
// downsampling, so pooling windows line up), each core pixel sees exactly the inputs and the zero
// padding it sees in a whole-image run: the stitched logits equal the single-device logits (up to
// floating-point summation order).
#pragma once

#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace epara::vision {

struct Rect {
  int x = 0, y = 0, w = 0, h = 0;
  bool operator==(const Rect&) const = default;
};

struct Tile {
  Rect core;   // output pixels this tile owns (the cores partition the image)
  Rect input;  // the pixels it runs on: core + halo, clipped to the image
};

struct TilePlanOptions {
  int tiles_x = 2;
  int tiles_y = 1;
  int halo = 128;  // >= the network's receptive-field radius (demo UNet: ~122 px)
  int align = 16;  // the network's downsampling factor; tile origins and sizes are multiples of it
};

// InvalidArgument when the image is not a multiple of `align` in both directions, when halo is not
// a multiple of align, or when there are more tiles than aligned cells.
Status PlanTiles(int width, int height, const TilePlanOptions& options, std::vector<Tile>* out);

// Heterogeneous devices (issue 24): tiles in columns (full height), one per device, sized so that
// every device is predicted to finish at the same time. Device d starts after `start_ms` (network
// and queueing) and takes `ms_per_column` per input column of the full height (its time for the
// whole image / width). A tile's input is its core plus the halo on each inner side, so with
// finish_d = start_d + ms_per_column_d x (core_d + halo x inner sides_d) equal for every d the
// cores follow in closed form; a device whose core would be under `align` is dropped (the slowest
// first) and the rest re-solved. Cores are rounded down to `align`, and the columns left go, one
// cell at a time, to the tile predicted to finish first. `tiles_x` and `tiles_y` of `options` are
// ignored. `device` receives, per tile (left to right), its index into `devices`.
// InvalidArgument as PlanTiles, or for an empty list or a non-positive / non-finite cost.
struct TileDevice {
  double start_ms = 0;
  double ms_per_column = 0;
};
Status PlanWeightedTiles(int width, int height, const std::vector<TileDevice>& devices,
                         const TilePlanOptions& options, std::vector<Tile>* out,
                         std::vector<size_t>* device);

// Copies the rows [input.y, +h) x cols [input.x, +w) of an NCHW image [1, C, H, W] (FP32).
Tensor CropImage(const Tensor& image, const Rect& r);

// Writes every tile's core from its logits ([1, K, input.h, input.w], FP32) into a [1, K, height,
// width] tensor. InvalidArgument when shapes disagree with the plan.
Status StitchTiles(const std::vector<Tile>& tiles, const std::vector<Tensor>& tile_logits,
                   int width, int height, Tensor* out);

}  // namespace epara::vision
