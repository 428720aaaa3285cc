#include "memscope/data/idx.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>

#include "memscope/config/names.h"
#include "memscope/core/config.h"
#include "memscope/core/error.h"
#include "memscope/data/loaders.h"
#include "test_util.h"

using namespace memscope;
using memscope::test::idx_bytes;
using memscope::test::write_bytes;
using test::error_of;

namespace {

void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
}

/// Output of deflate on n bytes at in with the given flush.
std::vector<uint8_t> deflate_some(z_stream& z, const uint8_t* in, size_t n, int flush) {
  std::vector<uint8_t> out;
  z.next_in = const_cast<uint8_t*>(in);
  z.avail_in = unsigned(n);
  std::vector<uint8_t> buf(1 << 16);
  do {
    z.next_out = buf.data();
    z.avail_out = unsigned(buf.size());
    EXPECT_NE(deflate(&z, flush), Z_STREAM_ERROR);
    out.insert(out.end(), buf.begin(), buf.end() - z.avail_out);
  } while (z.avail_out == 0);
  return out;
}

/// A gzip bomb: head followed by `mib` MiB of zeros, about a thousandth of that in size. One MiB of
/// zeros is compressed once, ending in a full flush (so that it refers to nothing before it), and
/// repeated; the trailer's CRC-32 and length are those of the whole inflated stream.
std::vector<uint8_t> gzip_bomb(const std::vector<uint8_t>& head, uint64_t mib) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> gz = deflate_some(z, head.data(), head.size(), Z_FULL_FLUSH);
  const std::vector<uint8_t> zeros(1 << 20, 0);
  const std::vector<uint8_t> block = deflate_some(z, zeros.data(), zeros.size(), Z_FULL_FLUSH);
  for (uint64_t k = 0; k < mib; ++k) gz.insert(gz.end(), block.begin(), block.end());
  std::vector<uint8_t> tail = deflate_some(z, nullptr, 0, Z_FINISH);
  deflateEnd(&z);
  uLong crc = crc32(0L, head.data(), unsigned(head.size()));
  const uLong crc_mib = crc32(0L, zeros.data(), unsigned(zeros.size()));
  for (uint64_t k = 0; k < mib; ++k) crc = crc32_combine(crc, crc_mib, z_off_t(zeros.size()));
  const uint64_t size = head.size() + (mib << 20);
  for (int b = 0; b < 4; ++b) {
    tail[tail.size() - 8 + b] = uint8_t(crc >> (8 * b));
    tail[tail.size() - 4 + b] = uint8_t(size >> (8 * b));  // ISIZE: the length modulo 2^32
  }
  gz.insert(gz.end(), tail.begin(), tail.end());
  return gz;
}

/// Peak resident memory of this process so far, in MiB.
double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024;
}

}  // namespace

