#include "memscope/io/npy.h"

#include <cstring>
#include <limits>
#include <regex>

#include "memscope/core/error.h"
#include "memscope/io/atomic.h"

namespace memscope {

namespace {

struct DType {
  const char* descr;
  torch::ScalarType type;
};
constexpr DType kTypes[] = {{"<f4", torch::kFloat32}, {"<f8", torch::kFloat64}, {"<i8", torch::kInt64},
                            {"|u1", torch::kUInt8},   {"|b1", torch::kBool}};

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
  std::smatch m;
  MEMSCOPE_CHECK(std::regex_search(header, m, std::regex("'descr'\\s*:\\s*'([^']*)'")), "npy: ", path,
                 " has no 'descr' in its header");
  const std::string descr = m[1];
  const DType* dtype = nullptr;
  for (const auto& d : kTypes)
    if (descr == d.descr) dtype = &d;
  MEMSCOPE_CHECK(dtype, "npy: ", path, " has dtype '", descr, "'; supported: <f4 <f8 <i8 |u1 |b1");
  MEMSCOPE_CHECK(std::regex_search(header, m, std::regex("'fortran_order'\\s*:\\s*(True|False)")), "npy: ",
                 path, " has no 'fortran_order' in its header");
  MEMSCOPE_CHECK(m[1] == "False", "npy: ", path, " is in Fortran order; save it in C order");
  MEMSCOPE_CHECK(std::regex_search(header, m, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)")), "npy: ", path,
                 " has no 'shape' in its header");
  std::vector<int64_t> shape;
  const std::string dims = m[1];
  const std::regex digits("\\d+");
  std::sregex_iterator it(dims.begin(), dims.end(), digits), end;
  uint64_t count = 1;
  for (; it != end; ++it) {
    MEMSCOPE_CHECK(it->str().size() <= 15, "npy: ", path, " declares an impossibly large shape");
    const int64_t d = std::stoll(it->str());
    shape.push_back(d);
    MEMSCOPE_CHECK(d == 0 || count <= (uint64_t(1) << 48) / uint64_t(d), "npy: ", path,
                   " declares an impossibly large shape");
    count *= uint64_t(d);
  }
  torch::Tensor t = torch::empty(shape, dtype->type);
  const size_t want = t.nbytes(), have = bytes.size() - offset - header_len;
  MEMSCOPE_CHECK(have == want, "npy: ", path, " should hold ", want, " bytes of data for shape ", t.sizes(),
                 " but holds ", have);
  if (want) std::memcpy(t.data_ptr(), bytes.data() + offset + header_len, want);
  return t;
}

}  // namespace memscope
