/* abi_new_api.c: what NCCL 2.30 added (built against the 2.30 header only):
 * ncclCommGetUniqueId + ncclCommGrow from two ranks to three (a thread per
 * rank), suspend/resume and memory statistics of a host communicator, the
 * one-sided calls that need symmetric windows (ncclInvalidUsage on host
 * communicators), and the runtime parameters. */
#include "abi_checks.h"

#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 30, 0)
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OLD 2
#define NEW 3

typedef struct {
  ncclUniqueId id;   /* the initial communicator's */
  ncclUniqueId grow; /* made by rank 0 with ncclCommGetUniqueId */
  pthread_barrier_t made;
} abi_grow_t;

static const char* abi_grow_rank(int rank, void* arg) {
  abi_grow_t* g = (abi_grow_t*)arg;
  ncclComm_t comm = NULL, grown = NULL;
  int64_t mine = rank + 1, sum = 0;
  int count = 0, me = -1;
  const char* failed = NULL;
  if (rank < OLD) {
    ncclResult_t r = ncclCommInitRank(&comm, OLD, g->id, rank);
    if (r == ncclSuccess && rank == 0) r = ncclCommGetUniqueId(comm, &g->grow);
    if (r != ncclSuccess)
      failed = abi_failf("init or ncclCommGetUniqueId: %s", ncclGetLastError(NULL));
  }
  pthread_barrier_wait(&g->made); /* every rank passes it, so none waits forever */
  ABI_CHECK(failed);
  if (rank < OLD)
    ABI_OK(ncclCommGrow(comm, NEW, rank == 0 ? &g->grow : NULL, -1, &grown, NULL));
  else
    ABI_OK(ncclCommGrow(NULL, NEW, &g->grow, rank, &grown, NULL));
  ABI_OK(ncclCommCount(grown, &count));
  ABI_OK(ncclCommUserRank(grown, &me));
  ABI_EXPECT(count == NEW && me == rank);
  ABI_OK(ncclAllReduce(&mine, &sum, 1, ncclInt64, ncclSum, grown, NULL));
  ABI_EXPECT(sum == 1 + 2 + 3);
  ABI_OK(ncclCommDestroy(grown));
  if (comm) ABI_OK(ncclCommDestroy(comm));
  return NULL;
}

static const char* abi_grow(void) {
  abi_grow_t g;
  const char* result;
  ABI_OK(ncclGetUniqueId(&g.id));
  pthread_barrier_init(&g.made, NULL, NEW);
  result = abi_thread_ranks(NEW, abi_grow_rank, &g);
  pthread_barrier_destroy(&g.made);
  return result ? abi_failf("grow: %s", result) : NULL;
}

/* Suspended, a host communicator refuses calls; it holds no GPU memory. */
static const char* abi_suspend(ncclComm_t comm) {
  uint64_t value = 7;
  int count = 0;
  ABI_OK(ncclCommMemStats(comm, ncclStatGpuMemTotal, &value));
  ABI_EXPECT(value == 0);
  ABI_OK(ncclCommSuspend(comm, NCCL_SUSPEND_MEM));
  ABI_OK(ncclCommMemStats(comm, ncclStatGpuMemSuspended, &value));
  ABI_EXPECT(value == 1);
  ABI_FAILS(ncclInvalidUsage, "ncclCommSuspend", ncclCommSuspend(comm, NCCL_SUSPEND_MEM));
  ABI_OK(ncclCommResume(comm));
  ABI_OK(ncclCommMemStats(comm, ncclStatGpuMemSuspended, &value));
  ABI_EXPECT(value == 0);
  ABI_OK(ncclCommCount(comm, &count));
  ABI_EXPECT(count == 1);
  return NULL;
}

