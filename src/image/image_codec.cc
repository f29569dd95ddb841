#include "image/image_codec.h"

#include <png.h>
#include <turbojpeg.h>

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

}  // namespace

Status DecodeImage(std::string_view bytes, Image* out, const DecodeLimits& limits) {
  if (bytes.empty()) return InvalidArgument("empty image body");
  if (IsPng(bytes)) return DecodePng(bytes, out, limits);
  if (IsJpeg(bytes)) return DecodeJpeg(bytes, out, limits);
  return InvalidArgument("body is not a PNG or JPEG image");
}

Status EncodePng(const Image& image, std::string* out) {
  if (image.channels != 1 && image.channels != 3)
    return InvalidArgument("PNG encode needs 1 or 3 channels");
  png_image img;
  std::memset(&img, 0, sizeof(img));
  img.version = PNG_IMAGE_VERSION;
  img.width = static_cast<png_uint_32>(image.width);
  img.height = static_cast<png_uint_32>(image.height);
  img.format = image.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  img.flags = PNG_IMAGE_FLAG_FAST;
  return WritePng(&img, image.pixels.data(), nullptr, out);
}

Status EncodePalettePng(const Image& index_image,
                        const std::vector<std::array<uint8_t, 3>>& palette, std::string* out) {
  if (index_image.channels != 1)
    return InvalidArgument("palette PNG needs a 1-channel index image");
  if (palette.empty() || palette.size() > 256)
    return InvalidArgument("palette must have 1..256 colours");
  png_image img;
  std::memset(&img, 0, sizeof(img));
  img.version = PNG_IMAGE_VERSION;
  img.width = static_cast<png_uint_32>(index_image.width);
  img.height = static_cast<png_uint_32>(index_image.height);
  img.format = PNG_FORMAT_RGB_COLORMAP;
  img.flags = PNG_IMAGE_FLAG_FAST;
  img.colormap_entries = 256;
  std::vector<uint8_t> colormap(256 * 3, 0);
  for (size_t i = 0; i < palette.size(); ++i) std::memcpy(&colormap[i * 3], palette[i].data(), 3);
  return WritePng(&img, index_image.pixels.data(),
                  reinterpret_cast<const png_color*>(colormap.data()), out);
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
