// libFuzzer target: numeric CSV files (--data csv:FILE, score tables read back).
#include "fuzz_input.h"
#include "memscope/core/error.h"
#include "memscope/io/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    memscope::read_numeric_csv(memscope::fuzz::input_file(data, size, "csv"));
  } catch (const memscope::Error&) {
  }
  return 0;
}
