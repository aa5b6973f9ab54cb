/* colossus/nccl.h: NCCL's C API, served by colossus (libnccl.so.2).
 *
 * Written for colossus from the published facts of NCCL's API: the types,
 * enumerator values, struct field order and function signatures are NCCL's
 * (checked by tests/nccl against NVIDIA's 2.30.7 header, and against
 * 2.28.9's for what that release has), so a program built against either
 * header runs on either library. Nothing here needs a CUDA header; it
 * compiles as C99 and as C++.
 *
 * Communicators made in a process without a usable CUDA device are host
 * communicators: buffers are host pointers, the stream argument is ignored,
 * and a call (or a group, at ncclGroupEnd) has completed when it returns.
 * Functions colossus does not implement yet return ncclInvalidUsage, and
 * ncclGetLastError says what is missing (README, "NCCL C API").
 */
#ifndef COLOSSUS_NCCL_H_
#define COLOSSUS_NCCL_H_

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* The NCCL release whose API this header follows. */
#define NCCL_MAJOR 2
#define NCCL_MINOR 30
#define NCCL_PATCH 0
#define NCCL_SUFFIX ""
/* Releases up to 2.8 were numbered X*1000+Y*100+Z, later ones X*10000+Y*100+Z. */
#define NCCL_VERSION(X, Y, Z) \
  (((X) <= 2 && (Y) <= 8) ? (X)*1000 + (Y)*100 + (Z) : (X)*10000 + (Y)*100 + (Z))
#define NCCL_VERSION_CODE 23000

/* CUDA's stream handle, declared as CUDA declares it (see colossus.hpp). */
typedef struct CUstream_st* cudaStream_t;