/* Windows do not exist on host communicators: each call says so. */
static const char* abi_one_sided(ncclComm_t comm) {
  ncclWaitSignalDesc_t desc = {1, 0, 0, 0};
  float x = 1;
  void* ptr = NULL;
  ABI_FAILS(ncclInvalidUsage, "ncclWinGetUserPtr", ncclWinGetUserPtr(comm, NULL, &ptr));
  ABI_FAILS(ncclInvalidUsage, "ncclPutSignal",
            ncclPutSignal(&x, 1, ncclFloat32, 0, NULL, 0, 0, 0, 0, comm, NULL));
  ABI_FAILS(ncclInvalidUsage, "ncclSignal", ncclSignal(0, 0, 0, 0, comm, NULL));
  ABI_FAILS(ncclInvalidUsage, "ncclWaitSignal", ncclWaitSignal(1, &desc, comm, NULL));
  return NULL;
}

/* Every key has a value; a parameter set in the environment reads back as
 * its text and as an integer of every width it fits, and fails in those it
 * does not. */
static const char* abi_params(void) {
  const char** keys = NULL;
  const char *value = NULL, *str = NULL;
  ncclParamHandle_t h = NULL;
  int n = 0, len = 0, k, listed = 0;
  int64_t i64 = 0;
  uint64_t u64 = 0;
  int32_t i32 = 0;
  uint32_t u32 = 0;
  int16_t i16 = 0;
  uint16_t u16 = 0;
  int8_t i8 = 0;
  uint8_t u8 = 0;
  char raw[64];
  ABI_EXPECT(setenv("NCCL_BUFFSIZE", "1048576", 1) == 0);
  ABI_OK(ncclParamGetAllParameterKeys(&keys, &n));
  ABI_EXPECT(n > 0 && keys != NULL);
  for (k = 0; k < n; ++k) {
    ABI_OK(ncclParamGetParameter(keys[k], &value, &len));
    ABI_EXPECT(value != NULL && len == (int)strlen(value));
    listed += strcmp(keys[k], "NCCL_BUFFSIZE") == 0;
  }
  ABI_EXPECT(listed == 1);
  ABI_OK(ncclParamGetParameter("NCCL_BUFFSIZE", &value, &len));
  ABI_EXPECT(strcmp(value, "1048576") == 0 && len == 7);
  ABI_OK(ncclParamBind(&h, "NCCL_BUFFSIZE"));
  ABI_OK(ncclParamGetStr(h, &str));
  ABI_EXPECT(strcmp(str, "1048576") == 0);
  ABI_OK(ncclParamGet(h, raw, (int)sizeof raw, &len));
  ABI_EXPECT(len == 8 && memcmp(raw, "1048576", 8) == 0);
  ABI_OK(ncclParamGetI64(h, &i64));
  ABI_OK(ncclParamGetU64(h, &u64));
  ABI_OK(ncclParamGetI32(h, &i32));
  ABI_OK(ncclParamGetU32(h, &u32));
  ABI_EXPECT(i64 == 1048576 && u64 == 1048576 && i32 == 1048576 && u32 == 1048576);
  ABI_FAILS(ncclInvalidArgument, "ncclParamGetI16", ncclParamGetI16(h, &i16));
  ABI_FAILS(ncclInvalidArgument, "ncclParamGetU16", ncclParamGetU16(h, &u16));
  ABI_FAILS(ncclInvalidArgument, "ncclParamGetI8", ncclParamGetI8(h, &i8));
  ABI_FAILS(ncclInvalidArgument, "ncclParamGetU8", ncclParamGetU8(h, &u8));
  ABI_FAILS(ncclInvalidArgument, "ncclParamBind", ncclParamBind(&h, "NCCL_NO_SUCH_PARAMETER"));
  ncclParamDumpAll();
  return NULL;
}

const char* abi_check_new_api(void) {
  ncclComm_t comm;
  ABI_CHECK(abi_grow());
  ABI_OK(ncclCommInitAll(&comm, 1, NULL));
  ABI_CHECK(abi_suspend(comm));
  ABI_CHECK(abi_one_sided(comm));
  ABI_OK(ncclCommDestroy(comm));
  return abi_params();
}

#undef NEW
#undef OLD
#endif
