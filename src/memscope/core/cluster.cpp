#include "memscope/core/cluster.h"

#include <cstdlib>
#include <initializer_list>

#ifdef MEMSCOPE_WITH_MPI
#include <mpi.h>
#endif

namespace memscope::cluster {

namespace {

int g_rank = 0, g_size = 1, g_local = 1;
bool g_mpi = false;

/// True when an MPI launcher (Open MPI's mpirun, MPICH's hydra, Slurm's srun with PMI) started us.
[[maybe_unused]] bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

}  // namespace

void init([[maybe_unused]] int* argc, [[maybe_unused]] char*** argv) {
#ifdef MEMSCOPE_WITH_MPI
  if (!launched_by_mpi()) return;
  MPI_Init(argc, argv);
  g_mpi = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &g_local);
  MPI_Comm_free(&node);
#endif
}

void finalize() {
#ifdef MEMSCOPE_WITH_MPI
  if (g_mpi) MPI_Finalize();
  g_mpi = false;
#endif
}

void abort(int code) {
#ifdef MEMSCOPE_WITH_MPI
  if (g_mpi) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

int rank() { return g_rank; }
int size() { return g_size; }
int local_size() { return g_local; }

void barrier() {
#ifdef MEMSCOPE_WITH_MPI
  if (g_mpi) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

Counter::Counter() {
#ifdef MEMSCOPE_WITH_MPI
  if (!g_mpi) return;
  int64_t* base = nullptr;
  MPI_Win win;
  MPI_Win_allocate(g_rank == 0 ? sizeof(int64_t) : 0, sizeof(int64_t), MPI_INFO_NULL, MPI_COMM_WORLD, &base, &win);
  if (g_rank == 0) {
    const int64_t zero = 0;
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win);
    MPI_Put(&zero, 1, MPI_INT64_T, 0, 0, 1, MPI_INT64_T, win);
    MPI_Win_unlock(0, win);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  win_ = new MPI_Win(win);
#endif
}

Counter::~Counter() {
#ifdef MEMSCOPE_WITH_MPI
  if (!win_) return;
  MPI_Win* win = static_cast<MPI_Win*>(win_);
  MPI_Win_free(win);
  delete win;
#endif
}

int64_t Counter::next() {
#ifdef MEMSCOPE_WITH_MPI
  if (win_) {
    const int64_t one = 1;
    int64_t value = 0;
    MPI_Win win = *static_cast<MPI_Win*>(win_);
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win);
    MPI_Fetch_and_op(&one, &value, MPI_INT64_T, 0, 0, MPI_SUM, win);
    MPI_Win_unlock(0, win);
    return value;
  }
#endif
  return local_++;
}

}  // namespace memscope::cluster
