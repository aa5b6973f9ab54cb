/* abi_program.c: a program written against NVIDIA's nccl.h, linked to
 * colossus's libnccl.so.2 (compiled as C, and as C++ by abi_program_cpp.cc).
 * Four ranks from one thread (ncclCommInitAll), each collective a group of
 * four calls on host buffers; every result is checked exactly. */
#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 4
#define COUNT 5

#define CHECK(call)                                                                         \
  do {                                                                                      \
    ncclResult_t r_ = (call);                                                               \
    if (r_ != ncclSuccess) {                                                                \
      printf("FAIL %s:%d %s: %s (%s)\n", __FILE__, __LINE__, #call, ncclGetErrorString(r_), \
             ncclGetLastError(NULL));                                                       \
      exit(1);                                                                              \
    }                                                                                       \
  } while (0)

#define EXPECT(cond)                                                 \
  do {                                                               \
    if (!(cond)) {                                                   \
      printf("FAIL %s:%d expected %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                       \
    }                                                                \
  } while (0)

int main(void) {
  ncclComm_t comms[N];
  float send[N][N * COUNT], recv[N][N * COUNT];
  int version = 0, r, i, count = 0, rank = -1;
  CHECK(ncclGetVersion(&version));
  EXPECT(version >= NCCL_VERSION(2, 28, 0));
  CHECK(ncclCommInitAll(comms, N, NULL));
  for (r = 0; r < N; ++r) {
    CHECK(ncclCommCount(comms[r], &count));
    CHECK(ncclCommUserRank(comms[r], &rank));
    EXPECT(count == N && rank == r);
  }
  for (r = 0; r < N; ++r)
    for (i = 0; i < N * COUNT; ++i) send[r][i] = (float)(r * 100 + i);

  /* allreduce (sum) */
  CHECK(ncclGroupStart());
  for (r = 0; r < N; ++r)
    CHECK(ncclAllReduce(send[r], recv[r], COUNT, ncclFloat, ncclSum, comms[r], NULL));
  CHECK(ncclGroupEnd());
  for (r = 0; r < N; ++r)
    for (i = 0; i < COUNT; ++i) EXPECT(recv[r][i] == (float)(600 + 4 * i));

  /* allgather */
  CHECK(ncclGroupStart());
  for (r = 0; r < N; ++r) CHECK(ncclAllGather(send[r], recv[r], COUNT, ncclFloat, comms[r], NULL));
  CHECK(ncclGroupEnd());
  for (r = 0; r < N; ++r)
    for (i = 0; i < N * COUNT; ++i) EXPECT(recv[r][i] == (float)((i / COUNT) * 100 + i % COUNT));

  /* broadcast from rank 2 */
  memset(recv, 0, sizeof recv);
  CHECK(ncclGroupStart());
  for (r = 0; r < N; ++r)
    CHECK(ncclBroadcast(send[r], recv[r], COUNT, ncclFloat, 2, comms[r], NULL));
  CHECK(ncclGroupEnd());
  for (r = 0; r < N; ++r)
    for (i = 0; i < COUNT; ++i) EXPECT(recv[r][i] == (float)(200 + i));

  /* reduce_scatter (max) */
  CHECK(ncclGroupStart());
  for (r = 0; r < N; ++r)
    CHECK(ncclReduceScatter(send[r], recv[r], COUNT, ncclFloat, ncclMax, comms[r], NULL));
  CHECK(ncclGroupEnd());
  for (r = 0; r < N; ++r)
    for (i = 0; i < COUNT; ++i) EXPECT(recv[r][i] == (float)(300 + r * COUNT + i));

  /* a ring of send/recv: rank r sends to r+1 */
  memset(recv, 0, sizeof recv);
  CHECK(ncclGroupStart());
  for (r = 0; r < N; ++r) {
    CHECK(ncclSend(send[r], COUNT, ncclFloat, (r + 1) % N, comms[r], NULL));
    CHECK(ncclRecv(recv[r], COUNT, ncclFloat, (r + N - 1) % N, comms[r], NULL));
  }
  CHECK(ncclGroupEnd());
  for (r = 0; r < N; ++r)
    for (i = 0; i < COUNT; ++i) EXPECT(recv[r][i] == (float)(((r + N - 1) % N) * 100 + i));

  for (r = 0; r < N; ++r) CHECK(ncclCommFinalize(comms[r]));
  for (r = 0; r < N; ++r) CHECK(ncclCommDestroy(comms[r]));
  printf("abi program: all results exact\n");
  return 0;
}
