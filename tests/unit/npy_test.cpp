#include "memscope/io/npy.h"

#include <gtest/gtest.h>

#include "memscope/core/error.h"
#include "memscope/io/atomic.h"
#include "test_util.h"

#include <unistd.h>
#include <filesystem>

using namespace memscope;

TEST(Npy, RoundTripsEveryType) {
  const std::string dir = test::scratch_dir();
  std::vector<torch::Tensor> ts = {torch::randn({3, 4, 5}),
                                   torch::randn({7}, torch::kFloat64),
                                   torch::arange(6, torch::kInt64).view({2, 3}),
                                   torch::rand({4, 2}) > 0.5,
                                   torch::tensor({1, 2, 255}, torch::kUInt8),
                                   torch::zeros({0, 3})};
  for (size_t i = 0; i < ts.size(); ++i) {
    const std::string p = dir + "/t" + std::to_string(i) + ".npy";
    write_npy(p, ts[i]);
    torch::Tensor back = read_npy(p);
    EXPECT_EQ(back.scalar_type(), ts[i].scalar_type());
    EXPECT_TRUE(torch::equal(back, ts[i])) << i;
  }
  // The header is what numpy expects: magic, version 1.0, 64-byte aligned, C order.
  const std::string bytes = read_file(dir + "/t0.npy");
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header_end = 10 + (uint8_t(bytes[8]) | (uint8_t(bytes[9]) << 8));
  EXPECT_EQ(header_end % 64, 0u);
  EXPECT_NE(bytes.find("'shape': (3, 4, 5)"), std::string::npos);
  EXPECT_NE(read_file(dir + "/t1.npy").find("'shape': (7,)"), std::string::npos);
}

TEST(Npy, RejectsBrokenFiles) {
  const std::string dir = test::scratch_dir();
  write_npy(dir + "/ok.npy", torch::ones({4, 4}));
  std::string bytes = read_file(dir + "/ok.npy");
  write_atomic(dir + "/trunc.npy", bytes.substr(0, bytes.size() - 3));
  EXPECT_THROW(read_npy(dir + "/trunc.npy"), Error);
  write_atomic(dir + "/magic.npy", "NOTNUMPY" + bytes.substr(8));
  EXPECT_THROW(read_npy(dir + "/magic.npy"), Error);
  std::string complex = bytes;
  complex.replace(complex.find("<f4"), 3, "<c8");
  write_atomic(dir + "/complex.npy", complex);
  EXPECT_THROW(read_npy(dir + "/complex.npy"), Error);
  EXPECT_THROW(read_npy(dir + "/missing.npy"), Error);
}

TEST(Atomic, FailsCleanlyOnAnUnwritableDirectory) { EXPECT_THROW(write_atomic("/nonexistent-dir/x.txt", "hi"), Error); }

