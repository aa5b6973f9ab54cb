/* layout_dump.c: prints every enum value, struct size and field offset of
 * the NCCL API. Built against each NVIDIA nccl.h found and against
 * colossus's (COLOSSUS_HEADER); the test compares the outputs. Values that a
 * later release changed (the config's size, ncclNumResults) are printed as
 * "release ..." lines, and what 2.30 added only by headers of 2.30 and
 * later: against an older header, every other line of its dump must be in
 * ours. The patch numbers differ on purpose and are not printed. */
#include <stddef.h>
#include <stdio.h>
#ifdef COLOSSUS_HEADER
#include "colossus/nccl.h"
#else
#include <nccl.h>
#endif

#define V(x) printf("%s %ld\n", #x, (long)(x))
#define OFF(t, f) printf("offsetof(%s, %s) %zu\n", #t, #f, offsetof(t, f))
#define R(x) printf("release %s %ld\n", #x, (long)(x))

int main(void) {
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  ncclSimInfo_t sim = NCCL_SIM_INFO_INITIALIZER;
  V(ncclSuccess);
  V(ncclUnhandledCudaError);
  V(ncclSystemError);
  V(ncclInternalError);
  V(ncclInvalidArgument);
  V(ncclInvalidUsage);
  V(ncclRemoteError);
  V(ncclInProgress);
  R(ncclNumResults);
  V(ncclInt8);
  V(ncclChar);
  V(ncclUint8);
  V(ncclInt32);
  V(ncclInt);
  V(ncclUint32);
  V(ncclInt64);
  V(ncclUint64);
  V(ncclFloat16);
  V(ncclHalf);
  V(ncclFloat32);
  V(ncclFloat);
  V(ncclFloat64);
  V(ncclDouble);
  V(ncclBfloat16);
  V(ncclFloat8e4m3);
  V(ncclFloat8e5m2);
  V(ncclNumTypes);
  V(ncclSum);
  V(ncclProd);
  V(ncclMax);
  V(ncclMin);
  V(ncclAvg);
  V(ncclNumOps);
  V(ncclMaxRedOp);
  V(ncclScalarDevice);
  V(ncclScalarHostImmediate);
  V(sizeof(ncclResult_t));
  V(sizeof(ncclDataType_t));
  V(sizeof(ncclRedOp_t));
  V(sizeof(ncclUniqueId));
  V(NCCL_UNIQUE_ID_BYTES);
  R(sizeof(ncclConfig_t));
  V(sizeof(ncclSimInfo_t));
  V(NCCL_CONFIG_UNDEF_INT);
  V(NCCL_SPLIT_NOCOLOR);
  V(NCCL_WIN_DEFAULT);
  V(NCCL_WIN_COLL_SYMMETRIC);
  V(NCCL_WIN_REQUIRED_ALIGNMENT);
  V(NCCL_CTA_POLICY_DEFAULT);
  V(NCCL_CTA_POLICY_EFFICIENCY);
  V(NCCL_CTA_POLICY_ZERO);
  V(NCCL_SHRINK_DEFAULT);
  V(NCCL_SHRINK_ABORT);
  V(NCCL_REVOKE_DEFAULT);
  V(NCCL_VERSION(2, 8, 4));
  V(NCCL_VERSION(2, 28, 9));
  OFF(ncclConfig_t, size);
  OFF(ncclConfig_t, magic);
  OFF(ncclConfig_t, version);
  OFF(ncclConfig_t, blocking);
  OFF(ncclConfig_t, cgaClusterSize);
  OFF(ncclConfig_t, minCTAs);
  OFF(ncclConfig_t, maxCTAs);
  OFF(ncclConfig_t, netName);
  OFF(ncclConfig_t, splitShare);
  OFF(ncclConfig_t, trafficClass);
  OFF(ncclConfig_t, commName);
  OFF(ncclConfig_t, collnetEnable);
  OFF(ncclConfig_t, CTAPolicy);
  OFF(ncclConfig_t, shrinkShare);
  OFF(ncclConfig_t, nvlsCTAs);
  OFF(ncclConfig_t, nChannelsPerNetPeer);
  OFF(ncclConfig_t, nvlinkCentricSched);
  OFF(ncclSimInfo_t, size);
  OFF(ncclSimInfo_t, magic);
  OFF(ncclSimInfo_t, version);
  OFF(ncclSimInfo_t, estimatedTime);
  R(config.size);
  V(config.magic);
  V(config.blocking);
  V(config.nvlinkCentricSched);
  V(config.netName == NULL);
  V(sim.size);
  V(sim.magic);
  V((int)sim.estimatedTime);
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 30, 0)
  V(ncclTimeout);
  V(NCCL_API_MAGIC);
  V(NCCL_WIN_STRICT_ORDERING);
  V(NCCL_SUSPEND_MEM);
  V(ncclStatGpuMemSuspend);
  V(ncclStatGpuMemSuspended);
  V(ncclStatGpuMemPersist);
  V(ncclStatGpuMemTotal);
  V(sizeof(ncclCommMemStat_t));
  V(sizeof(ncclWaitSignalDesc_t));
  OFF(ncclWaitSignalDesc_t, opCnt);
  OFF(ncclWaitSignalDesc_t, peer);
  OFF(ncclWaitSignalDesc_t, sigIdx);
  OFF(ncclWaitSignalDesc_t, ctx);
  OFF(ncclConfig_t, graphUsageMode);
  OFF(ncclConfig_t, numRmaCtx);
  OFF(ncclConfig_t, maxP2pPeers);
  OFF(ncclConfig_t, graphStreamOrdering);
  V(config.version == NCCL_VERSION_CODE);
  V(config.graphStreamOrdering);
#endif
  return 0;
}
