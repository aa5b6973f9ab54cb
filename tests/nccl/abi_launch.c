/* abi_launch.c: the ways NCCL programs make communicators, each followed by
 * collectives checked exactly: a thread per rank (ncclGetUniqueId +
 * ncclCommInitRank, and ncclCommInitRankScalable with two ids), a process per
 * rank (fork, the id made before it), non-blocking init (the id passed
 * through pipes), and ncclCommSplit. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "abi_checks.h"

#define N 4

/* Runs on an initialized communicator of n ranks: allreduce, broadcast and
 * allgather of rank-dependent values, then finalize and destroy. */
static const char* abi_exercise(ncclComm_t comm, int rank, int n) {
  int64_t mine = rank + 1, sum = 0, root = rank == n - 1 ? 42 : -1, all[64];
  int count = 0, me = -1, q;
  ABI_OK(ncclCommCount(comm, &count));
  ABI_OK(ncclCommUserRank(comm, &me));
  ABI_EXPECT(count == n && me == rank);
  ABI_OK(ncclAllReduce(&mine, &sum, 1, ncclInt64, ncclSum, comm, NULL));
  ABI_EXPECT(sum == (int64_t)n * (n + 1) / 2);
  ABI_OK(ncclBroadcast(&root, &root, 1, ncclInt64, n - 1, comm, NULL));
  ABI_EXPECT(root == 42);
  ABI_OK(ncclAllGather(&mine, all, 1, ncclInt64, comm, NULL));
  for (q = 0; q < n; ++q) ABI_EXPECT(all[q] == q + 1);
  ABI_OK(ncclCommFinalize(comm));
  ABI_OK(ncclCommDestroy(comm));
  return NULL;
}

typedef struct {
  int scalable; /* ncclCommInitRankScalable over ids[0..1], else ncclCommInitRank on ids[0] */
  ncclUniqueId ids[2];
} abi_thread_init_t;

static const char* abi_thread_rank(int rank, void* arg) {
  const abi_thread_init_t* init = (const abi_thread_init_t*)arg;
  ncclUniqueId ids[2];
  ncclComm_t comm = NULL;
  memcpy(ids, init->ids, sizeof ids);
  if (init->scalable)
    ABI_OK(ncclCommInitRankScalable(&comm, N, rank, 2, ids, NULL));
  else
    ABI_OK(ncclCommInitRank(&comm, N, ids[0], rank));
  return abi_exercise(comm, rank, N);
}

const char* abi_check_threads(void) {
  abi_thread_init_t init;
  for (init.scalable = 0; init.scalable < 2; ++init.scalable) {
    const char* result;
    ABI_OK(ncclGetUniqueId(&init.ids[0]));
    ABI_OK(ncclGetUniqueId(&init.ids[1]));
    ABI_EXPECT(memcmp(&init.ids[0], &init.ids[1], sizeof init.ids[0]) != 0);
    result = abi_thread_ranks(N, abi_thread_rank, &init);
    if (result)
      return abi_failf("%s: %s", init.scalable ? "ncclCommInitRankScalable" : "ncclCommInitRank",
                       result);
  }
  return NULL;
}

static const char* abi_process_rank(int rank, void* arg) {
  ncclComm_t comm = NULL;
  ABI_OK(ncclCommInitRank(&comm, N, *(ncclUniqueId*)arg, rank));
  return abi_exercise(comm, rank, N);
}

const char* abi_check_processes(void) {
  ncclUniqueId id; /* made here, before the fork: the ranks all inherit it */
  ABI_OK(ncclGetUniqueId(&id));
  return abi_fork_ranks(N, abi_process_rank, &id, -1);
}

/* Rank 0 makes the id and writes it to the others' pipes. Every rank's
 * init, collective, split and finalize is non-blocking, polled to the end. */
static const char* abi_nonblocking_rank(int rank, void* arg) {
  int(*pipes)[2] = (int(*)[2])arg;
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  ncclComm_t comm = NULL, half = NULL;
  ncclUniqueId id;
  int64_t mine = rank + 1, sum = 0;
  ncclResult_t r;
  int q;
  if (rank == 0) {
    ABI_OK(ncclGetUniqueId(&id));
    for (q = 1; q < N; ++q) ABI_EXPECT(write(pipes[q][1], &id, sizeof id) == sizeof id);
  } else {
    ABI_EXPECT(read(pipes[rank][0], &id, sizeof id) == sizeof id);
  }
  config.blocking = 0;
  config.commName = "abi-nonblocking";
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 30, 0)
  config.maxP2pPeers = N;
