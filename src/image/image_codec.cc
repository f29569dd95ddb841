#include "image/image_codec.h"

#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

namespace epara {
namespace {

bool IsPng(std::string_view b) {
  return b.size() >= 8 && std::memcmp(b.data(), "\x89PNG\r\n\x1a\n", 8) == 0;
}
bool IsJpeg(std::string_view b) {
  return b.size() >= 3 && static_cast<uint8_t>(b[0]) == 0xFF &&
         static_cast<uint8_t>(b[1]) == 0xD8 && static_cast<uint8_t>(b[2]) == 0xFF;
}

Status CheckSize(int w, int h, const DecodeLimits& limits) {
  if (w <= 0 || h <= 0) return InvalidArgument("image has no pixels");
  if (w > limits.max_side || h > limits.max_side || int64_t{w} * h > limits.max_pixels)
    return InvalidArgument("image " + std::to_string(w) + "x" + std::to_string(h) +
                           " exceeds the limit of " + std::to_string(limits.max_side) +
                           " per side / " + std::to_string(limits.max_pixels) + " pixels");
  return Status::Ok();
}

Status DecodePng(std::string_view bytes, Image* out, const DecodeLimits& limits) {
  png_image img;
  std::memset(&img, 0, sizeof(img));
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, bytes.data(), bytes.size()))
    return InvalidArgument(std::string("invalid PNG: ") + img.message);
  Status s = CheckSize(static_cast<int>(img.width), static_cast<int>(img.height), limits);
  if (!s.ok()) {
    png_image_free(&img);
    return s;
  }
  img.format = PNG_FORMAT_RGB;
  Image result;
  result.width = static_cast<int>(img.width);
  result.height = static_cast<int>(img.height);
  result.channels = 3;
  result.pixels.resize(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, result.pixels.data(), 0, nullptr)) {
    std::string msg = img.message;
    png_image_free(&img);
    return InvalidArgument("invalid PNG: " + msg);
  }
  *out = std::move(result);
  return Status::Ok();
}

struct TjDeleter {
  void operator()(void* h) const { tjDestroy(h); }
};
using TjHandle = std::unique_ptr<void, TjDeleter>;

Status DecodeJpeg(std::string_view bytes, Image* out, const DecodeLimits& limits) {
  TjHandle h(tjInitDecompress());
  if (!h) return Internal("cannot initialise the JPEG decoder");
  int w = 0, ht = 0, subsamp = 0, colorspace = 0;
  auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  if (tjDecompressHeader3(h.get(), data, bytes.size(), &w, &ht, &subsamp, &colorspace) != 0)
    return InvalidArgument(std::string("invalid JPEG: ") + tjGetErrorStr2(h.get()));
  EPARA_RETURN_IF_ERROR(CheckSize(w, ht, limits));
  Image result;
  result.width = w;
  result.height = ht;
  result.channels = 3;
  result.pixels.resize(static_cast<size_t>(w) * ht * 3);
  if (tjDecompress2(h.get(), data, bytes.size(), result.pixels.data(), w, 0, ht, TJPF_RGB,
                    TJFLAG_FASTDCT) != 0 &&
      tjGetErrorCode(h.get()) == TJERR_FATAL)
    return InvalidArgument(std::string("invalid JPEG: ") + tjGetErrorStr2(h.get()));
  *out = std::move(result);
  return Status::Ok();
}

Status WritePng(png_image* img, const void* pixels, const png_color* colormap, std::string* out) {
  png_alloc_size_t size = 0;
  if (!png_image_write_get_memory_size(*img, size, 0, pixels, 0, colormap))
    return Internal(std::string("PNG encode: ") + img->message);
  out->resize(size);
  if (!png_image_write_to_memory(img, out->data(), &size, 0, pixels, 0, colormap))
    return Internal(std::string("PNG encode: ") + img->message);
  out->resize(size);
  return Status::Ok();
}

// libpng reports errors by longjmp; this frame holds nothing that needs destroying.
struct PngWriteState {
  std::string* out;
  char message[128];
};

void PngAppend(png_structp png, png_bytep data, png_size_t n) {
  auto* st = static_cast<PngWriteState*>(png_get_io_ptr(png));
  st->out->append(reinterpret_cast<const char*>(data), n);
}
void PngFlush(png_structp) {}
[[noreturn]] void PngError(png_structp png, png_const_charp msg) {
  auto* st = static_cast<PngWriteState*>(png_get_error_ptr(png));
  std::snprintf(st->message, sizeof(st->message), "%s", msg);
  png_longjmp(png, 1);
}
void PngWarning(png_structp, png_const_charp) {}

