#pragma once
// Who owns the cores. LibTorch's intra-op pool and OpenBLAS's own threads oversubscribe the
// machine when both run T threads (measured: 2x slower on 2 cores), so one owner at a time:
// LibTorch for training (many small matmuls and element-wise passes), OpenBLAS for evaluation
// (few large matmuls).
namespace memscope {

enum class ThreadOwner { kTorch, kBlas };

/// Gives `threads` threads to owner and one to the other. OpenBLAS is driven through
/// openblas_set_num_threads when the process has it (other BLAS libraries are left alone).
void set_thread_owner(ThreadOwner owner, int threads);

/// Threads memscope's own kernels (models/kernels.h) may use: the count last given to
/// set_thread_owner (1 before any call).
int kernel_threads();

/// Threads to use for a --threads value (0: all cores).
int resolve_threads(int requested);

}  // namespace memscope
