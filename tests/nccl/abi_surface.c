/* abi_surface.c: every function NVIDIA's nccl.h declares is called, here or
 * by another check. The library-wide ones, the queries and registration of a
 * host communicator, revoke, ncclGroupSimulateEnd; what host communicators
 * cannot do (symmetric memory windows) must be ncclInvalidUsage with a text
 * naming the function. Also every pnccl* profiling alias, which must exist
 * and behave as its nccl* function. */
#include <stdint.h>
#include <string.h>

#include "abi_checks.h"

typedef void (*abi_fn_t)(void);
/* Both names of every function the header declares: they must link. */
#define ABI_BOTH(name) \
  { #name, (abi_fn_t)name, (abi_fn_t)p##name }
static const struct {
  const char* name;
  abi_fn_t fn, pfn;
} abi_functions[] = {
    ABI_BOTH(ncclMemAlloc),
    ABI_BOTH(ncclMemFree),
    ABI_BOTH(ncclGetVersion),
    ABI_BOTH(ncclGetUniqueId),
    ABI_BOTH(ncclCommInitRankConfig),
    ABI_BOTH(ncclCommInitRank),
    ABI_BOTH(ncclCommInitAll),
    ABI_BOTH(ncclCommFinalize),
    ABI_BOTH(ncclCommDestroy),
    ABI_BOTH(ncclCommAbort),
    ABI_BOTH(ncclCommRevoke),
    ABI_BOTH(ncclCommSplit),
    ABI_BOTH(ncclCommShrink),
    ABI_BOTH(ncclCommInitRankScalable),
    ABI_BOTH(ncclGetErrorString),
    ABI_BOTH(ncclGetLastError),
    ABI_BOTH(ncclResetDebugInit),
    ABI_BOTH(ncclCommGetAsyncError),
    ABI_BOTH(ncclCommCount),
    ABI_BOTH(ncclCommCuDevice),
    ABI_BOTH(ncclCommUserRank),
    ABI_BOTH(ncclCommRegister),
    ABI_BOTH(ncclCommDeregister),
    ABI_BOTH(ncclCommWindowRegister),
    ABI_BOTH(ncclCommWindowDeregister),
    ABI_BOTH(ncclRedOpCreatePreMulSum),
    ABI_BOTH(ncclRedOpDestroy),
    ABI_BOTH(ncclReduce),
    ABI_BOTH(ncclBcast),
    ABI_BOTH(ncclBroadcast),
    ABI_BOTH(ncclAllReduce),
    ABI_BOTH(ncclReduceScatter),
    ABI_BOTH(ncclAllGather),
    ABI_BOTH(ncclAlltoAll),
    ABI_BOTH(ncclGather),
    ABI_BOTH(ncclScatter),
    ABI_BOTH(ncclSend),
    ABI_BOTH(ncclRecv),
    ABI_BOTH(ncclGroupStart),
    ABI_BOTH(ncclGroupEnd),
    ABI_BOTH(ncclGroupSimulateEnd),
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 30, 0)
    ABI_BOTH(ncclCommGetUniqueId),
    ABI_BOTH(ncclCommGrow),
    ABI_BOTH(ncclCommSuspend),
    ABI_BOTH(ncclCommResume),
    ABI_BOTH(ncclCommMemStats),
    ABI_BOTH(ncclWinGetUserPtr),
    ABI_BOTH(ncclPutSignal),
    ABI_BOTH(ncclSignal),
    ABI_BOTH(ncclWaitSignal),
    ABI_BOTH(ncclParamBind),
    ABI_BOTH(ncclParamGetI8),
    ABI_BOTH(ncclParamGetI16),
    ABI_BOTH(ncclParamGetI32),
    ABI_BOTH(ncclParamGetI64),
    ABI_BOTH(ncclParamGetU8),
    ABI_BOTH(ncclParamGetU16),
    ABI_BOTH(ncclParamGetU32),
    ABI_BOTH(ncclParamGetU64),
    ABI_BOTH(ncclParamGetStr),
    ABI_BOTH(ncclParamGet),
    ABI_BOTH(ncclParamGetParameter),
    ABI_BOTH(ncclParamGetAllParameterKeys),
    ABI_BOTH(ncclParamDumpAll),
#endif
};