// Writes a palette PNG at the smallest bit depth that holds the colours (a 4-class mask packs 4
// pixels per byte), no row filters and zlib's run-length strategy at level 1: class masks are
// long runs of few values, which Z_RLE compresses about as well as the default strategy at a
// fraction of its cost. False on failure, with the reason in state->message.
bool WritePaletteRows(const Image& index_image, const std::vector<png_color>& colors,
                      PngWriteState* state) {
  state->out->clear();
  std::snprintf(state->message, sizeof(state->message), "cannot create the PNG writer");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, state, PngError, PngWarning);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  const size_t n = colors.size();
  const int depth = n <= 2 ? 1 : n <= 4 ? 2 : n <= 16 ? 4 : 8;
  png_set_write_fn(png, state, PngAppend, PngFlush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(index_image.width),
               static_cast<png_uint_32>(index_image.height), depth, PNG_COLOR_TYPE_PALETTE,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
  png_set_PLTE(png, info, colors.data(), static_cast<int>(n));
  png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
  png_set_compression_level(png, 1);
  png_set_compression_strategy(png, 3 /* Z_RLE */);
  png_write_info(png, info);
  if (depth < 8) png_set_packing(png);  // one index per input byte, packed by libpng
  for (int y = 0; y < index_image.height; ++y)
    png_write_row(png, index_image.pixels.data() + static_cast<size_t>(y) * index_image.width);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

Status DecodeImage(std::string_view bytes, Image* out, const DecodeLimits& limits) {
  if (bytes.empty()) return InvalidArgument("empty image body");
  if (IsPng(bytes)) return DecodePng(bytes, out, limits);
  if (IsJpeg(bytes)) return DecodeJpeg(bytes, out, limits);
  return InvalidArgument("body is not a PNG or JPEG image");
}

Status EncodePng(const Image& image, std::string* out) {
  if (image.channels != 1 && image.channels != 3 && image.channels != 4)
    return InvalidArgument("PNG encode needs 1, 3 or 4 channels");
  png_image img;
  std::memset(&img, 0, sizeof(img));
  img.version = PNG_IMAGE_VERSION;
  img.width = static_cast<png_uint_32>(image.width);
  img.height = static_cast<png_uint_32>(image.height);
  img.format = image.channels == 4   ? PNG_FORMAT_RGBA
               : image.channels == 3 ? PNG_FORMAT_RGB
                                     : PNG_FORMAT_GRAY;
  img.flags = PNG_IMAGE_FLAG_FAST;
  return WritePng(&img, image.pixels.data(), nullptr, out);
}

Status EncodePalettePng(const Image& index_image,
                        const std::vector<std::array<uint8_t, 3>>& palette, std::string* out) {
  if (index_image.channels != 1)
    return InvalidArgument("palette PNG needs a 1-channel index image");
  if (palette.empty() || palette.size() > 256)
    return InvalidArgument("palette must have 1..256 colours");
  if (index_image.width <= 0 || index_image.height <= 0 ||
      index_image.pixels.size() != static_cast<size_t>(index_image.width) * index_image.height)
    return InvalidArgument("index image has no pixels or a wrong pixel count");
  // Indices beyond the palette render black: extend it with black up to the largest index.
  const uint8_t max_index = *std::max_element(index_image.pixels.begin(), index_image.pixels.end());
  std::vector<png_color> colors(std::max<size_t>(palette.size(), size_t{max_index} + 1),
                                png_color{0, 0, 0});
  for (size_t i = 0; i < palette.size(); ++i)
    colors[i] = png_color{palette[i][0], palette[i][1], palette[i][2]};
  PngWriteState state{out, {0}};
  if (!WritePaletteRows(index_image, colors, &state))
    return Internal(std::string("PNG encode: ") + state.message);
  return Status::Ok();
}

Status EncodeJpeg(const Image& image, int quality, std::string* out) {
  if (image.channels != 3) return InvalidArgument("JPEG encode needs RGB");
  TjHandle h(tjInitCompress());
  if (!h) return Internal("cannot initialise the JPEG encoder");
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  if (tjCompress2(h.get(), image.pixels.data(), image.width, 0, image.height, TJPF_RGB, &buf, &size,
                  TJSAMP_420, quality, TJFLAG_FASTDCT) != 0)
    return Internal(std::string("JPEG encode: ") + tjGetErrorStr2(h.get()));
  out->assign(reinterpret_cast<char*>(buf), size);
  tjFree(buf);
  return Status::Ok();
}

std::vector<std::array<uint8_t, 3>> ClassPalette(int classes) {
  // PASCAL VOC's bit-interleaved palette: index 0 black, neighbours well apart.
  std::vector<std::array<uint8_t, 3>> p(static_cast<size_t>(std::max(1, std::min(classes, 256))));
  for (size_t i = 0; i < p.size(); ++i) {
    int r = 0, g = 0, b = 0, c = static_cast<int>(i);
    for (int j = 0; j < 8; ++j) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    p[i] = {static_cast<uint8_t>(r), static_cast<uint8_t>(g), static_cast<uint8_t>(b)};
  }
  return p;
}

}  // namespace epara
