/* abi_collectives.c: every collective, send/recv and the pre-multiplied sum
 * on four host ranks made by ncclCommInitAll and driven by this thread, one
 * group per call; each result compared, element by element, with a
 * reference computed here. The values are small integers, exact in every
 * data type, so every comparison is exact. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "abi_checks.h"

#define N 4
#define C 5               /* elements per rank and block */
#define BYTES (N * C * 8) /* room for N blocks of the widest type */

typedef unsigned char abi_bufs_t[N][BYTES];

/* Fills every rank's buffer with value(rank, i) for N*C elements. */
static void abi_fill(ncclDataType_t t, abi_bufs_t bufs, double (*value)(ncclDataType_t, int, int)) {
  int r, i;
  for (r = 0; r < N; ++r)
    for (i = 0; i < N * C; ++i) abi_put(t, bufs[r], (size_t)i, value(t, r, i));
}

/* Compares count elements of got (from element `at`) with want. */
static const char* abi_compare(ncclDataType_t t, const void* got, int at, const double* want,
                               int count, const char* what, int rank) {
  int i;
  for (i = 0; i < count; ++i) {
    const double g = abi_get(t, got, (size_t)(at + i));
    if (g != want[i])
      return abi_failf("%s %s rank %d element %d: got %g, expected %g", what, abi_type_name(t),
                       rank, at + i, g, want[i]);
  }
  return NULL;
}

static ncclComm_t comms[N];

static const char* abi_init(void) {
  ABI_OK(ncclCommInitAll(comms, N, NULL));
  return NULL;
}

static const char* abi_destroy(void) {
  int r;
  for (r = 0; r < N; ++r) ABI_OK(ncclCommDestroy(comms[r]));
  return NULL;
}

static int abi_signed(ncclDataType_t t) {
  return t != ncclUint8 && t != ncclUint32 && t != ncclUint64;
}

/* Per element i, two ranks hold a and two a + 2 (a = -1, 0 or 1; 0..2 unsigned),
 * so sum, prod, max, min and avg are small integers. */
static double abi_reduce_value(ncclDataType_t t, int r, int i) {
  return (i % 3) - abi_signed(t) + 2 * ((r + i) & 1);
}

static double abi_reduced(ncclDataType_t t, ncclRedOp_t op, int i) {
  double acc = abi_reduce_value(t, 0, i);
  int r;
  for (r = 1; r < N; ++r) {
    const double v = abi_reduce_value(t, r, i);
    if (op == ncclProd)
      acc *= v;
    else if (op == ncclMax)
      acc = v > acc ? v : acc;
    else if (op == ncclMin)
      acc = v < acc ? v : acc;
    else
      acc += v;
  }
  return op == ncclAvg ? acc / N : acc;
}

const char* abi_check_allreduce(void) {
  static const ncclDataType_t types[] = {ncclInt8,    ncclUint8,    ncclInt32,     ncclUint32,
                                         ncclInt64,   ncclUint64,   ncclFloat16,   ncclFloat32,
                                         ncclFloat64, ncclBfloat16, ncclFloat8e4m3};
  static const ncclRedOp_t ops[] = {ncclSum, ncclProd, ncclMax, ncclMin, ncclAvg};
  static abi_bufs_t send, recv;
  double want[N * C];
  size_t t, o;
  int r, i;
  ABI_CHECK(abi_init());
  for (t = 0; t < sizeof types / sizeof types[0]; ++t) {
    const ncclDataType_t type = types[t];
    abi_fill(type, send, abi_reduce_value);
    for (o = 0; o < sizeof ops / sizeof ops[0]; ++o) {
      char what[32];
      memset(recv, 0, sizeof recv);
      ABI_OK(ncclGroupStart());
      for (r = 0; r < N; ++r)
        ABI_OK(ncclAllReduce(send[r], recv[r], C, type, ops[o], comms[r], NULL));
      ABI_OK(ncclGroupEnd());
      for (i = 0; i < C; ++i) want[i] = abi_reduced(type, ops[o], i);
      snprintf(what, sizeof what, "allreduce op %d", (int)ops[o]);
      for (r = 0; r < N; ++r) ABI_CHECK(abi_compare(type, recv[r], 0, want, C, what, r));
    }
    /* In place. */
    ABI_OK(ncclGroupStart());
    for (r = 0; r < N; ++r)
      ABI_OK(ncclAllReduce(send[r], send[r], C, type, ncclMax, comms[r], NULL));
    ABI_OK(ncclGroupEnd());
    for (i = 0; i < C; ++i) want[i] = abi_reduced(type, ncclMax, i);
    for (r = 0; r < N; ++r) ABI_CHECK(abi_compare(type, send[r], 0, want, C, "in-place", r));
  }
  return abi_destroy();
}

