#include "memscope/core/threads.h"

#include "memscope/core/cluster.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include <ATen/Parallel.h>

namespace memscope {

namespace {

using SetThreads = void (*)(int);

SetThreads openblas_setter() {
  static SetThreads fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  return fn;
}

std::atomic<int> g_kernel_threads{1};

}  // namespace

int kernel_threads() { return g_kernel_threads.load(); }

void set_threads(int threads) {
  if (SetThreads set = openblas_setter()) {
    set(threads);
    at::set_num_threads(1);
  } else {
    at::set_num_threads(threads);
  }
  g_kernel_threads = threads;
}

void parallel_range(int64_t n, int64_t min_part, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(kernel_threads(), n / std::max<int64_t>(1, min_part)));
  const int64_t per = (n + parts - 1) / parts;
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < parts; ++t) {
    const int64_t b = std::min(n, t * per), e = std::min(n, b + per);
    pool.emplace_back([=, &fn] { fn(b, e); });
  }
  fn(0, std::min(n, per));
  for (auto& th : pool) th.join();
}

int resolve_threads(int requested) {
  // MPI ranks on one machine split its cores.
  return requested > 0 ? requested
                       : std::max(1, int(std::thread::hardware_concurrency()) / std::max(1, cluster::local_size()));
}

}  // namespace memscope
