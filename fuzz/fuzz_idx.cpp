// libFuzzer target: IDX images and labels (plain or gzip), as --data idx:IMAGES:LABELS reads them.
#include "fuzz_input.h"
#include "memscope/core/error.h"
#include "memscope/data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = memscope::fuzz::input_file(data, size, "idx");
  try {
    memscope::read_idx_images(path);
  } catch (const memscope::Error&) {
  }
  try {
    memscope::read_idx_labels(path);
  } catch (const memscope::Error&) {
  }
  return 0;
}
