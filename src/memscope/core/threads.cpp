#include "memscope/core/threads.h"

#include "memscope/core/cluster.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

namespace memscope {

namespace {

using SetThreads = void (*)(int);

SetThreads openblas_setter() {
  static SetThreads fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  return fn;
}

std::atomic<int> g_kernel_threads{1};
thread_local bool t_in_task = false;  // inside parallel_tasks: everything runs on this one thread

}  // namespace

int kernel_threads() { return t_in_task ? 1 : g_kernel_threads.load(); }

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

void parallel_tasks(int64_t n, const std::function<void(int64_t)>& task) {
  const SetThreads set_blas = openblas_setter();
  const int threads = int(std::min<int64_t>(kernel_threads(), n));
  if (threads <= 1 || !set_blas) {  // without OpenBLAS, LibTorch's own pool splits each operation
    for (int64_t i = 0; i < n; ++i) task(i);
    return;
  }
  std::atomic<int64_t> next{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  const bool grad = c10::GradMode::is_enabled();
  auto worker = [&] {
    c10::AutoGradMode grad_mode(grad);
    t_in_task = true;
    for (int64_t i; (i = next++) < n;) {
      try {
        task(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = n;
      }
    }
    t_in_task = false;
  };
  set_blas(1);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  set_blas(g_kernel_threads.load());
  if (failure) std::rethrow_exception(failure);
}

int resolve_threads(int requested) {
  // MPI ranks on one machine split its cores.
  return requested > 0 ? requested
                       : std::max(1, int(std::thread::hardware_concurrency()) / std::max(1, cluster::local_size()));
}

}  // namespace memscope
