#pragma once
// Who owns the cores (docs/operations.md, Threads). LibTorch's OpenMP pool and OpenBLAS's own threads
// oversubscribe the machine when both run T threads (measured: 2x slower on 2 cores), so LibTorch's
// pool gets one thread. Independent work (evaluation tiles, training lanes) runs T tasks at once,
// each on one core with one-thread OpenBLAS (parallel_tasks): OpenBLAS's idle workers spin in
// sched_yield between calls and steal the cores from the element-wise work in between (measured:
// 13% of all CPU time in the scheduler). Otherwise OpenBLAS gets the T threads for every matmul and
// memscope's own element-wise kernels (models/kernels.h) split their loops over T short-lived threads.
#include <cstdint>
#include <functional>

namespace memscope {

/// Applies the policy above for `threads` threads. Where the process has no OpenBLAS (another
/// LibTorch build, e.g. with MKL), LibTorch's pool gets the T threads instead.
void set_threads(int threads);

/// Threads memscope's own kernels may use: the count last given to set_threads (1 before).
int kernel_threads();

/// Runs fn(begin, end) over [0, n) split into at most kernel_threads() contiguous parts of at
/// least min_part items each, on short-lived threads (the caller runs the first part).
void parallel_range(int64_t n, int64_t min_part, const std::function<void(int64_t, int64_t)>& fn);

/// Runs task(i) for every i in [0, n) on kernel_threads() short-lived threads, each taking the
/// next index, with OpenBLAS and memscope's own kernels one thread each inside: T independent
/// single-threaded matmul chains, for work that splits into independent tasks (evaluation tiles).
/// The caller's grad mode carries over; the first exception thrown by a task is rethrown.
void parallel_tasks(int64_t n, const std::function<void(int64_t)>& task);

/// Threads to use for a --threads value (0: all cores).
int resolve_threads(int requested);

}  // namespace memscope
