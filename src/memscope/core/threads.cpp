#include "memscope/core/threads.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <thread>

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

int resolve_threads(int requested) {
  return requested > 0 ? requested : int(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace memscope