#ifdef __cplusplus
extern "C" {
#endif

/* Handles. A communicator is one rank's view of a group of ranks. */
typedef struct ncclComm* ncclComm_t;
typedef struct ncclWindow_vidmem* ncclWindow_t;
#define NCCL_COMM_NULL NULL

/* 128 opaque bytes made by ncclGetUniqueId on one rank, passed to all. */
#define NCCL_UNIQUE_ID_BYTES 128
typedef struct {
  char internal[NCCL_UNIQUE_ID_BYTES];
} ncclUniqueId;

/* What every call returns. */
typedef enum {
  ncclSuccess = 0,
  ncclUnhandledCudaError = 1,
  ncclSystemError = 2,
  ncclInternalError = 3,
  ncclInvalidArgument = 4,
  ncclInvalidUsage = 5,
  ncclRemoteError = 6,
  ncclInProgress = 7,
  ncclTimeout = 8,
  ncclNumResults = 9
} ncclResult_t;

/* "Not set" markers for ncclConfig_t fields and other arguments. */
#define NCCL_CONFIG_UNDEF_INT INT_MIN
#define NCCL_CONFIG_UNDEF_PTR NULL
#define NCCL_SPLIT_NOCOLOR -1
#define NCCL_UNDEF_FLOAT -1.0f

/* The `magic` of every ncclConfig_t (NCCL_CONFIG_INITIALIZER sets it). */
#define NCCL_API_MAGIC 0xcafebeef

/* Flags of ncclCommWindowRegister. */
#define NCCL_WIN_DEFAULT 0x00
#define NCCL_WIN_COLL_SYMMETRIC 0x01
#define NCCL_WIN_STRICT_ORDERING 0x02
#define NCCL_WIN_REQUIRED_ALIGNMENT 4096

/* Values of ncclConfig_t.CTAPolicy. */
#define NCCL_CTA_POLICY_DEFAULT 0x00
#define NCCL_CTA_POLICY_EFFICIENCY 0x01
#define NCCL_CTA_POLICY_ZERO 0x02

/* Flags of ncclCommShrink: keep the parent as it is, or abort it first. */
#define NCCL_SHRINK_DEFAULT 0x00
#define NCCL_SHRINK_ABORT 0x01

/* Flags of ncclCommRevoke: none defined, pass 0. */
#define NCCL_REVOKE_DEFAULT 0x00

/* Flags of ncclCommSuspend. */
#define NCCL_SUSPEND_MEM 0x01

/* Per-communicator settings. The first three fields tell the library which
 * release's layout the caller was built with, so a config from an older
 * header (a shorter struct) is read only as far as it goes. Always start
 * from NCCL_CONFIG_INITIALIZER. colossus reads `blocking`; the other fields
 * tune GPU kernels and are accepted and ignored on host communicators. The
 * last four fields are new in 2.30. */
typedef struct ncclConfig_v23000 {
  size_t size;
  unsigned int magic;
  unsigned int version;
  int blocking; /* 0: init and split return at once (ncclInProgress) */
  int cgaClusterSize;
  int minCTAs;
  int maxCTAs;
  const char* netName;
  int splitShare;
  int trafficClass;
  const char* commName;
  int collnetEnable;
  int CTAPolicy;
  int shrinkShare;
  int nvlsCTAs;
  int nChannelsPerNetPeer;
  int nvlinkCentricSched;
  int graphUsageMode;
  int numRmaCtx;
  int maxP2pPeers;
  int graphStreamOrdering;
} ncclConfig_t;

#define NCCL_CONFIG_INITIALIZER                                                     \
  {                                                                                 \
    sizeof(ncclConfig_t), NCCL_API_MAGIC, NCCL_VERSION_CODE, NCCL_CONFIG_UNDEF_INT, \
        NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_INT,        \
        NCCL_CONFIG_UNDEF_PTR, NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_INT,        \
        NCCL_CONFIG_UNDEF_PTR, NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_INT,        \
        NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_INT,        \
        NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_INT,        \
        NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_INT                                \
  }

/* What ncclGroupSimulateEnd fills in: the group's time from colossus's tuner model. */
typedef struct ncclSimInfo_v22200 {
  size_t size;
  unsigned int magic;
  unsigned int version;
  float estimatedTime;
} ncclSimInfo_t;

#define NCCL_SIM_INFO_INITIALIZER                                                        \
  {                                                                                      \
    sizeof(ncclSimInfo_t), 0x74685283, NCCL_VERSION(NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH), \
        NCCL_UNDEF_FLOAT                                                                 \
  }

/* Reduction operators. Values from ncclNumOps up are operators made by
 * ncclRedOpCreatePreMulSum (per communicator; colossus never hands out one
 * value twice in a process). The enum is int-sized, so its largest value is
 * INT_MAX. */
typedef enum {
  ncclSum = 0,
  ncclProd = 1,
  ncclMax = 2,
  ncclMin = 3,
  ncclAvg = 4,
  ncclNumOps = 5,
  ncclMaxRedOp = 0x7fffffff
} ncclRedOp_t;

/* Element types, with NCCL's older alias names. */
typedef enum {
  ncclInt8 = 0,
  ncclChar = 0,
  ncclUint8 = 1,
  ncclInt32 = 2,
  ncclInt = 2,
  ncclUint32 = 3,
  ncclInt64 = 4,
  ncclUint64 = 5,
  ncclFloat16 = 6,
  ncclHalf = 6,
  ncclFloat32 = 7,
  ncclFloat = 7,
  ncclFloat64 = 8,
  ncclDouble = 8,
  ncclBfloat16 = 9,
  ncclFloat8e4m3 = 10,
  ncclFloat8e5m2 = 11,
  ncclNumTypes = 12
} ncclDataType_t;

/* Where the scalar of ncclRedOpCreatePreMulSum lives. */
typedef enum { ncclScalarDevice = 0, ncclScalarHostImmediate = 1 } ncclScalarResidence_t;

/* What ncclCommMemStats reports (bytes, or 0/1 for ncclStatGpuMemSuspended). */
typedef enum {
  ncclStatGpuMemSuspend = 0,
  ncclStatGpuMemSuspended = 1,
  ncclStatGpuMemPersist = 2,
  ncclStatGpuMemTotal = 3
} ncclCommMemStat_t;

/* One wait of ncclWaitSignal: opCnt signals `sigIdx` of context `ctx` from `peer`. */
typedef struct {
  int opCnt;
  int peer;
  int sigIdx;
  int ctx;
} ncclWaitSignalDesc_t;

/* A runtime parameter of the ncclParam* functions. */
typedef struct ncclParamHandle* ncclParamHandle_t;

/* Each function exists twice: nccl<Name> and the profiling alias pnccl<Name>
 * (the same code), as in NCCL. */
#define COLOSSUS_NCCL_FN(ret, name, params) \
  ret name params;                          \
  ret p##name params

/* Library, errors, ids. */
COLOSSUS_NCCL_FN(ncclResult_t, ncclGetVersion, (int* version));
COLOSSUS_NCCL_FN(ncclResult_t, ncclGetUniqueId, (ncclUniqueId * uniqueId));
COLOSSUS_NCCL_FN(const char*, ncclGetErrorString, (ncclResult_t result));
/* The text of the last error on `comm`, or of this thread's last error for NULL. */
COLOSSUS_NCCL_FN(const char*, ncclGetLastError, (ncclComm_t comm));
COLOSSUS_NCCL_FN(void, ncclResetDebugInit, (void));
COLOSSUS_NCCL_FN(ncclResult_t, ncclMemAlloc, (void** ptr, size_t size));
COLOSSUS_NCCL_FN(ncclResult_t, ncclMemFree, (void* ptr));

/* Making and ending communicators. */
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommInitRank,
                 (ncclComm_t * comm, int nranks, ncclUniqueId commId, int rank));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommInitRankConfig,
                 (ncclComm_t * comm, int nranks, ncclUniqueId commId, int rank,
                  ncclConfig_t* config));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommInitRankScalable,
                 (ncclComm_t * newcomm, int nranks, int myrank, int nId, ncclUniqueId* commIds,
                  ncclConfig_t* config));
