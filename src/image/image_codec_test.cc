#include "image/image_codec.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace epara {
namespace {

Image Gradient(int w, int h) {
  Image img;
  img.width = w;
  img.height = h;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &img.pixels[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>(x * 255 / w);
      p[1] = static_cast<uint8_t>(y * 255 / h);
      p[2] = 77;
    }
  return img;
}

TEST(ImageCodecTest, PngRoundTripIsExact) {
  Image in = Gradient(37, 23), out;
  std::string png;
  ASSERT_TRUE(EncodePng(in, &png).ok());
  ASSERT_TRUE(DecodeImage(png, &out).ok());
  EXPECT_EQ(out.width, 37);
  EXPECT_EQ(out.height, 23);
  EXPECT_EQ(out.pixels, in.pixels);
}

TEST(ImageCodecTest, JpegDecodesCloseToTheOriginal) {
  Image in = Gradient(64, 48), out;
  std::string jpg;
  ASSERT_TRUE(EncodeJpeg(in, 95, &jpg).ok());
  ASSERT_TRUE(DecodeImage(jpg, &out).ok());
  ASSERT_EQ(out.pixels.size(), in.pixels.size());
  double err = 0;
  for (size_t i = 0; i < in.pixels.size(); ++i)
    err += std::abs(int(in.pixels[i]) - int(out.pixels[i]));
  EXPECT_LT(err / in.pixels.size(), 4.0);
}

TEST(ImageCodecTest, PaletteMaskKeepsClassIndices) {
  Image mask;
  mask.width = 5;
  mask.height = 2;
  mask.channels = 1;
  mask.pixels = {0, 1, 2, 3, 0, 3, 2, 1, 0, 1};
  std::string png;
  ASSERT_TRUE(EncodePalettePng(mask, ClassPalette(4), &png).ok());
  Image rgb;
  ASSERT_TRUE(DecodeImage(png, &rgb).ok());
  const auto pal = ClassPalette(4);
  for (size_t i = 0; i < mask.pixels.size(); ++i)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(rgb.pixels[i * 3 + c], pal[mask.pixels[i]][c]) << i;
  EXPECT_NE(pal[1], pal[2]);
  EXPECT_EQ(pal[0], (std::array<uint8_t, 3>{0, 0, 0}));
}

// The palette PNG is written at 1, 2, 4 or 8 bits per pixel by palette size; rows whose width
// is not a multiple of the pixels per byte are padded. Every case must decode to the colours.
TEST(ImageCodecTest, PaletteMaskRoundTripsAtEveryBitDepth) {
  for (int classes : {1, 2, 3, 4, 5, 16, 17, 200}) {
    for (int width : {1, 3, 7, 9, 33}) {
      Image mask;
      mask.width = width;
      mask.height = 3;
      mask.channels = 1;
      for (int i = 0; i < width * 3; ++i)
        mask.pixels.push_back(static_cast<uint8_t>((i * 7 + i / 3) % classes));
      std::string png;
      ASSERT_TRUE(EncodePalettePng(mask, ClassPalette(classes), &png).ok());
      const int depth = static_cast<uint8_t>(png[24]);  // IHDR bit depth
      EXPECT_EQ(depth, classes <= 2 ? 1 : classes <= 4 ? 2 : classes <= 16 ? 4 : 8) << classes;
      Image rgb;
      ASSERT_TRUE(DecodeImage(png, &rgb).ok());
      ASSERT_EQ(rgb.width, width);
      const auto pal = ClassPalette(classes);
      for (size_t i = 0; i < mask.pixels.size(); ++i)
        for (int c = 0; c < 3; ++c)
          ASSERT_EQ(rgb.pixels[i * 3 + c], pal[mask.pixels[i]][c])
              << "classes " << classes << " width " << width << " pixel " << i;
    }
  }
}

TEST(ImageCodecTest, PaletteIndicesBeyondThePaletteRenderBlack) {
  Image mask{3, 1, 1, {0, 1, 9}};
  std::string png;
  ASSERT_TRUE(EncodePalettePng(mask, ClassPalette(2), &png).ok());
  Image rgb;
  ASSERT_TRUE(DecodeImage(png, &rgb).ok());
  EXPECT_EQ(rgb.pixels[6], 0);
  EXPECT_EQ(rgb.pixels[7], 0);
  EXPECT_EQ(rgb.pixels[8], 0);
  EXPECT_NE(rgb.pixels[3], 0);      // class 1 is not black
  Image wrong{3, 2, 1, {0, 1, 2}};  // pixel count does not match the size
  EXPECT_EQ(EncodePalettePng(wrong, ClassPalette(2), &png).code(), StatusCode::kInvalidArgument);
}

TEST(ImageCodecTest, BadInputIsAnErrorNeverACrash) {
  Image out;
  std::string png, jpg;
  ASSERT_TRUE(EncodePng(Gradient(16, 16), &png).ok());
  ASSERT_TRUE(EncodeJpeg(Gradient(16, 16), 90, &jpg).ok());
  const std::vector<std::string> bad = {
      "",
      "hello",
      png.substr(0, 8),
      png.substr(0, png.size() / 2),
      jpg.substr(0, 3),
      jpg.substr(0, 40),
      std::string("\x89PNG\r\n\x1a\n", 8) + std::string(100, '\x7f'),
  };
  for (const auto& b : bad) {
    Status s = DecodeImage(b, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << b.size();
  }
  // Flip bytes inside the compressed data: must not crash; may decode to garbage or fail.
  for (size_t i = 40; i < png.size(); i += 7) {
    std::string corrupt = png;
    corrupt[i] ^= 0x5a;
    (void)DecodeImage(corrupt, &out);
  }
}

TEST(ImageCodecTest, EnforcesSizeLimits) {
  std::string png;
  ASSERT_TRUE(EncodePng(Gradient(300, 10), &png).ok());
  Image out;
  DecodeLimits tight;
  tight.max_side = 256;
  Status s = DecodeImage(png, &out, tight);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("300x10"), std::string::npos);
}

}  // namespace
}  // namespace epara
