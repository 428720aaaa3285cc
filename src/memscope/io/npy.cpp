#include "memscope/io/npy.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "memscope/core/error.h"
#include "memscope/io/atomic.h"

namespace memscope {

namespace {

struct DType {
  const char* descr;
  torch::ScalarType type;
};
constexpr DType kTypes[] = {{"<f4", torch::kFloat32},
                            {"<f8", torch::kFloat64},
                            {"<i8", torch::kInt64},
                            {"|u1", torch::kUInt8},
                            {"|b1", torch::kBool}};

}  // namespace

void write_npy(const std::string& path, const torch::Tensor& tensor) {
  torch::Tensor t = tensor.to(torch::kCPU).contiguous();
  const char* descr = nullptr;
  for (const auto& d : kTypes)
    if (d.type == t.scalar_type()) descr = d.descr;
  MEMSCOPE_CHECK(descr, "npy: cannot write dtype ", t.scalar_type(), " to ", path);
  std::string shape = "(";
  for (int64_t s : t.sizes()) shape += std::to_string(s) + (t.dim() == 1 ? "," : ", ");
  if (t.dim() > 1) shape.resize(shape.size() - 2);
  shape += ")";
  std::string header = str("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape, ", }");
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  write_atomic(path, [&](std::ostream& os) {
    os.write("\x93NUMPY\x01\x00", 8);
    const uint16_t len = static_cast<uint16_t>(header.size());
    const char len_bytes[2] = {char(len & 0xff), char(len >> 8)};
    os.write(len_bytes, 2);
    os.write(header.data(), std::streamsize(header.size()));
    os.write(static_cast<const char*>(t.data_ptr()), std::streamsize(t.nbytes()));
  });
}

torch::Tensor read_npy(const std::string& path) {
  const std::string bytes = read_file(path);
  MEMSCOPE_CHECK(bytes.size() >= 10 && bytes.compare(0, 6, "\x93NUMPY") == 0, "npy: ", path,
                 " is not an NPY file (bad magic)");
  const int major = static_cast<uint8_t>(bytes[6]);
  MEMSCOPE_CHECK(major >= 1 && major <= 3, "npy: ", path, " has unsupported format version ", major);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = uint8_t(bytes[8]) | (size_t(uint8_t(bytes[9])) << 8);
    offset = 10;
  } else {
    MEMSCOPE_CHECK(bytes.size() >= 12, "npy: ", path, " is truncated inside its header");
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | uint8_t(bytes[8 + i]);
    offset = 12;
  }
  MEMSCOPE_CHECK(bytes.size() >= offset + header_len, "npy: ", path, " is truncated inside its header");
  const std::string header = bytes.substr(offset, header_len);
  // The header is a Python dict literal; a small scanner (no std::regex: its recursive matcher
  // overflows the stack on long headers) finds the three keys.
  auto value_at = [&](const char* key) -> size_t {
    for (const char q : {'\'', '"'}) {
      const size_t k = header.find(str(q, key, q));
      if (k == std::string::npos) continue;
      size_t i = header.find_first_not_of(" \t", k + std::strlen(key) + 2);
      if (i == std::string::npos || header[i] != ':') continue;
      i = header.find_first_not_of(" \t", i + 1);
      if (i != std::string::npos) return i;
    }
    throw Error(str("npy: ", path, " has no '", key, "' in its header"));
  };
  size_t i = value_at("descr");
  const char quote = header[i];
  const size_t close = quote == '\'' || quote == '"' ? header.find(quote, i + 1) : std::string::npos;
  MEMSCOPE_CHECK(close != std::string::npos, "npy: ", path, " has a malformed 'descr' in its header");
  const std::string descr = header.substr(i + 1, close - i - 1);
  const DType* dtype = nullptr;
  for (const auto& d : kTypes)
    if (descr == d.descr) dtype = &d;
  MEMSCOPE_CHECK(dtype, "npy: ", path, " has dtype '", descr.substr(0, 20), "'; supported: <f4 <f8 <i8 |u1 |b1");
  i = value_at("fortran_order");
  MEMSCOPE_CHECK(header.compare(i, 5, "False") == 0 || header.compare(i, 4, "True") == 0, "npy: ", path,
                 " has a malformed 'fortran_order' in its header");
  const bool fortran = header[i] == 'T';  // numpy saves a transposed array so (keep.T): read back in C order
  i = value_at("shape");
  const size_t shape_end = header[i] == '(' ? header.find(')', i) : std::string::npos;
  MEMSCOPE_CHECK(shape_end != std::string::npos, "npy: ", path, " has a malformed 'shape' in its header");
  std::vector<int64_t> shape;
  uint64_t count = 1;
  const int64_t item = int64_t(c10::elementSize(dtype->type));
  for (size_t p = i + 1; p < shape_end;) {
    const char c = header[p];
    if (c == ' ' || c == ',') {
      ++p;
      continue;
    }
    MEMSCOPE_CHECK(c >= '0' && c <= '9', "npy: ", path, " has a malformed 'shape' in its header");
    uint64_t d = 0;
    for (; p < shape_end && header[p] >= '0' && header[p] <= '9'; ++p) {
      d = d * 10 + uint64_t(header[p] - '0');
      MEMSCOPE_CHECK(d <= (uint64_t(1) << 48), "npy: ", path, " declares an impossibly large shape");
    }
    MEMSCOPE_CHECK(shape.size() < 32, "npy: ", path, " declares more than 32 dimensions");
    shape.push_back(int64_t(d));
    MEMSCOPE_CHECK(d == 0 || count <= (uint64_t(1) << 48) / d, "npy: ", path, " declares an impossibly large shape");
    count *= d;
  }
  // Checked before allocating: a small file must not make us allocate what its header claims.
  const uint64_t want = count * uint64_t(item), have = bytes.size() - offset - header_len;
  MEMSCOPE_CHECK(have == want, "npy: ", path, " should hold ", want, " bytes of data for shape ",
                 c10::IntArrayRef(shape), " but holds ", have);
  if (fortran) std::reverse(shape.begin(), shape.end());
  torch::Tensor t = torch::empty(shape, dtype->type);
  if (want) std::memcpy(t.data_ptr(), bytes.data() + offset + header_len, want);
  if (!fortran) return t;
  std::vector<int64_t> order(shape.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = int64_t(order.size() - 1 - k);
  return t.permute(order).contiguous();
}

}  // namespace memscope