TEST(Idx, GzipBombIsRefusedWithoutInflatingIt) {
  const std::string dir = test::scratch_dir();
  // A header of 2 images of 3 x 4 (24 bytes of data), then 8 GiB of zeros in about 8 MB.
  const std::vector<uint8_t> head = idx_bytes({2, 3, 4}, std::vector<uint8_t>(24, 7));
  write_bytes(dir + "/bomb.idx.gz", gzip_bomb(head, 8192));
  // The bomb is a valid gzip stream: its first bytes inflate to the header and the data.
  gzFile f = gzopen((dir + "/bomb.idx.gz").c_str(), "rb");
  std::vector<uint8_t> first(head.size() + 4096, 1);
  ASSERT_EQ(gzread(f, first.data(), unsigned(first.size())), int(first.size()));
  gzclose(f);
  EXPECT_TRUE(std::equal(head.begin(), head.end(), first.begin()));
  EXPECT_EQ(std::count(first.begin() + head.size(), first.end(), 0), 4096);

  const double rss = peak_rss_mib();
  const auto start = std::chrono::steady_clock::now();
  const std::string msg = error_of([&] { read_idx_images(dir + "/bomb.idx.gz"); });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(msg.find("bomb.idx.gz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("should hold 24 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("trailing"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  // Inflating 8 GiB would take seconds and gigabytes; the reader stops after the declared 24 bytes.
  EXPECT_LT(peak_rss_mib() - rss, 64.0);
  EXPECT_LT(seconds, 2.0);
}

TEST(Idx, HeaderDeclaringTooMuchIsRefusedBeforeReadingData) {
  const std::string dir = test::scratch_dir();
  // 65535^3 bytes (about 256 TiB) declared, a few bytes present.
  write_gzip(dir + "/huge.idx.gz", idx_bytes({65535, 65535, 65535}, std::vector<uint8_t>(10, 0)));
  const std::string msg = error_of([&] { read_idx_images(dir + "/huge.idx.gz"); });
  EXPECT_NE(msg.find("huge.idx.gz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("impossibly large"), std::string::npos) << msg;
  // 16 MiB declared but 1 GiB inflated: refused at the 16 MiB + 1st byte.
  write_bytes(dir + "/more.idx.gz", gzip_bomb(idx_bytes({16, 1024, 1024}, {}), 1024));
  EXPECT_NE(error_of([&] { read_idx_images(dir + "/more.idx.gz"); }).find("trailing"), std::string::npos);
  // Exactly as much as declared reads back.
  write_bytes(dir + "/exact.idx.gz", gzip_bomb(idx_bytes({4, 512, 512}, {}), 1));
  const torch::Tensor t = read_idx_images(dir + "/exact.idx.gz");
  EXPECT_EQ(t.sizes(), torch::IntArrayRef({4, 512, 512}));
  EXPECT_EQ(t.sum().item<int64_t>(), 0);
}

TEST(Idx, CorpusBombIsRefused) {
  // fuzz/corpus/idx/bomb.idx.gz: one 4 x 4 image declared, 16 MiB of zeros after it.
  const std::string path = std::string(MEMSCOPE_SOURCE_DIR) + "/fuzz/corpus/idx/bomb.idx.gz";
  const std::string msg = error_of([&] { read_idx_images(path); });
  EXPECT_NE(msg.find("bomb.idx.gz should hold 16 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("trailing"), std::string::npos) << msg;
}

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

namespace {

/// Five 28x28 images (pixel i of the file is i * 37 mod 256) labelled 4, 3, 2, 1, 0, as an idx
/// pair in dir.
DataConfig five_idx_images(const std::string& dir) {
  std::vector<uint8_t> pix(5 * 28 * 28);
  for (size_t i = 0; i < pix.size(); ++i) pix[i] = uint8_t((i * 37) % 256);
  write_bytes(dir + "/img.idx", idx_bytes({5, 28, 28}, pix));
  write_bytes(dir + "/lab.idx", idx_bytes({5}, {4, 3, 2, 1, 0}));
  DataConfig c;
  c.source = parse_data_source("idx:" + dir + "/img.idx:" + dir + "/lab.idx");
  return c;
}

}  // namespace

TEST(Loaders, IdxPairWithLimitPadAndBinarize) {
  const std::string dir = test::scratch_dir();
  DataConfig c = five_idx_images(dir);
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

TEST(Loaders, DuplicatedExamplesAreAppendedWithTheirSourceIndex) {
  const std::string dir = test::scratch_dir();
  DataConfig c = five_idx_images(dir);
  c.limit = 4;
  c.binarize = Binarize::kSample;  // binarized once, before copying: copies are equal
  c.duplicate = {2, 3};
  const Dataset d = load_dataset(c, 1);
  ASSERT_EQ(d.size(), 4 + 2 * 2);
  EXPECT_TRUE(torch::equal(d.index, torch::tensor({0, 1, 2, 3, 0, 1, 0, 1}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(d.label, torch::tensor({4, 3, 2, 1, 4, 3, 4, 3}, torch::kInt64)));
  for (int64_t r : {4, 6}) EXPECT_TRUE(torch::equal(d.x[r], d.x[0]));
  for (int64_t r : {5, 7}) EXPECT_TRUE(torch::equal(d.x[r], d.x[1]));
  c.duplicate = {5, 2};  // more than the 4 examples kept
  EXPECT_NE(test::error_of([&] { load_dataset(c, 1); }).find("duplicate"), std::string::npos);
}
