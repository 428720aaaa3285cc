#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "memscope/core/threads.h"

namespace memscope {

namespace {

/// A flag one thread raises and others wait for.
class Signal {
 public:
  void raise() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      raised_ = true;
    }
    changed_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return raised_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool raised_ = false;
};

/// Raises a signal when the thread that holds it ends (thread_local objects are destroyed then).
struct RaiseAtThreadExit {
  Signal* signal = nullptr;
  ~RaiseAtThreadExit() {
    if (signal) signal->raise();
  }
};

/// Blocks until `parties` threads have called wait().
class Rendezvous {
 public:
  explicit Rendezvous(int parties) : parties_(parties) {}
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (++arrived_ == parties_) changed_.notify_all();
    changed_.wait(lock, [&] { return arrived_ >= parties_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int parties_, arrived_ = 0;
};

}  // namespace

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

  // The handshake below needs the two workers at once: tasks must not run one after another inline.
  std::atomic<bool> inline_tasks{false};
  parallel_tasks(2, [&](int64_t) {
    if (kernel_threads() != 1) inline_tasks = true;
  });
  ASSERT_FALSE(inline_tasks.load());

  // Tasks 0 and 1 meet, so each worker holds one of them. The one on a worker thread of its own
  // throws; the one on the caller's thread (if either is) returns only once the thrower's thread has
  // ended, i.e. after the failure stopped that worker. No other task may start after the failure:
  // exactly those two run, whatever the timing.
  const std::thread::id caller = std::this_thread::get_id();
  Rendezvous both_started(2);
  Signal thrower_ended;
  std::atomic<int> ran{0};
  EXPECT_THROW(parallel_tasks(100,
                              [&](int64_t i) {
                                ++ran;
                                if (i >= 2) return;
                                both_started.wait();
                                if (std::this_thread::get_id() == caller) {
                                  thrower_ended.wait();
                                  return;
                                }
                                thread_local RaiseAtThreadExit at_exit;
                                at_exit.signal = &thrower_ended;
                                throw std::runtime_error("task " + std::to_string(i));
                              }),
               std::runtime_error);
  EXPECT_EQ(ran.load(), 2);  // the others stop taking tasks
  EXPECT_EQ(kernel_threads(), 2);
  set_threads(1);
}

}  // namespace memscope