#endif
  r = ncclCommInitRankConfig(&comm, N, id, rank, &config); /* sets comm: settle after */
  ABI_CHECK(abi_settle(comm, r, "init"));
  ABI_CHECK(
      abi_settle(comm, ncclAllReduce(&mine, &sum, 1, ncclInt64, ncclSum, comm, NULL), "allreduce"));
  ABI_EXPECT(sum == N * (N + 1) / 2);
  r = ncclCommSplit(comm, rank % 2, rank, &half, NULL);
  ABI_CHECK(abi_settle(half, r, "split"));
  ABI_CHECK(abi_settle(half, ncclAllReduce(&mine, &sum, 1, ncclInt64, ncclSum, half, NULL),
                       "allreduce on the split"));
  ABI_EXPECT(sum == (rank % 2 ? 2 + 4 : 1 + 3));
  ABI_CHECK(abi_settle(half, ncclCommFinalize(half), "finalize"));
  ABI_OK(ncclCommDestroy(half));
  ABI_CHECK(abi_settle(comm, ncclCommFinalize(comm), "finalize"));
  ABI_OK(ncclCommDestroy(comm));
  return NULL;
}

const char* abi_check_nonblocking(void) {
  int pipes[N][2], r;
  const char* result;
  for (r = 0; r < N; ++r) ABI_EXPECT(pipe(pipes[r]) == 0);
  result = abi_fork_ranks(N, abi_nonblocking_rank, pipes, -1);
  for (r = 0; r < N; ++r) close(pipes[r][0]), close(pipes[r][1]);
  return result;
}

/* ncclCommSplit of ncclCommInitAll's ranks, a thread per rank (one thread
 * splitting all of them in a group: nccl_lifecycle_test): by parity with the order reversed
 * (key -rank), and rank 0 alone with every other rank NCCL_SPLIT_NOCOLOR (a
 * NULL communicator). */
typedef struct {
  ncclComm_t comm, half, alone;
} abi_split_rank_t;

static const char* abi_split_rank(int rank, void* arg) {
  abi_split_rank_t* t = (abi_split_rank_t*)arg + rank;
  ABI_OK(ncclCommSplit(t->comm, rank % 2, -rank, &t->half, NULL));
  ABI_OK(ncclCommSplit(t->comm, rank == 0 ? 0 : NCCL_SPLIT_NOCOLOR, 0, &t->alone, NULL));
  return NULL;
}

const char* abi_check_split(void) {
  abi_split_rank_t ranks[N];
  ncclComm_t comms[N];
  int r, count, rank, sums[N], ones[N];
  ABI_OK(ncclCommInitAll(comms, N, NULL));
  for (r = 0; r < N; ++r) ranks[r].comm = comms[r];
  ABI_CHECK(abi_thread_ranks(N, abi_split_rank, ranks));
  for (r = 0; r < N; ++r) {
    ABI_OK(ncclCommCount(ranks[r].half, &count));
    ABI_OK(ncclCommUserRank(ranks[r].half, &rank));
    ABI_EXPECT(count == N / 2 && rank == (N - 1 - r) / 2);
    ABI_EXPECT(r == 0 ? ranks[r].alone != NULL : ranks[r].alone == NULL);
  }
  ABI_OK(ncclGroupStart());
  for (r = 0; r < N; ++r) {
    ones[r] = 10 * r;
    ABI_OK(ncclAllReduce(&ones[r], &sums[r], 1, ncclInt32, ncclSum, ranks[r].half, NULL));
  }
  ABI_OK(ncclGroupEnd());
  for (r = 0; r < N; ++r) ABI_EXPECT(sums[r] == (r % 2 ? 10 + 30 : 0 + 20));
  ABI_OK(ncclAllReduce(&ones[0], &sums[0], 1, ncclInt32, ncclSum, ranks[0].alone, NULL));
  ABI_EXPECT(sums[0] == 0);
  ABI_OK(ncclCommDestroy(ranks[0].alone));
  for (r = 0; r < N; ++r) ABI_OK(ncclCommDestroy(ranks[r].half));
  for (r = 0; r < N; ++r) ABI_OK(ncclCommDestroy(comms[r]));
  return NULL;
}

#undef N
