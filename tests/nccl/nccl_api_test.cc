// nccl_api_test: the NCCL C API of libnccl.so.2, through colossus/nccl.h.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "colossus/nccl.h"
#include "support/fork_runner.hpp"

namespace {

// Host communicators only: hide any GPU before the library first looks (device.cc).
const int hide_gpus = setenv("CUDA_VISIBLE_DEVICES", "", 1);

std::string last(ncclComm_t comm = nullptr) { return ncclGetLastError(comm); }

// n ranks in this process, run together in one group from this thread.
std::vector<ncclComm_t> init_all(int n) {
  std::vector<ncclComm_t> comms(static_cast<size_t>(n));
  REQUIRE(ncclCommInitAll(comms.data(), n, nullptr) == ncclSuccess);
  return comms;
}

void destroy_all(const std::vector<ncclComm_t>& comms) {
  for (ncclComm_t c : comms) REQUIRE(ncclCommDestroy(c) == ncclSuccess);
}

}  // namespace

TEST_CASE("version, error strings, unique id") {
  int v = 0;
  REQUIRE(ncclGetVersion(&v) == ncclSuccess);
  CHECK(v == NCCL_VERSION_CODE);
  CHECK(v == NCCL_VERSION(2, 30, 0));
  CHECK(std::string(ncclGetErrorString(ncclSuccess)) == "no error");
  CHECK(std::string(ncclGetErrorString(static_cast<ncclResult_t>(99))) == "unknown result code");
  CHECK(pncclGetVersion(&v) == ncclSuccess);  // the profiling alias
  REQUIRE(ncclGetVersion(nullptr) == ncclInvalidArgument);
  CHECK(last().find("version is NULL") != std::string::npos);
}

TEST_CASE("null communicator and bad arguments are ncclInvalidArgument with a text") {
  float x = 1;
  CHECK(ncclAllReduce(&x, &x, 1, ncclFloat, ncclSum, nullptr, nullptr) == ncclInvalidArgument);
  CHECK(last() == "ncclAllReduce: comm is NULL");
  int n = 0;
  CHECK(ncclCommCount(nullptr, &n) == ncclInvalidArgument);
  CHECK(last().find("comm is NULL") != std::string::npos);

  auto comms = init_all(1);
  ncclComm_t c = comms[0];
  CHECK(ncclAllReduce(nullptr, &x, 1, ncclFloat, ncclSum, c, nullptr) == ncclInvalidArgument);
  CHECK(last(c).find("sendbuff is NULL") != std::string::npos);
  CHECK(ncclAllReduce(&x, &x, 1, static_cast<ncclDataType_t>(12), ncclSum, c, nullptr) ==
        ncclInvalidArgument);
  CHECK(last(c).find("invalid datatype 12") != std::string::npos);
  CHECK(ncclAllReduce(&x, &x, 1, ncclFloat, ncclNumOps, c, nullptr) == ncclInvalidArgument);
  CHECK(ncclBroadcast(&x, &x, 1, ncclFloat, 1, c, nullptr) == ncclInvalidArgument);
  CHECK(last(c).find("root 1 is out of range") != std::string::npos);
  CHECK(ncclSend(&x, 1, ncclFloat, -1, c, nullptr) == ncclInvalidArgument);
  CHECK(ncclAllReduce(nullptr, nullptr, 0, ncclFloat, ncclSum, c, nullptr) == ncclSuccess);
  CHECK(ncclCommDestroy(nullptr) == ncclSuccess);
  CHECK(ncclGroupEnd() == ncclInvalidUsage);  // no group open
  destroy_all(comms);
}

TEST_CASE("what is not implemented says so") {
  auto comms = init_all(1);
  double scalar = 2;
  ncclWindow_t win;
  CHECK(ncclCommWindowRegister(comms[0], &scalar, 8, &win, NCCL_WIN_DEFAULT) == ncclInvalidUsage);
  destroy_all(comms);
}

