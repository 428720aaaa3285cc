#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "memscope/core/threads.h"

namespace memscope {

TEST(Threads, ParallelTasksRunsEveryTaskOnceWithOneThreadKernelsInside) {
  set_threads(3);
  std::vector<std::atomic<int>> runs(50);
  std::atomic<int> inner_threads_max{0};
  parallel_tasks(50, [&](int64_t i) {
    ++runs[i];
    inner_threads_max = std::max(inner_threads_max.load(), kernel_threads());
    // A nested split runs inline, in one part.
    int parts = 0;
    parallel_range(1000, 1, [&](int64_t b, int64_t e) {
      ++parts;
      EXPECT_EQ(b, 0);
      EXPECT_EQ(e, 1000);
    });
    EXPECT_EQ(parts, 1);
  });
  for (auto& r : runs) EXPECT_EQ(r.load(), 1);
  EXPECT_EQ(inner_threads_max.load(), 1);
  EXPECT_EQ(kernel_threads(), 3);  // restored for the caller
  set_threads(1);
}

TEST(Threads, ParallelTasksCarriesTheGradModeAndRethrows) {
  set_threads(2);
  torch::Tensor w = torch::ones({2}, torch::requires_grad());
  std::atomic<int> recorded{0};
  {
    torch::NoGradGuard no_grad;
    parallel_tasks(8, [&](int64_t) { recorded += (w * 2).requires_grad(); });
  }
  EXPECT_EQ(recorded.load(), 0);
  parallel_tasks(8, [&](int64_t) { recorded += (w * 2).requires_grad(); });
  EXPECT_EQ(recorded.load(), 8);

  std::atomic<int> ran{0};
  EXPECT_THROW(parallel_tasks(100,
                              [&](int64_t i) {
                                ++ran;
                                if (i == 3) throw std::runtime_error("task 3");
                                std::this_thread::sleep_for(std::chrono::milliseconds(2));
                              }),
               std::runtime_error);
  EXPECT_LT(ran.load(), 10);  // the others stop taking tasks
  EXPECT_EQ(kernel_threads(), 2);
  set_threads(1);
}

}  // namespace memscope
