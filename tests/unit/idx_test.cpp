#include "memscope/data/idx.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "memscope/core/config.h"
#include "memscope/core/error.h"
#include "memscope/data/loaders.h"
#include "test_util.h"

using namespace memscope;
using test::error_of;
using memscope::test::idx_bytes;
using memscope::test::write_bytes;

namespace {

void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
}

}  // namespace

TEST(Idx, ReadsPlainAndGzipImages) {
  const std::string dir = test::scratch_dir();
  std::vector<uint8_t> data(2 * 3 * 4);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 10);
  write_bytes(dir + "/a.idx", idx_bytes({2, 3, 4}, data));
  write_gzip(dir + "/a.idx.gz", idx_bytes({2, 3, 4}, data));
  for (const std::string f : {"/a.idx", "/a.idx.gz"}) {
    torch::Tensor t = read_idx_images(dir + f);
    ASSERT_EQ(t.sizes(), torch::IntArrayRef({2, 3, 4}));
    EXPECT_EQ(t[1][2][3].item<int>(), 230);
    EXPECT_EQ(t[0][0][1].item<int>(), 10);
  }
}

TEST(Idx, RejectsBrokenFilesNamingThem) {
  const std::string dir = test::scratch_dir();
  std::vector<uint8_t> good = idx_bytes({2, 3, 4}, std::vector<uint8_t>(24, 1));
  std::vector<uint8_t> truncated(good.begin(), good.end() - 5);
  write_bytes(dir + "/trunc.idx", truncated);
  std::string msg = error_of([&] { read_idx_images(dir + "/trunc.idx"); });
  EXPECT_NE(msg.find("trunc.idx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;

  std::vector<uint8_t> bad_magic = good;
  bad_magic[0] = 0x12;
  write_bytes(dir + "/magic.idx", bad_magic);
  msg = error_of([&] { read_idx_images(dir + "/magic.idx"); });
  EXPECT_NE(msg.find("magic"), std::string::npos) << msg;

  std::vector<uint8_t> float_type = good;
  float_type[2] = 0x0D;
  write_bytes(dir + "/float.idx", float_type);
  EXPECT_NE(error_of([&] { read_idx_images(dir + "/float.idx"); }).find("element type"), std::string::npos);

  std::vector<uint8_t> trailing = good;
  trailing.push_back(0);
  write_bytes(dir + "/trailing.idx", trailing);
  EXPECT_NE(error_of([&] { read_idx_images(dir + "/trailing.idx"); }).find("trailing"), std::string::npos);

  write_bytes(dir + "/header.idx", {0, 0, 8, 3, 0, 0});
  EXPECT_NE(error_of([&] { read_idx_images(dir + "/header.idx"); }).find("header"), std::string::npos);

  std::vector<uint8_t> gz_trunc;
  write_gzip(dir + "/full.gz", good);
  {
    std::ifstream is(dir + "/full.gz", std::ios::binary);
    gz_trunc.assign(std::istreambuf_iterator<char>(is), {});
  }
  gz_trunc.resize(gz_trunc.size() - 12);
  write_bytes(dir + "/trunc.gz", gz_trunc);
  EXPECT_FALSE(error_of([&] { read_idx_images(dir + "/trunc.gz"); }).empty());

  EXPECT_NE(error_of([&] { read_idx_images(dir + "/missing.idx"); }).find("no such file"), std::string::npos);
  // A label file is not an image file.
  write_bytes(dir + "/labels.idx", idx_bytes({3}, {1, 2, 3}));
  EXPECT_NE(error_of([&] { read_idx_images(dir + "/labels.idx"); }).find("not an image file"), std::string::npos);
}

TEST(Loaders, IdxPairWithLimitPadAndBinarize) {
  const std::string dir = test::scratch_dir();
  std::vector<uint8_t> pix(5 * 28 * 28);
  for (size_t i = 0; i < pix.size(); ++i) pix[i] = uint8_t((i * 37) % 256);
  write_bytes(dir + "/img.idx", idx_bytes({5, 28, 28}, pix));
  write_bytes(dir + "/lab.idx", idx_bytes({5}, {4, 3, 2, 1, 0}));
  DataConfig c;
  c.source = parse_data_source("idx:" + dir + "/img.idx:" + dir + "/lab.idx");
  c.limit = 3;
  c.binarize = Binarize::kThreshold;
  Dataset d = load_dataset(c, 1);
  ASSERT_EQ(d.size(), 3);
  ASSERT_EQ(d.dim(), 32 * 32);
  EXPECT_TRUE(d.x.is_contiguous());
  EXPECT_EQ(d.label[0].item<int64_t>(), 4);
  EXPECT_EQ(d.index[2].item<int64_t>(), 2);
  torch::Tensor img = d.x.view({3, 32, 32});
  EXPECT_EQ(img.slice(1, 0, 2).abs().sum().item<float>(), 0.0f);  // padding is zero
  // Pixel (row 0, col 0) of image 1 is pix[784] = 784*37 % 256 = 80 -> 80/255 < 0.5 -> 0.
  EXPECT_EQ(img[1][2][2].item<float>(), float((784 * 37) % 256 > 127));
  // Sampled binarization is a seeded, one-time draw.
  c.binarize = Binarize::kSample;
  EXPECT_TRUE(torch::equal(load_dataset(c, 5).x, load_dataset(c, 5).x));
  EXPECT_FALSE(torch::equal(load_dataset(c, 5).x, load_dataset(c, 6).x));
  // Labels that do not match the images are refused.
  write_bytes(dir + "/lab4.idx", idx_bytes({4}, {1, 2, 3, 4}));
  c.source = parse_data_source("idx:" + dir + "/img.idx:" + dir + "/lab4.idx");
  EXPECT_THROW(load_dataset(c, 1), Error);
  EXPECT_THROW(parse_data_source("mnist-from-nowhere"), ConfigError);
}