TEST_CASE("queries, registration and ncclMemAlloc on a host communicator") {
  auto comms = init_all(3);
  int n = 0, r = 0, dev = 0;
  REQUIRE(ncclCommCount(comms[2], &n) == ncclSuccess);
  REQUIRE(ncclCommUserRank(comms[2], &r) == ncclSuccess);
  REQUIRE(ncclCommCuDevice(comms[2], &dev) == ncclSuccess);
  CHECK((n == 3 && r == 2 && dev == -1));
  ncclResult_t async = ncclInternalError;
  REQUIRE(ncclCommGetAsyncError(comms[0], &async) == ncclSuccess);
  CHECK(async == ncclSuccess);
  void* p = nullptr;
  REQUIRE(ncclMemAlloc(&p, 1000) == ncclSuccess);
  std::memset(p, 1, 1000);
  void* handle = nullptr;
  REQUIRE(ncclCommRegister(comms[0], p, 1000, &handle) == ncclSuccess);
  CHECK(ncclCommDeregister(comms[0], handle) == ncclSuccess);
  CHECK(ncclCommDeregister(comms[0], handle) == ncclInvalidArgument);
  CHECK(ncclMemFree(p) == ncclSuccess);
  destroy_all(comms);
}

TEST_CASE("ncclCommSplit by parity, and NCCL_SPLIT_NOCOLOR") {
  const int n = 4;
  auto comms = init_all(n);
  std::vector<ncclComm_t> halves(n), none(n);
  // Split is collective: the ranks run it on threads of their own.
  std::vector<std::thread> threads;
  std::vector<ncclResult_t> res(n, ncclInternalError), res2(n, ncclInternalError);
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      res[r] = ncclCommSplit(comms[r], r % 2, -r, &halves[r], nullptr);
      res2[r] = ncclCommSplit(comms[r], r == 0 ? 0 : NCCL_SPLIT_NOCOLOR, 0, &none[r], nullptr);
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < n; ++r) {
    REQUIRE(res[r] == ncclSuccess);
    REQUIRE(res2[r] == ncclSuccess);
    int size = 0, rank = -1;
    REQUIRE(ncclCommCount(halves[r], &size) == ncclSuccess);
    REQUIRE(ncclCommUserRank(halves[r], &rank) == ncclSuccess);
    CHECK(size == 2);
    CHECK(rank == (r < 2 ? 1 : 0));  // key -r: the higher rank comes first
    CHECK((r == 0 ? none[r] != nullptr : none[r] == nullptr));
  }
  // An allreduce on the odd half.
  int a = 5, b = 7, ra = 0, rb = 0;
  REQUIRE(ncclGroupStart() == ncclSuccess);
  REQUIRE(ncclAllReduce(&a, &ra, 1, ncclInt, ncclSum, halves[1], nullptr) == ncclSuccess);
  REQUIRE(ncclAllReduce(&b, &rb, 1, ncclInt, ncclSum, halves[3], nullptr) == ncclSuccess);
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  CHECK((ra == 12 && rb == 12));
  destroy_all(halves);
  REQUIRE(ncclCommDestroy(none[0]) == ncclSuccess);
  destroy_all(comms);
}

