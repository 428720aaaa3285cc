#include "memscope/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <vector>

#include "memscope/core/error.h"

namespace memscope {

namespace {

/// Most data bytes an IDX file may declare (8 GiB of uint8 pixels, far more than a data set memscope
/// trains on fits in memory as float32): a header beyond it is corrupt or hostile.
constexpr uint64_t kMaxIdxBytes = uint64_t(1) << 33;
/// Bytes inflated per read.
constexpr size_t kChunk = size_t(1) << 16;

/// An IDX file read through zlib, plain or gzip (zlib passes plain files through as they are).
/// Reads only as much as asked, so a gzip bomb is never inflated beyond what the header declares.
class IdxStream {
 public:
  explicit IdxStream(const std::string& path) : path_(path) {
    MEMSCOPE_CHECK(std::filesystem::is_regular_file(path), "idx: no such file ", path);
    f_ = gzopen(path.c_str(), "rb");
    MEMSCOPE_CHECK(f_ != nullptr, "idx: cannot open ", path, ": ", std::strerror(errno));
  }
  IdxStream(const IdxStream&) = delete;
  IdxStream& operator=(const IdxStream&) = delete;
  ~IdxStream() {
    if (f_) gzclose(f_);
  }

  /// Appends up to n bytes to out; fewer only at the end of the stream.
  void read(std::vector<uint8_t>& out, uint64_t n) {
    while (n > 0) {
      const size_t want = size_t(std::min<uint64_t>(n, kChunk)), at = out.size();
      out.resize(at + want);
      const int got = gzread(f_, out.data() + at, unsigned(want));
      if (got < 0) {
        int code = 0;
        const std::string msg = gzerror(f_, &code);
        throw Error(str("idx: cannot read ", path_, ": ", msg));
      }
      out.resize(at + size_t(got));
      if (got == 0) return;
      n -= uint64_t(got);
    }
  }
  /// Closes the stream at its end; a truncated gzip stream ends without error from gzread, and
  /// gzclose reports it.
  void close() {
    const int rc = gzclose(f_);
    f_ = nullptr;
    MEMSCOPE_CHECK(rc == Z_OK, "idx: ", path_, " is a truncated or corrupt gzip file");
  }

 private:
  std::string path_;
  gzFile f_ = nullptr;
};

uint32_t big_endian32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

/// Checks the magic number and reads the dimensions; returns the shape and its byte count.
std::vector<int64_t> read_header(IdxStream& in, const std::string& path, std::vector<uint8_t>& bytes, uint64_t& count) {
  in.read(bytes, 4);
  if (bytes.size() < 4) in.close();  // a corrupt gzip file is reported as such
  MEMSCOPE_CHECK(bytes.size() >= 4, "idx: ", path, " is too short for an IDX header (", bytes.size(), " bytes)");
  MEMSCOPE_CHECK(bytes[0] == 0 && bytes[1] == 0, "idx: ", path, " has no IDX magic number (first bytes ", int(bytes[0]),
                 " ", int(bytes[1]), ")");
  MEMSCOPE_CHECK(bytes[2] == 0x08, "idx: ", path, " has element type 0x", std::hex, int(bytes[2]),
                 "; only unsigned bytes (0x08) are supported");
  const int ndim = bytes[3];
  MEMSCOPE_CHECK(ndim >= 1 && ndim <= 4, "idx: ", path, " declares ", ndim, " dimensions (expected 1 to 4)");
  in.read(bytes, 4 * uint64_t(ndim));
  if (bytes.size() < 4 + 4 * size_t(ndim)) in.close();
  MEMSCOPE_CHECK(bytes.size() == 4 + 4 * size_t(ndim), "idx: ", path, " is truncated inside its header");
  std::vector<int64_t> shape;
  count = 1;
  for (int d = 0; d < ndim; ++d) {
    const uint32_t n = big_endian32(bytes.data() + 4 + 4 * d);
    shape.push_back(n);
    MEMSCOPE_CHECK(n == 0 || count <= kMaxIdxBytes / n, "idx: ", path, " declares an impossibly large size (over ",
                   kMaxIdxBytes, " bytes)");
    count *= n;
  }
  return shape;
}

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  IdxStream in(path);
  std::vector<uint8_t> bytes;
  uint64_t count = 0;
  const std::vector<int64_t> shape = read_header(in, path, bytes, count);
  const size_t header = bytes.size();
  // One byte more than declared tells trailing bytes apart; the stream is never inflated further.
  in.read(bytes, count + 1);
  const uint64_t have = bytes.size() - header;
  if (have <= count) in.close();
  MEMSCOPE_CHECK(have <= count, "idx: ", path, " should hold ", count, " bytes of data after its header, ",
                 "but has more (trailing bytes)");
  MEMSCOPE_CHECK(have == count, "idx: ", path, " should hold ", count, " bytes of data after its header, ",
                 "but is truncated at ", have);
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
  MEMSCOPE_CHECK(t.dim() == 1, "idx: ", path, " is not a label file: expected 1 dimension (magic 2049), got ", t.dim());
  return t;
}

}  // namespace memscope