#define ABI_GROUP(call)                   \
  do {                                    \
    memset(recv, 0, sizeof recv);         \
    ABI_OK(ncclGroupStart());             \
    for (r = 0; r < N; ++r) ABI_OK(call); \
    ABI_OK(ncclGroupEnd());               \
  } while (0)
#define ABI_WANT(rank, at, count, what) \
  ABI_CHECK(abi_compare(ty, recv[rank], at, want, count, what, rank))

/* Distinct small values: rank r's element j. */
static double abi_block_value(ncclDataType_t t, int r, int j) {
  (void)t;
  return (r * 7 + j) % 11 - 3;
}

const char* abi_check_collectives(void) {
  static const ncclDataType_t types[] = {ncclInt32, ncclFloat16, ncclFloat64};
  static abi_bufs_t send, recv;
  double want[N * C];
  size_t t;
  int r, q, i;
  ABI_CHECK(abi_init());
  for (t = 0; t < sizeof types / sizeof types[0]; ++t) {
    const ncclDataType_t ty = types[t];
    abi_fill(ty, send, abi_block_value);

    ABI_GROUP(ncclBroadcast(send[r], recv[r], C, ty, 2, comms[r], NULL));
    for (i = 0; i < C; ++i) want[i] = abi_block_value(ty, 2, i);
    for (r = 0; r < N; ++r) ABI_WANT(r, 0, C, "broadcast");

    ABI_GROUP(ncclBcast(r == 1 ? send[r] : recv[r], C, ty, 1, comms[r], NULL));
    for (i = 0; i < C; ++i) want[i] = abi_block_value(ty, 1, i);
    for (r = 0; r < N; ++r)
      if (r != 1) ABI_WANT(r, 0, C, "ncclBcast");

    ABI_GROUP(ncclReduce(send[r], r == 3 ? recv[r] : NULL, C, ty, ncclMax, 3, comms[r], NULL));
    for (i = 0; i < C; ++i) {
      want[i] = abi_block_value(ty, 0, i);
      for (q = 1; q < N; ++q)
        if (abi_block_value(ty, q, i) > want[i]) want[i] = abi_block_value(ty, q, i);
    }
    ABI_WANT(3, 0, C, "reduce");

    ABI_GROUP(ncclAllGather(send[r], recv[r], C, ty, comms[r], NULL));
    for (q = 0; q < N; ++q)
      for (i = 0; i < C; ++i) want[q * C + i] = abi_block_value(ty, q, i);
    for (r = 0; r < N; ++r) ABI_WANT(r, 0, N * C, "allgather");

    ABI_GROUP(ncclGather(send[r], r == 0 ? recv[r] : NULL, C, ty, 0, comms[r], NULL));
    ABI_WANT(0, 0, N * C, "gather");

    ABI_GROUP(ncclReduceScatter(send[r], recv[r], C, ty, ncclSum, comms[r], NULL));
    for (r = 0; r < N; ++r) {
      for (i = 0; i < C; ++i) {
        want[i] = 0;
        for (q = 0; q < N; ++q) want[i] += abi_block_value(ty, q, r * C + i);
      }
      ABI_WANT(r, 0, C, "reduce_scatter");
    }

    ABI_GROUP(ncclAlltoAll(send[r], recv[r], C, ty, comms[r], NULL));
    for (r = 0; r < N; ++r) {
      for (q = 0; q < N; ++q)
        for (i = 0; i < C; ++i) want[q * C + i] = abi_block_value(ty, q, r * C + i);
      ABI_WANT(r, 0, N * C, "alltoall");
    }

    ABI_GROUP(ncclScatter(r == 1 ? send[r] : NULL, recv[r], C, ty, 1, comms[r], NULL));
    for (r = 0; r < N; ++r) {
      for (i = 0; i < C; ++i) want[i] = abi_block_value(ty, 1, r * C + i);
      ABI_WANT(r, 0, C, "scatter");
    }
  }
  return abi_destroy();
}