/* ndev ranks in this process, driven by one thread through groups. */
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommInitAll, (ncclComm_t * comm, int ndev, const int* devlist));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommSplit,
                 (ncclComm_t comm, int color, int key, ncclComm_t* newcomm, ncclConfig_t* config));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommShrink,
                 (ncclComm_t comm, int* excludeRanksList, int excludeRanksCount,
                  ncclComm_t* newcomm, ncclConfig_t* config, int shrinkFlags));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommFinalize, (ncclComm_t comm));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommDestroy, (ncclComm_t comm));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommAbort, (ncclComm_t comm));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommRevoke, (ncclComm_t comm, int revokeFlags));
/* Growing: rank 0 of `comm` makes an id; the existing ranks (rank = -1,
 * uniqueId NULL except on rank 0) and the new ones (comm NULL, rank >= the
 * old size) call ncclCommGrow together and get a communicator of nRanks. */
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommGetUniqueId, (ncclComm_t comm, ncclUniqueId* uniqueId));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommGrow,
                 (ncclComm_t comm, int nRanks, const ncclUniqueId* uniqueId, int rank,
                  ncclComm_t* newcomm, ncclConfig_t* config));
/* Suspending: no call may use the communicator until it is resumed. */
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommSuspend, (ncclComm_t comm, int flags));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommResume, (ncclComm_t comm));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommMemStats,
                 (ncclComm_t comm, ncclCommMemStat_t stat, uint64_t* value));

/* Queries. */
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommGetAsyncError, (ncclComm_t comm, ncclResult_t* asyncError));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommCount, (const ncclComm_t comm, int* count));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommCuDevice, (const ncclComm_t comm, int* device));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommUserRank, (const ncclComm_t comm, int* rank));

/* Buffer registration. */
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommRegister,
                 (const ncclComm_t comm, void* buff, size_t size, void** handle));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommDeregister, (const ncclComm_t comm, void* handle));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommWindowRegister,
                 (ncclComm_t comm, void* buff, size_t size, ncclWindow_t* win, int winFlags));
COLOSSUS_NCCL_FN(ncclResult_t, ncclCommWindowDeregister, (ncclComm_t comm, ncclWindow_t win));
COLOSSUS_NCCL_FN(ncclResult_t, ncclWinGetUserPtr,
                 (ncclComm_t comm, ncclWindow_t win, void** outUserPtr));

/* User-defined reduction operators. */
COLOSSUS_NCCL_FN(ncclResult_t, ncclRedOpCreatePreMulSum,
                 (ncclRedOp_t * op, void* scalar, ncclDataType_t datatype,
                  ncclScalarResidence_t residence, ncclComm_t comm));
COLOSSUS_NCCL_FN(ncclResult_t, ncclRedOpDestroy, (ncclRedOp_t op, ncclComm_t comm));

/* Collectives (buffer conventions as in colossus.hpp). */
COLOSSUS_NCCL_FN(ncclResult_t, ncclReduce,
                 (const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                  ncclRedOp_t op, int root, ncclComm_t comm, cudaStream_t stream));
COLOSSUS_NCCL_FN(ncclResult_t, ncclBcast,
                 (void* buff, size_t count, ncclDataType_t datatype, int root, ncclComm_t comm,
                  cudaStream_t stream));
COLOSSUS_NCCL_FN(ncclResult_t, ncclBroadcast,
                 (const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                  int root, ncclComm_t comm, cudaStream_t stream));
COLOSSUS_NCCL_FN(ncclResult_t, ncclAllReduce,
                 (const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                  ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream));
COLOSSUS_NCCL_FN(ncclResult_t, ncclReduceScatter,
                 (const void* sendbuff, void* recvbuff, size_t recvcount, ncclDataType_t datatype,
                  ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream));