TEST(Atomic, StaleTemporariesOfDeadProcessesAreRemoved) {
  const std::string dir = test::scratch_dir();
  std::filesystem::create_directories(dir + "/jobs/job-00001");
  write_atomic(dir + "/jobs/job-00001/.logp.npy.tmp.999999999.3", "half");  // no such process
  const std::string mine = dir + "/.scores.csv.tmp." + std::to_string(::getpid()) + ".1";
  write_atomic(mine, "in flight");
  write_atomic(dir + "/keep.txt", "x");
  EXPECT_EQ(remove_stale_temporaries(dir), 1);
  EXPECT_TRUE(std::filesystem::exists(mine));
  EXPECT_TRUE(std::filesystem::exists(dir + "/keep.txt"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/jobs/job-00001/.logp.npy.tmp.999999999.3"));
}

namespace {
std::string npy_with_header(const std::string& dict, const std::string& data) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  return std::string("\x93NUMPY\x01\x00", 8) + char(h.size() & 0xff) + char(h.size() >> 8) + h + data;
}
}  // namespace

// numpy saves a transposed array (np.save(f, keep.T)) in Fortran order: it reads back as the same array.
TEST(Npy, FortranOrderReadsBackInCOrder) {
  const std::string dir = test::scratch_dir();
  const torch::Tensor a = torch::arange(6, torch::kFloat64).reshape({2, 3});
  const torch::Tensor column_major = a.t().contiguous();  // the bytes of a in Fortran order: 0 3 1 4 2 5
  write_atomic(dir + "/f.npy", npy_with_header("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
                                               std::string(static_cast<const char*>(column_major.data_ptr()), 48)));
  const torch::Tensor back = read_npy(dir + "/f.npy");
  EXPECT_TRUE(back.is_contiguous());
  EXPECT_TRUE(torch::equal(back, a));
}

// Found while writing fuzz/fuzz_npy: a header declaring a shape of up to 2^48 elements in a tiny
// file made read_npy allocate the whole tensor (up to 2 PiB) before comparing sizes: a c10::Error
// from the allocator, or an out-of-memory kill when the size could be had, not a memscope::Error.
TEST(Npy, HugeShapeInATinyFileIsAnErrorNotAnAllocation) {
  const std::string dir = test::scratch_dir();
  write_atomic(dir + "/huge.npy",
               npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (16777216, 16777216), }",
                               std::string(16, '\0')));
  try {
    read_npy(dir + "/huge.npy");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("should hold 2251799813685248 bytes"), std::string::npos) << e.what();
  }
}

// Found while writing fuzz/fuzz_npy: the header was matched with std::regex, whose recursive
// matcher overflows the stack on a long header (a 60,000-character descr: SIGSEGV with GCC 12's
// libstdc++, reproduced standalone). Now a linear scanner. Also: "(-2,)" was read as (2,).
TEST(Npy, LongHeadersAndOddShapesAreErrors) {
  const std::string dir = test::scratch_dir();
  const std::string long_descr =
      "{'descr': '" + std::string(60000, 'x') + "', 'fortran_order': False, 'shape': (2,), }";
  write_atomic(dir + "/long.npy", npy_with_header(long_descr, std::string(16, '\0')));
  EXPECT_THROW(read_npy(dir + "/long.npy"), Error);
  const std::string long_shape =
      "{'descr': '<f8', 'fortran_order': False, 'shape': (" + std::string(60000, ' ') + "2,), }";
  write_atomic(dir + "/longshape.npy", npy_with_header(long_shape, std::string(16, '\0')));
  EXPECT_EQ(read_npy(dir + "/longshape.npy").sizes(), torch::IntArrayRef({2}));
  for (const char* shape : {"(-2,)", "(2, x)", "2", "(2,"}) {
    write_atomic(dir + "/bad.npy",
                 npy_with_header(str("{'descr': '<f8', 'fortran_order': False, 'shape': ", shape, ", }"),
                                 std::string(16, '\0')));
    EXPECT_THROW(read_npy(dir + "/bad.npy"), Error) << shape;
  }
  write_atomic(dir + "/scalar.npy",
               npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", std::string(8, '\0')));
  EXPECT_EQ(read_npy(dir + "/scalar.npy").dim(), 0);
}

// Found by tests/e2e/faults_test.sh (full disk): a failure inside fill (LibTorch's serializer) or
// a stream gone bad escaped as a foreign exception or a message without the file; now one
// memscope::Error naming the file, and no temporary file is left behind.
TEST(Atomic, AFailingFillIsAnErrorNamingTheFileAndLeavesNoTemporary) {
  const std::string dir = test::scratch_dir();
  try {
    write_atomic(dir + "/model.pt", [](std::ostream& os) {
      os << "partial";
      throw std::runtime_error("serializer failed\nsecond line");
    });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot write " + dir + "/model.pt: serializer failed");
  }
  try {
    write_atomic(dir + "/bad.bin", [](std::ostream& os) { os.setstate(std::ios::badbit); });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write " + dir + "/bad.bin: "), std::string::npos) << e.what();
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}