/* Two rings in one group: each rank sends its block to both neighbours (and
 * itself) and receives from both, on int64 and float32 at once. */
const char* abi_check_send_recv(void) {
  static int64_t fwd[N][C], bwd[N][C];
  static float mine[N][C], left[N][C], self[N][C];
  int r, i;
  ABI_CHECK(abi_init());
  for (r = 0; r < N; ++r)
    for (i = 0; i < C; ++i) mine[r][i] = (float)(r * 10 + i);
  ABI_OK(ncclGroupStart());
  for (r = 0; r < N; ++r) {
    const int next = (r + 1) % N, prev = (r + N - 1) % N;
    ABI_OK(ncclSend(mine[r], C, ncclFloat32, next, comms[r], NULL));
    ABI_OK(ncclRecv(left[r], C, ncclFloat32, prev, comms[r], NULL));
    ABI_OK(ncclSend(mine[r], C, ncclFloat32, r, comms[r], NULL)); /* to itself */
    ABI_OK(ncclRecv(self[r], C, ncclFloat32, r, comms[r], NULL));
    ABI_OK(ncclRecv(fwd[r], C, ncclInt64, prev, comms[r], NULL));
    ABI_OK(ncclRecv(bwd[r], C, ncclInt64, next, comms[r], NULL));
  }
  for (r = N - 1; r >= 0; --r) { /* posted after the receives, in the other order */
    static int64_t out[N][C];
    for (i = 0; i < C; ++i) out[r][i] = 1000 * r + i;
    ABI_OK(ncclSend(out[r], C, ncclInt64, (r + 1) % N, comms[r], NULL));
    ABI_OK(ncclSend(out[r], C, ncclInt64, (r + N - 1) % N, comms[r], NULL));
  }
  ABI_OK(ncclGroupEnd());
  for (r = 0; r < N; ++r) {
    const int next = (r + 1) % N, prev = (r + N - 1) % N;
    for (i = 0; i < C; ++i) {
      ABI_EXPECT(left[r][i] == (float)(prev * 10 + i) && self[r][i] == mine[r][i]);
      ABI_EXPECT(fwd[r][i] == 1000 * prev + i);
      ABI_EXPECT(bwd[r][i] == 1000 * next + i);
    }
  }
  return abi_destroy();
}

/* ncclRedOpCreatePreMulSum with a scalar per rank (rank r: r + 1): the host
 * immediate scalar is read at creation (changing it later has no effect), the
 * "device" one (host memory here) when the collective runs. */
const char* abi_check_premulsum(void) {
  static const ncclDataType_t types[] = {ncclFloat32, ncclFloat64, ncclFloat16, ncclInt32};
  static abi_bufs_t send, recv, scalars;
  double want[C];
  ncclRedOp_t ops[N];
  size_t t;
  int r, i, q, residence;
  ABI_CHECK(abi_init());
  for (t = 0; t < sizeof types / sizeof types[0]; ++t) {
    const ncclDataType_t ty = types[t];
    abi_fill(ty, send, abi_block_value);
    for (residence = 0; residence < 2; ++residence) {
      const ncclScalarResidence_t where = residence ? ncclScalarHostImmediate : ncclScalarDevice;
      for (r = 0; r < N; ++r) {
        abi_put(ty, scalars[r], 0, where == ncclScalarDevice ? 9 : r + 1);
        ABI_OK(ncclRedOpCreatePreMulSum(&ops[r], scalars[r], ty, where, comms[r]));
        ABI_EXPECT((int)ops[r] >= (int)ncclNumOps);
        abi_put(ty, scalars[r], 0, where == ncclScalarDevice ? r + 1 : 9);
      }
      ABI_GROUP(ncclAllReduce(send[r], recv[r], C, ty, ops[r], comms[r], NULL));
      for (i = 0; i < C; ++i)
        for (want[i] = 0, q = 0; q < N; ++q) want[i] += (q + 1) * abi_block_value(ty, q, i);
      for (r = 0; r < N; ++r) ABI_WANT(r, 0, C, where ? "premulsum (host)" : "premulsum (device)");
      for (r = 0; r < N; ++r) ABI_OK(ncclRedOpDestroy(ops[r], comms[r]));
    }
  }
  return abi_destroy();
}

#undef ABI_WANT
#undef ABI_GROUP
#undef BYTES
#undef C
#undef N