COLOSSUS_NCCL_FN(ncclResult_t, ncclAllGather,
                 (const void* sendbuff, void* recvbuff, size_t sendcount, ncclDataType_t datatype,
                  ncclComm_t comm, cudaStream_t stream));
COLOSSUS_NCCL_FN(ncclResult_t, ncclAlltoAll,
                 (const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                  ncclComm_t comm, cudaStream_t stream));
COLOSSUS_NCCL_FN(ncclResult_t, ncclGather,
                 (const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                  int root, ncclComm_t comm, cudaStream_t stream));
COLOSSUS_NCCL_FN(ncclResult_t, ncclScatter,
                 (const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                  int root, ncclComm_t comm, cudaStream_t stream));

/* Point-to-point. */
COLOSSUS_NCCL_FN(ncclResult_t, ncclSend,
                 (const void* sendbuff, size_t count, ncclDataType_t datatype, int peer,
                  ncclComm_t comm, cudaStream_t stream));
COLOSSUS_NCCL_FN(ncclResult_t, ncclRecv,
                 (void* recvbuff, size_t count, ncclDataType_t datatype, int peer, ncclComm_t comm,
                  cudaStream_t stream));

/* One-sided puts into a peer's window, and signals. */
COLOSSUS_NCCL_FN(ncclResult_t, ncclPutSignal,
                 (const void* localbuff, size_t count, ncclDataType_t datatype, int peer,
                  ncclWindow_t peerWin, size_t peerWinOffset, int sigIdx, int ctx,
                  unsigned int flags, ncclComm_t comm, cudaStream_t stream));
COLOSSUS_NCCL_FN(ncclResult_t, ncclSignal,
                 (int peer, int sigIdx, int ctx, unsigned int flags, ncclComm_t comm,
                  cudaStream_t stream));
COLOSSUS_NCCL_FN(ncclResult_t, ncclWaitSignal,
                 (int nDesc, ncclWaitSignalDesc_t* signalDescs, ncclComm_t comm,
                  cudaStream_t stream));

/* Groups: calls between start and end run together at the end (nestable, per thread). */
COLOSSUS_NCCL_FN(ncclResult_t, ncclGroupStart, (void));
COLOSSUS_NCCL_FN(ncclResult_t, ncclGroupEnd, (void));
COLOSSUS_NCCL_FN(ncclResult_t, ncclGroupSimulateEnd, (ncclSimInfo_t * simInfo));

/* Runtime parameters (the NCCL_* settings colossus reads), by handle or by
 * key. Returned strings and tables belong to the library. */
COLOSSUS_NCCL_FN(ncclResult_t, ncclParamBind, (ncclParamHandle_t * out, const char* key));
COLOSSUS_NCCL_FN(ncclResult_t, ncclParamGetI8, (ncclParamHandle_t h, int8_t* out));
COLOSSUS_NCCL_FN(ncclResult_t, ncclParamGetI16, (ncclParamHandle_t h, int16_t* out));
COLOSSUS_NCCL_FN(ncclResult_t, ncclParamGetI32, (ncclParamHandle_t h, int32_t* out));
COLOSSUS_NCCL_FN(ncclResult_t, ncclParamGetI64, (ncclParamHandle_t h, int64_t* out));
COLOSSUS_NCCL_FN(ncclResult_t, ncclParamGetU8, (ncclParamHandle_t h, uint8_t* out));
COLOSSUS_NCCL_FN(ncclResult_t, ncclParamGetU16, (ncclParamHandle_t h, uint16_t* out));
COLOSSUS_NCCL_FN(ncclResult_t, ncclParamGetU32, (ncclParamHandle_t h, uint32_t* out));
COLOSSUS_NCCL_FN(ncclResult_t, ncclParamGetU64, (ncclParamHandle_t h, uint64_t* out));
COLOSSUS_NCCL_FN(ncclResult_t, ncclParamGetStr, (ncclParamHandle_t h, const char** out));
COLOSSUS_NCCL_FN(ncclResult_t, ncclParamGet,
                 (ncclParamHandle_t h, void* out, int maxLen, int* len));
COLOSSUS_NCCL_FN(ncclResult_t, ncclParamGetParameter,
                 (const char* key, const char** value, int* valueLen));
COLOSSUS_NCCL_FN(ncclResult_t, ncclParamGetAllParameterKeys, (const char*** table, int* tableLen));
COLOSSUS_NCCL_FN(void, ncclParamDumpAll, (void));

#undef COLOSSUS_NCCL_FN

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* COLOSSUS_NCCL_H_ */