TEST_CASE("ncclCommAbort from another thread ends a blocked call") {
  auto comms = init_all(2);
  std::atomic<ncclResult_t> got{ncclSuccess};
  std::atomic<bool> done{false};
  float x = 1, y = 0;
  // Rank 0 allreduces alone: it waits for rank 1, which never comes.
  std::thread blocked([&] {
    got = ncclAllReduce(&x, &y, 1, ncclFloat, ncclSum, comms[0], nullptr);
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_FALSE(done.load());
  REQUIRE(ncclCommAbort(comms[0]) == ncclSuccess);
  blocked.join();
  CHECK(got.load() != ncclSuccess);
  REQUIRE(ncclCommAbort(comms[1]) == ncclSuccess);
}

TEST_CASE("ranks in processes: ncclGetUniqueId, blocking and non-blocking init") {
  const int n = 3;
  int pipes[n][2];
  for (auto& p : pipes) REQUIRE(pipe(p) == 0);
  auto body = [&](int rank) -> std::string {
    ncclUniqueId id;
    if (rank == 0) {
      if (ncclGetUniqueId(&id) != ncclSuccess) return "ncclGetUniqueId: " + last();
      for (int r = 1; r < n; ++r)
        if (write(pipes[r][1], &id, sizeof id) != sizeof id) return "write id";
      // Late on purpose: rank 1's non-blocking init cannot have finished before.
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    } else if (read(pipes[rank][0], &id, sizeof id) != sizeof id) {
      return "read id";
    }
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = rank == 1 ? 0 : 1;  // rank 1 non-blocking
    ncclComm_t comm = nullptr;
    ncclResult_t r = ncclCommInitRankConfig(&comm, n, id, rank, &config);
    if (rank == 1) {
      if (r != ncclInProgress) return "non-blocking init returned " + std::to_string(r);
      ncclResult_t state = ncclInProgress;
      while (state == ncclInProgress)
        if (ncclCommGetAsyncError(comm, &state) != ncclSuccess) return "async: " + last();
      if (state != ncclSuccess) return "async state " + std::to_string(state);
    } else if (r != ncclSuccess) {
      return "init: " + last();
    }
    long v = rank + 1, sum = 0;
    if (ncclAllReduce(&v, &sum, 1, ncclInt64, ncclSum, comm, nullptr) != ncclSuccess)
      return "allreduce: " + last(comm);
    if (sum != 6) return "sum " + std::to_string(sum);
    long g[n] = {};
    if (ncclAllGather(&v, g, 1, ncclInt64, comm, nullptr) != ncclSuccess) return last(comm);
    for (int i = 0; i < n; ++i)
      if (g[i] != i + 1) return "allgather wrong";
    if (ncclCommDestroy(comm) != ncclSuccess) return "destroy: " + last();
    return "";
  };
  const auto out = colossus::test::fork_ranks(n, body, 120);
  for (auto& p : pipes) close(p[0]), close(p[1]);
  for (const auto& o : out) CHECK(o.ok());
  INFO(colossus::test::describe(out));
  for (const auto& o : out) REQUIRE(o.ok());
}

TEST_CASE("the other collectives, in nested groups from one thread") {
  const int n = 3, count = 2;
  auto comms = init_all(n);
  int in[n][n * count], out[n][n * count], bc[n][count], red[count] = {};
  for (int r = 0; r < n; ++r)
    for (int i = 0; i < n * count; ++i) in[r][i] = r * 10 + i;
  for (int r = 0; r < n; ++r)
    for (int i = 0; i < count; ++i) bc[r][i] = r == 1 ? 7 + i : -1;
  REQUIRE(ncclGroupStart() == ncclSuccess);
  REQUIRE(ncclGroupStart() == ncclSuccess);  // nested: runs at the outer end
  for (int r = 0; r < n; ++r) {
    REQUIRE(ncclBcast(bc[r], count, ncclInt32, 1, comms[r], nullptr) == ncclSuccess);
    REQUIRE(ncclReduce(in[r], red, count, ncclInt32, ncclMax, 2, comms[r], nullptr) == ncclSuccess);
  }
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  CHECK(red[0] == 0);  // nothing ran yet
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  for (int r = 0; r < n; ++r) CHECK((bc[r][0] == 7 && bc[r][1] == 8));
  CHECK((red[0] == 20 && red[1] == 21));

  REQUIRE(ncclGroupStart() == ncclSuccess);
  for (int r = 0; r < n; ++r)
    REQUIRE(ncclAlltoAll(in[r], out[r], count, ncclInt32, comms[r], nullptr) == ncclSuccess);
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  for (int r = 0; r < n; ++r)
    for (int q = 0; q < n; ++q)
      for (int i = 0; i < count; ++i) CHECK(out[r][q * count + i] == q * 10 + r * count + i);

  int gathered[n * count] = {}, scattered[n][count] = {};
  REQUIRE(ncclGroupStart() == ncclSuccess);
  for (int r = 0; r < n; ++r) {
    REQUIRE(ncclGather(in[r], r == 0 ? gathered : nullptr, count, ncclInt32, 0, comms[r],
                       nullptr) == ncclSuccess);
    REQUIRE(ncclScatter(r == 2 ? in[r] : nullptr, scattered[r], count, ncclInt32, 2, comms[r],
                        nullptr) == ncclSuccess);
  }
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  for (int q = 0; q < n; ++q)
    for (int i = 0; i < count; ++i) {
      CHECK(gathered[q * count + i] == q * 10 + i);
      CHECK(scattered[q][i] == 20 + q * count + i);
    }
  destroy_all(comms);
}

TEST_CASE("ncclCommShrink without a rank, ncclCommRevoke") {
  const int n = 3;
  auto comms = init_all(n);
  std::vector<ncclComm_t> small(n, nullptr);
  std::vector<ncclResult_t> res(n, ncclInternalError);
  int exclude[] = {1};
  std::vector<std::thread> threads;
  for (int r : {0, 2})
    threads.emplace_back([&, r] {
      res[r] = ncclCommShrink(comms[r], exclude, 1, &small[r], nullptr, NCCL_SHRINK_DEFAULT);
    });
  for (auto& t : threads) t.join();
  for (int r : {0, 2}) {
    REQUIRE(res[r] == ncclSuccess);
    int size = 0, rank = -1;
    REQUIRE(ncclCommCount(small[r], &size) == ncclSuccess);
    REQUIRE(ncclCommUserRank(small[r], &rank) == ncclSuccess);
    CHECK((size == 2 && rank == r / 2));
  }
  CHECK(ncclCommShrink(comms[0], exclude, 1, &small[1], nullptr, 7) == ncclInvalidArgument);
  REQUIRE(ncclCommRevoke(small[0], NCCL_REVOKE_DEFAULT) == ncclSuccess);
  // As nccl.h says: after a revoke the state is ncclSuccess once the
  // communicator is quiet (no other thread in a call here), while its calls fail.
  ncclResult_t async = ncclInProgress;
  REQUIRE(ncclCommGetAsyncError(small[0], &async) == ncclSuccess);
  CHECK(async == ncclSuccess);
  float x = 1, y = 0;
  CHECK(ncclAllReduce(&x, &y, 1, ncclFloat, ncclSum, small[0], nullptr) != ncclSuccess);
  CHECK(ncclCommFinalize(small[0]) == ncclInvalidUsage);  // invalid after a revoke
  for (int r : {0, 2}) REQUIRE(ncclCommAbort(small[r]) == ncclSuccess);
  for (ncclComm_t c : comms) REQUIRE(ncclCommAbort(c) == ncclSuccess);
}

TEST_CASE("ncclRedOpCreatePreMulSum: per-rank scalars, both residences, and misuse") {
  const int n = 3, count = 5;
  auto comms = init_all(n);
  // Rank r's input is (r + 1) * (i + 1); its scalar r + 2, host-immediate on
  // ranks 0 and 1, ncclScalarDevice (host memory, read at each call) on rank 2.
  float in[n][n * count], ar[n][count], rs[n][count], red[count] = {};
  float scalars[n] = {2, 3, 4};
  ncclRedOp_t ops[n];
  for (int r = 0; r < n; ++r) {
    for (int i = 0; i < n * count; ++i) in[r][i] = float((r + 1) * (i + 1));
    const auto residence = r == 2 ? ncclScalarDevice : ncclScalarHostImmediate;
    REQUIRE(ncclRedOpCreatePreMulSum(&ops[r], &scalars[r], ncclFloat32, residence, comms[r]) ==
            ncclSuccess);
    CHECK(static_cast<int>(ops[r]) >= ncclNumOps);
  }
  scalars[0] = 100;  // host-immediate: already read
  auto run = [&] {
    REQUIRE(ncclGroupStart() == ncclSuccess);
    for (int r = 0; r < n; ++r) {
      REQUIRE(ncclAllReduce(in[r], ar[r], count, ncclFloat32, ops[r], comms[r], nullptr) ==
              ncclSuccess);
      REQUIRE(ncclReduceScatter(in[r], rs[r], count, ncclFloat32, ops[r], comms[r], nullptr) ==
              ncclSuccess);
      REQUIRE(ncclReduce(in[r], r == 1 ? red : nullptr, count, ncclFloat32, ops[r], 1, comms[r],
                         nullptr) == ncclSuccess);
    }
    REQUIRE(ncclGroupEnd() == ncclSuccess);
  };
  run();
  // sum_r (r + 2) * (r + 1) = 2 + 6 + 12 = 20
  for (int r = 0; r < n; ++r)
    for (int i = 0; i < count; ++i) {
      CHECK(ar[r][i] == 20.0f * float(i + 1));
      CHECK(rs[r][i] == 20.0f * float(r * count + i + 1));
    }
  for (int i = 0; i < count; ++i) CHECK(red[i] == 20.0f * float(i + 1));
  scalars[2] = 0;  // ncclScalarDevice: read again by the next calls, 2 + 6 + 0
  run();
  for (int i = 0; i < count; ++i) CHECK(ar[0][i] == 8.0f * float(i + 1));
  for (int i = 0; i < count; ++i) CHECK(in[0][i] == float(i + 1));  // out of place: input kept

  // In place, outside a group, one rank: allreduce of int8 wraps (100 * 3 = 44).
  auto one = init_all(1);
  std::int8_t v[3] = {100, -1, 2}, s8 = 3;
  ncclRedOp_t op8;
  REQUIRE(ncclRedOpCreatePreMulSum(&op8, &s8, ncclInt8, ncclScalarHostImmediate, one[0]) ==
          ncclSuccess);
  REQUIRE(ncclAllReduce(v, v, 3, ncclInt8, op8, one[0], nullptr) == ncclSuccess);
  CHECK((v[0] == 44 && v[1] == -3 && v[2] == 6));

  // Misuse: another comm's operator, a datatype mismatch, a destroyed one,
  // a built-in one destroyed, bad creation arguments.
  CHECK(ncclAllReduce(v, v, 3, ncclInt8, ops[0], one[0], nullptr) == ncclInvalidArgument);
  CHECK(last(one[0]).find("not a user operator of this communicator") != std::string::npos);
  CHECK(ncclAllReduce(v, v, 3, ncclUint8, op8, one[0], nullptr) == ncclInvalidArgument);
  CHECK(last(one[0]).find("created for datatype") != std::string::npos);
  REQUIRE(ncclRedOpDestroy(op8, one[0]) == ncclSuccess);
  CHECK(ncclAllReduce(v, v, 3, ncclInt8, op8, one[0], nullptr) == ncclInvalidArgument);
  CHECK(last(one[0]).find("was destroyed") != std::string::npos);
  CHECK(ncclRedOpDestroy(op8, one[0]) == ncclInvalidArgument);
  CHECK(ncclRedOpDestroy(ops[1], one[0]) == ncclInvalidArgument);
  CHECK(ncclRedOpDestroy(ncclSum, one[0]) == ncclInvalidArgument);
  CHECK(last(one[0]).find("built-in") != std::string::npos);
  CHECK(ncclRedOpCreatePreMulSum(&op8, nullptr, ncclInt8, ncclScalarHostImmediate, one[0]) ==
        ncclInvalidArgument);
  CHECK(ncclRedOpCreatePreMulSum(nullptr, &s8, ncclInt8, ncclScalarHostImmediate, one[0]) ==
        ncclInvalidArgument);
  CHECK(ncclRedOpCreatePreMulSum(&op8, &s8, static_cast<ncclDataType_t>(12),
                                 ncclScalarHostImmediate, one[0]) == ncclInvalidArgument);
  CHECK(ncclRedOpCreatePreMulSum(&op8, &s8, ncclInt8, static_cast<ncclScalarResidence_t>(7),
                                 one[0]) == ncclInvalidArgument);
  CHECK(ncclRedOpCreatePreMulSum(&op8, &s8, ncclInt8, ncclScalarHostImmediate, nullptr) ==
        ncclInvalidArgument);
  for (int r = 0; r < n; ++r) CHECK(ncclRedOpDestroy(ops[r], comms[r]) == ncclSuccess);
  destroy_all(one);
  destroy_all(comms);
}
