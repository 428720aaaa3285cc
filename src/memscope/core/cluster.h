#pragma once
// The processes of one run: a single process, or the ranks of an MPI job started by mpirun (when
// memscope is built with MPI). Ranks share a run directory and hand out its jobs through one
// atomic counter held by rank 0, so a fast rank takes more jobs; everything a rank produces goes
// to the run directory, as with a single process.
#include <cstdint>

namespace memscope::cluster {

/// Joins the MPI job when this process was started by an MPI launcher (and memscope has MPI);
/// otherwise this process is rank 0 of 1. Call once, first thing in main.
void init(int* argc, char*** argv);
/// Leaves the MPI job (no-op without one). abort ends every rank, for an error on one of them.
void finalize();
[[noreturn]] void abort(int code);

int rank();
int size();
/// Ranks on this machine (their threads share its cores).
int local_size();
/// Waits for every rank.
void barrier();

/// A counter shared by every rank, starting at 0. Collective: every rank constructs and destroys
/// it at the same point of the program.
class Counter {
 public:
  Counter();
  ~Counter();
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;
  /// Returns the counter's value and adds 1 to it, atomically across ranks.
  int64_t next();

 private:
  int64_t local_ = 0;  // a single process's counter
  void* win_ = nullptr;
};

}  // namespace memscope::cluster
