/* abi_faults.c: ncclCommAbort from another thread ends a collective whose
 * peer never joins; after a rank dies of SIGKILL, the survivors see an
 * error, and ncclCommShrink (NCCL_SHRINK_ABORT) without the dead rank gives
 * a communicator whose allreduce is correct. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "abi_checks.h"

typedef struct {
  ncclComm_t comm;
  int entered, done; /* set by the blocked thread (__atomic) */
  ncclResult_t result;
  char text[ABI_TEXT];
} abi_blocked_t;

static void* abi_blocked_main(void* arg) {
  abi_blocked_t* b = (abi_blocked_t*)arg;
  float x = 1, y = 0;
  __atomic_store_n(&b->entered, 1, __ATOMIC_SEQ_CST);
  b->result = ncclAllReduce(&x, &y, 1, ncclFloat32, ncclSum, b->comm, NULL);
  abi_keep(b->text, ncclGetLastError(NULL));
  __atomic_store_n(&b->done, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

const char* abi_check_abort(void) {
  static abi_blocked_t b;
  ncclComm_t comms[2];
  pthread_t thread;
  int polls = 0;
  ABI_OK(ncclCommInitAll(comms, 2, NULL));
  b.comm = comms[0]; /* rank 0 allreduces; rank 1 never does */
  ABI_EXPECT(pthread_create(&thread, NULL, abi_blocked_main, &b) == 0);
  while (!__atomic_load_n(&b.entered, __ATOMIC_SEQ_CST) && polls++ < ABI_POLLS) usleep(1000);
  usleep(200 * 1000); /* time to get into the call's wait; not a measurement */
  if (__atomic_load_n(&b.done, __ATOMIC_SEQ_CST))
    return abi_failf("the allreduce returned %d without its peer: %s", (int)b.result, b.text);
  ABI_OK(ncclCommAbort(comms[0]));
  pthread_join(thread, NULL);
  if (b.result == ncclSuccess || !b.text[0])
    return abi_failf("the aborted allreduce returned %d, last error \"%s\"", (int)b.result, b.text);
  ABI_OK(ncclCommAbort(comms[1]));
  return NULL;
}

#define SHRINK_N 4
#define SHRINK_DEAD 3

/* Every rank: init and one allreduce. The survivors then tell the dead rank
 * (a pipe), which kills itself; their next allreduce must fail, and a
 * communicator shrunk without it must work. */
static const char* abi_shrink_rank(int rank, void* arg) {
  const int* fds = (const int*)((void**)arg)[1];
  ncclUniqueId* id = (ncclUniqueId*)((void**)arg)[0];
  int excluded[1] = {SHRINK_DEAD};
  ncclComm_t comm = NULL, small = NULL;
  ncclResult_t r, async = ncclSuccess;
  int64_t mine = rank + 1, sum = 0;
  int count = 0, me = -1;
  char byte = 1;
  ABI_OK(ncclCommInitRank(&comm, SHRINK_N, *id, rank));
  ABI_OK(ncclAllReduce(&mine, &sum, 1, ncclInt64, ncclSum, comm, NULL));
  ABI_EXPECT(sum == 10);
  if (rank == SHRINK_DEAD) {
    int got = 0;
    while (got < SHRINK_N - 1 && read(fds[0], &byte, 1) == 1) ++got;
    raise(SIGKILL);
  }
  ABI_EXPECT(write(fds[1], &byte, 1) == 1);
  r = ncclAllReduce(&mine, &sum, 1, ncclInt64, ncclSum, comm, NULL);
  if (r == ncclSuccess)
    return abi_failf("the allreduce with a dead rank succeeded (%ld)", (long)sum);
  ABI_OK(ncclCommGetAsyncError(comm, &async));
  ABI_EXPECT(async != ncclSuccess && async != ncclInProgress);
  ABI_OK(ncclCommShrink(comm, excluded, 1, &small, NULL, NCCL_SHRINK_ABORT));
  ABI_OK(ncclCommCount(small, &count));
  ABI_OK(ncclCommUserRank(small, &me));
  ABI_EXPECT(count == SHRINK_N - 1 && me == rank);
  ABI_OK(ncclAllReduce(&mine, &sum, 1, ncclInt64, ncclSum, small, NULL));
  ABI_EXPECT(sum == 1 + 2 + 3);
  ABI_OK(ncclCommDestroy(small));
  ABI_OK(ncclCommAbort(comm));
  return NULL;
}

const char* abi_check_shrink(void) {
  ncclUniqueId id;
  int fds[2];
  void* arg[2];
  const char* result;
  ABI_OK(ncclGetUniqueId(&id));
  ABI_EXPECT(pipe(fds) == 0);
  arg[0] = &id;
  arg[1] = fds;
  result = abi_fork_ranks(SHRINK_N, abi_shrink_rank, arg, SHRINK_DEAD);
  close(fds[0]);
  close(fds[1]);
  return result;
}

#undef SHRINK_DEAD
#undef SHRINK_N
