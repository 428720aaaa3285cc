// libFuzzer target: NPY files (--data npy:FILE, and every .npy of a run directory read back).
#include "fuzz_input.h"
#include "memscope/core/error.h"
#include "memscope/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    memscope::read_npy(memscope::fuzz::input_file(data, size, "npy"));
  } catch (const memscope::Error&) {
  }
  return 0;
}
