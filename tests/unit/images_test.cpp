#include "memscope/report/images.h"

#include <gtest/gtest.h>
#include <png.h>

using namespace memscope;

TEST(Images, Base64KnownVectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\x00\x10", 3)), "/wAQ");
}

TEST(Images, PngRoundTripsThroughLibpng) {
  torch::Tensor img = torch::rand({1, 5, 7});
  const std::string png = encode_png(img);
  png_image pi{};
  pi.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_memory(&pi, png.data(), png.size()));
  EXPECT_EQ(pi.width, 7u);
  EXPECT_EQ(pi.height, 5u);
  pi.format = PNG_FORMAT_GRAY;
  std::vector<uint8_t> pixels(35);
  ASSERT_TRUE(png_image_finish_read(&pi, nullptr, pixels.data(), 0, nullptr));
  torch::Tensor back = torch::from_blob(pixels.data(), {5, 7}, torch::kUInt8).to(torch::kFloat32) / 255;
  EXPECT_TRUE(torch::allclose(back, img[0], 0, 0.5 / 255 + 1e-6));
  EXPECT_EQ(png_data_uri(img).rfind("data:image/png;base64,iVBORw0KGgo", 0), 0u);
  EXPECT_THROW(encode_png(torch::rand({2, 3, 3})), std::exception);
}