/* Version, error strings, ids, last error, host memory, argument errors. */
const char* abi_check_library(void) {
  int version = 0, pversion = 0, r;
  size_t i;
  ncclUniqueId a, b;
  void* mem = NULL;
  for (i = 0; i < sizeof abi_functions / sizeof abi_functions[0]; ++i)
    if (!abi_functions[i].fn || !abi_functions[i].pfn)
      return abi_failf("%s: not both names resolved", abi_functions[i].name);
  ABI_OK(ncclGetVersion(&version));
  ABI_OK(pncclGetVersion(&pversion));
  ABI_EXPECT(version == pversion && version >= NCCL_VERSION(NCCL_MAJOR, NCCL_MINOR, 0));
  for (r = 0; r < (int)ncclNumResults; ++r) {
    const char* s = ncclGetErrorString((ncclResult_t)r);
    ABI_EXPECT(s && s[0]);
  }
  ABI_OK(ncclGetUniqueId(&a));
  ABI_OK(pncclGetUniqueId(&b));
  ABI_EXPECT(memcmp(&a, &b, sizeof a) != 0);
  ABI_EXPECT(ncclGetLastError(NULL) != NULL);
  ncclResetDebugInit();
  ABI_OK(ncclMemAlloc(&mem, 3000));
  ABI_EXPECT(mem != NULL);
  memset(mem, 7, 3000);
  ABI_OK(ncclMemFree(mem));
  ABI_FAILS(ncclInvalidArgument, "ncclCommCount", ncclCommCount(NULL, &r));
  ABI_FAILS(ncclInvalidArgument, "ncclGetUniqueId", ncclGetUniqueId(NULL));
  ABI_FAILS(ncclInvalidArgument, "ncclMemAlloc", ncclMemAlloc(NULL, 8));
  return NULL;
}

/* Queries, registration, windows and simulation on two host ranks. */
const char* abi_check_comm_surface(void) {
  ncclComm_t comms[2];
  ncclWindow_t win = NULL;
  ncclSimInfo_t sim = NCCL_SIM_INFO_INITIALIZER;
  ncclResult_t state = ncclInProgress;
  void *buf = NULL, *handle = NULL;
  float x[2] = {1, 2}, y[2] = {0, 0};
  int count = 0, rank = -1, device = 0, r;
  ABI_OK(ncclCommInitAll(comms, 2, NULL));
  ABI_OK(pncclCommCount(comms[1], &count));
  ABI_OK(ncclCommUserRank(comms[1], &rank));
  ABI_OK(ncclCommCuDevice(comms[1], &device));
  ABI_EXPECT(count == 2 && rank == 1 && device == -1); /* -1: a host communicator */
  ABI_OK(ncclCommGetAsyncError(comms[0], &state));
  ABI_EXPECT(state == ncclSuccess);

  ABI_OK(ncclMemAlloc(&buf, 4096));
  ABI_OK(ncclCommRegister(comms[0], buf, 4096, &handle));
  ABI_OK(ncclCommDeregister(comms[0], handle));
  ABI_FAILS(ncclInvalidArgument, "ncclCommDeregister", ncclCommDeregister(comms[0], handle));
  ABI_FAILS(ncclInvalidUsage, "ncclCommWindowRegister",
            ncclCommWindowRegister(comms[0], buf, 4096, &win, NCCL_WIN_DEFAULT));
  ABI_FAILS(ncclInvalidUsage, "ncclCommWindowDeregister", ncclCommWindowDeregister(comms[0], win));
  ABI_OK(ncclMemFree(buf));

  /* A simulated group runs nothing and reports a time. */
  ABI_OK(ncclGroupStart());
  for (r = 0; r < 2; ++r) ABI_OK(ncclAllReduce(x, y, 2, ncclFloat32, ncclSum, comms[r], NULL));
  ABI_OK(ncclGroupSimulateEnd(&sim));
  ABI_EXPECT(sim.estimatedTime > 0 && y[0] == 0 && y[1] == 0);
  ABI_OK(ncclGroupStart()); /* the simulation ended its group: this one runs */
  for (r = 0; r < 2; ++r) ABI_OK(ncclAllReduce(x, y, 2, ncclFloat32, ncclSum, comms[r], NULL));
  ABI_OK(ncclGroupEnd());
  ABI_EXPECT(y[0] == 2 && y[1] == 4);

  for (r = 0; r < 2; ++r) ABI_OK(ncclCommFinalize(comms[r]));
  for (r = 0; r < 2; ++r) ABI_OK(ncclCommDestroy(comms[r]));
  return NULL;
}

/* Revoked, the state is ncclInProgress until quiescent, then ncclSuccess
 * (nccl.h); collectives and finalize are refused, destroy works. */
const char* abi_check_revoke(void) {
  ncclComm_t comms[2];
  float x[2] = {1, 2}, y[2] = {0, 0};
  ABI_OK(ncclCommInitAll(comms, 2, NULL));
  ABI_OK(ncclCommRevoke(comms[0], NCCL_REVOKE_DEFAULT));
  ABI_CHECK(abi_settle(comms[0], ncclInProgress, "the state after ncclCommRevoke"));
  ABI_FAILS(ncclInvalidUsage, "ncclAllReduce",
            ncclAllReduce(x, y, 2, ncclFloat32, ncclSum, comms[0], NULL));
  if (ncclCommFinalize(comms[0]) == ncclSuccess)
    return abi_failf(
        "ncclCommFinalize of a revoked communicator succeeded (nccl.h: \"Calling "
        "ncclCommFinalize after revoke is invalid\")");
  ABI_OK(ncclCommDestroy(comms[0]));
  ABI_OK(ncclCommDestroy(comms[1]));
  return NULL;
}
