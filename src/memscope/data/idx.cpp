#include "memscope/data/idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <vector>

#include "memscope/core/error.h"

namespace memscope {

namespace {

/// The whole file, decompressed if it is gzip (zlib reads plain files as they are).
std::vector<uint8_t> read_maybe_gzip(const std::string& path) {
  MEMSCOPE_CHECK(std::filesystem::is_regular_file(path), "idx: no such file ", path);
  gzFile f = gzopen(path.c_str(), "rb");
  MEMSCOPE_CHECK(f != nullptr, "idx: cannot open ", path, ": ", std::strerror(errno));
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> chunk(1 << 16);
  while (true) {
    int got = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (got < 0) {
      int code = 0;
      std::string msg = gzerror(f, &code);
      gzclose(f);
      throw Error(str("idx: cannot read ", path, ": ", msg));
    }
    if (got == 0) break;
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + got);
  }
  // A truncated gzip stream ends without error from gzread; gzclose reports it.
  int rc = gzclose(f);
  MEMSCOPE_CHECK(rc == Z_OK, "idx: ", path, " is a truncated or corrupt gzip file");
  return bytes;
}

uint32_t big_endian32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  std::vector<uint8_t> bytes = read_maybe_gzip(path);
  MEMSCOPE_CHECK(bytes.size() >= 4, "idx: ", path, " is too short for an IDX header (", bytes.size(),
                 " bytes)");
  MEMSCOPE_CHECK(bytes[0] == 0 && bytes[1] == 0, "idx: ", path,
                 " has no IDX magic number (first bytes ", int(bytes[0]), " ", int(bytes[1]), ")");
  MEMSCOPE_CHECK(bytes[2] == 0x08, "idx: ", path, " has element type 0x", std::hex, int(bytes[2]),
                 "; only unsigned bytes (0x08) are supported");
  const int ndim = bytes[3];
  MEMSCOPE_CHECK(ndim >= 1 && ndim <= 4, "idx: ", path, " declares ", ndim, " dimensions (expected 1 to 4)");
  const size_t header = 4 + 4 * size_t(ndim);
  MEMSCOPE_CHECK(bytes.size() >= header, "idx: ", path, " is truncated inside its header");
  std::vector<int64_t> shape;
  uint64_t count = 1;
  for (int d = 0; d < ndim; ++d) {
    uint32_t n = big_endian32(bytes.data() + 4 + 4 * d);
    shape.push_back(n);
    MEMSCOPE_CHECK(n == 0 || count <= std::numeric_limits<uint64_t>::max() / n, "idx: ", path,
                   " declares an impossibly large size");
    count *= n;
  }
  const uint64_t have = bytes.size() - header;
  MEMSCOPE_CHECK(have == count, "idx: ", path, " should hold ", count, " bytes of data after its header, ",
                 have < count ? "but is truncated at " : "but has ", have, have > count ? " (trailing bytes)" : "");
  torch::Tensor t = torch::empty(shape, torch::kUInt8);
  if (count) std::memcpy(t.data_ptr<uint8_t>(), bytes.data() + header, count);
  return t;
}

torch::Tensor read_idx_images(const std::string& path) {
  torch::Tensor t = read_idx(path);
  MEMSCOPE_CHECK(t.dim() == 3, "idx: ", path, " is not an image file: expected 3 dimensions (magic 2051), got ",
                 t.dim());
  MEMSCOPE_CHECK(t.size(0) > 0 && t.size(1) > 0 && t.size(2) > 0, "idx: ", path, " holds no images");
  return t;
}

torch::Tensor read_idx_labels(const std::string& path) {
  torch::Tensor t = read_idx(path);
  MEMSCOPE_CHECK(t.dim() == 1, "idx: ", path, " is not a label file: expected 1 dimension (magic 2049), got ",
                 t.dim());
  return t;
}

}  // namespace memscope
