// nccl_lifecycle_test: NCCL 2.30's lifecycle calls on host communicators
// (grow, several ids, suspend/resume, memory stats), ncclGroupSimulateEnd,
// and the functions colossus does not serve, pinned as a list.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "catch.hpp"
#include "colossus/nccl.h"
#include "support/fork_runner.hpp"

// The host functions of NCCL's device API (NVIDIA declares them in
// nccl_device.h, which needs CUDA's compiler); C linkage, opaque arguments.
extern "C" {
ncclResult_t ncclCommQueryProperties(ncclComm_t, void*);
ncclResult_t ncclDevCommCreate(ncclComm_t, const void*, void*);
ncclResult_t ncclDevCommDestroy(ncclComm_t, const void*);
ncclResult_t ncclGetLsaMultimemDevicePointer(ncclWindow_t, size_t, void**);
ncclResult_t ncclGetLsaDevicePointer(ncclWindow_t, size_t, int, void**);
ncclResult_t ncclGetPeerDevicePointer(ncclWindow_t, size_t, int, void**);
}

namespace {

const int hide_gpus = setenv("CUDA_VISIBLE_DEVICES", "", 1);

std::string last(ncclComm_t comm = nullptr) { return ncclGetLastError(comm); }

// pipes[from][to], for ids handed between forked ranks.
struct Pipes {
  explicit Pipes(int n) : fds(static_cast<size_t>(n * n)), n(n) {
    for (auto& p : fds) REQUIRE(pipe(p.data()) == 0);
  }
  ~Pipes() {
    for (auto& p : fds) close(p[0]), close(p[1]);
  }
  bool send(int from, int to, const ncclUniqueId& id) {
    return write(fds[static_cast<size_t>(from * n + to)][1], &id, sizeof id) == sizeof id;
  }
  bool recv(int from, int to, ncclUniqueId* id) {
    return read(fds[static_cast<size_t>(from * n + to)][0], id, sizeof *id) == sizeof *id;
  }
  std::vector<std::array<int, 2>> fds;
  int n;
};

// allreduce of rank + 1 over comm: "" when every rank gets n(n+1)/2.
std::string check_sum(ncclComm_t comm, int n) {
  int rank = -1;
  if (ncclCommUserRank(comm, &rank) != ncclSuccess) return "rank: " + last(comm);
  long v = rank + 1, sum = 0;
  if (ncclAllReduce(&v, &sum, 1, ncclInt64, ncclSum, comm, nullptr) != ncclSuccess)
    return "allreduce: " + last(comm);
  return sum == long(n) * (n + 1) / 2 ? "" : "sum " + std::to_string(sum);
}

void require_all_ok(const std::vector<colossus::test::ChildOutcome>& out) {
  INFO(colossus::test::describe(out));
  for (const auto& o : out) REQUIRE(o.ok());
}

}  // namespace

TEST_CASE("ncclCommGrow: two ranks take in a third, which joins with the id rank 0 made") {
  Pipes pipes(3);
  auto body = [&](int rank) -> std::string {
    ncclComm_t grown = nullptr;
    if (rank < 2) {
      ncclUniqueId id;
      if (rank == 0 && (ncclGetUniqueId(&id) != ncclSuccess || !pipes.send(0, 1, id)))
        return "first id";
      if (rank == 1 && !pipes.recv(0, 1, &id)) return "read first id";
      ncclComm_t comm = nullptr;
      if (ncclCommInitRank(&comm, 2, id, rank) != ncclSuccess) return "init: " + last();
      ncclUniqueId grow_id;
      const bool root = rank == 0;
      if (!root && ncclCommGetUniqueId(comm, &grow_id) != ncclInvalidUsage)
        return "rank 1 made a grow id";
      if (root) {
        if (ncclCommGetUniqueId(comm, &grow_id) != ncclSuccess) return "grow id: " + last(comm);
        if (ncclCommGetUniqueId(comm, &grow_id) != ncclInvalidUsage) return "second unused id";
        if (!pipes.send(0, 2, grow_id)) return "write grow id";
      }
      if (ncclCommGrow(comm, 3, root ? &grow_id : nullptr, -1, &grown, nullptr) != ncclSuccess)
        return "grow: " + last(comm);
      if (std::string e = check_sum(comm, 2); !e.empty()) return "old comm after grow: " + e;
      if (ncclCommDestroy(comm) != ncclSuccess) return "destroy old";
    } else {
      ncclUniqueId grow_id;
      if (!pipes.recv(0, 2, &grow_id)) return "read grow id";
      if (ncclCommGrow(nullptr, 3, &grow_id, 2, &grown, nullptr) != ncclSuccess)
        return "new rank's grow: " + last();
    }
    int n = 0, r = -1;
    if (ncclCommCount(grown, &n) != ncclSuccess || n != 3) return "grown size";
    if (ncclCommUserRank(grown, &r) != ncclSuccess || r != rank) return "grown rank";
    if (std::string e = check_sum(grown, 3); !e.empty()) return "grown: " + e;
    return ncclCommDestroy(grown) == ncclSuccess ? "" : "destroy grown";
  };
  require_all_ok(colossus::test::fork_ranks(3, body, 120));
}

TEST_CASE("ncclCommInitRankScalable: two ids made by ranks 0 and 2, passed to all") {
  const int n = 3;
  Pipes pipes(n);
  auto body = [&](int rank) -> std::string {
    ncclUniqueId ids[2];
    for (int k = 0; k < 2; ++k) {
      const int maker = k == 0 ? 0 : 2;
      if (rank == maker) {
        if (ncclGetUniqueId(&ids[k]) != ncclSuccess) return "id: " + last();
        for (int to = 0; to < n; ++to)
          if (to != maker && !pipes.send(maker, to, ids[k])) return "write id";
      } else if (!pipes.recv(maker, rank, &ids[k])) {
        return "read id";
      }
    }
    ncclComm_t comm = nullptr;
    if (ncclCommInitRankScalable(&comm, n, rank, 2, ids, nullptr) != ncclSuccess)
      return "init: " + last();
    if (std::string e = check_sum(comm, n); !e.empty()) return e;
    return ncclCommDestroy(comm) == ncclSuccess ? "" : "destroy";
  };
  require_all_ok(colossus::test::fork_ranks(n, body, 120));

  ncclComm_t comm = nullptr;
  ncclUniqueId junk;
  std::memset(&junk, 7, sizeof junk);
  CHECK(ncclCommInitRankScalable(&comm, 2, 0, 0, &junk, nullptr) == ncclInvalidArgument);
  CHECK(ncclCommInitRankScalable(&comm, 2, 0, 3, &junk, nullptr) == ncclInvalidArgument);
  CHECK(last().find("nId") != std::string::npos);
}

TEST_CASE("one thread makes several ranks' communicators inside a group, then splits them") {
  const int n = 3;
  ncclUniqueId id;
  REQUIRE(ncclGetUniqueId(&id) == ncclSuccess);
  std::vector<ncclComm_t> comms(n, nullptr);
  REQUIRE(ncclGroupStart() == ncclSuccess);
  for (int r = 0; r < n; ++r)
    REQUIRE(ncclCommInitRank(&comms[static_cast<size_t>(r)], n, id, r) == ncclSuccess);
  REQUIRE(ncclGroupEnd() == ncclSuccess);  // the three inits ran together here
  long v[n] = {1, 2, 3}, sum[n] = {};
  REQUIRE(ncclGroupStart() == ncclSuccess);
  for (int r = 0; r < n; ++r)
    REQUIRE(ncclAllReduce(&v[r], &sum[r], 1, ncclInt64, ncclSum, comms[static_cast<size_t>(r)],
                          nullptr) == ncclSuccess);
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  for (long s : sum) CHECK(s == 6);

  // Ranks 0 and 2 form a communicator; rank 1 takes part with no color.
  std::vector<ncclComm_t> sub(n, nullptr);
  REQUIRE(ncclGroupStart() == ncclSuccess);
  for (int r = 0; r < n; ++r)
    REQUIRE(ncclCommSplit(comms[static_cast<size_t>(r)], r == 1 ? NCCL_SPLIT_NOCOLOR : 0, r,
                          &sub[static_cast<size_t>(r)], nullptr) == ncclSuccess);
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  CHECK(sub[1] == nullptr);
  REQUIRE(sub[0] != nullptr);
  REQUIRE(sub[2] != nullptr);
  REQUIRE(ncclGroupStart() == ncclSuccess);
  for (int r : {0, 2})
    REQUIRE(ncclAllReduce(&v[r], &sum[r], 1, ncclInt64, ncclSum, sub[static_cast<size_t>(r)],
                          nullptr) == ncclSuccess);
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  CHECK(sum[0] == 4);
  CHECK(sum[2] == 4);
  for (ncclComm_t c : sub)
    if (c) REQUIRE(ncclCommDestroy(c) == ncclSuccess);
  for (ncclComm_t c : comms) REQUIRE(ncclCommDestroy(c) == ncclSuccess);
  CHECK(ncclGroupEnd() == ncclInvalidUsage);  // none open
}

TEST_CASE(
    "ncclCommSuspend refuses calls until ncclCommResume, and the memory stats of a host comm") {
  ncclComm_t comm = nullptr;
  REQUIRE(ncclCommInitAll(&comm, 1, nullptr) == ncclSuccess);
  uint64_t v = 99;
  CHECK(ncclCommSuspend(comm, 4) == ncclInvalidArgument);
  REQUIRE(ncclCommSuspend(comm, NCCL_SUSPEND_MEM) == ncclSuccess);
  CHECK(ncclCommSuspend(comm, 0) == ncclInvalidUsage);
  float x = 1, y = 0;
  CHECK(ncclAllReduce(&x, &y, 1, ncclFloat, ncclSum, comm, nullptr) == ncclInvalidUsage);
  CHECK(last(comm).find("suspended") != std::string::npos);
  REQUIRE(ncclCommMemStats(comm, ncclStatGpuMemSuspended, &v) == ncclSuccess);
  CHECK(v == 1);
  REQUIRE(ncclCommResume(comm) == ncclSuccess);
  CHECK(ncclCommResume(comm) == ncclInvalidUsage);
  REQUIRE(ncclAllReduce(&x, &y, 1, ncclFloat, ncclSum, comm, nullptr) == ncclSuccess);
  CHECK(y == 1);
  for (ncclCommMemStat_t s : {ncclStatGpuMemSuspend, ncclStatGpuMemSuspended, ncclStatGpuMemPersist,
                              ncclStatGpuMemTotal}) {
    v = 99;
    REQUIRE(ncclCommMemStats(comm, s, &v) == ncclSuccess);
    CHECK(v == 0);  // a host communicator holds no GPU memory
  }
  CHECK(ncclCommMemStats(comm, static_cast<ncclCommMemStat_t>(9), &v) == ncclInvalidArgument);
  CHECK(ncclCommMemStats(comm, ncclStatGpuMemTotal, nullptr) == ncclInvalidArgument);
  REQUIRE(ncclCommDestroy(comm) == ncclSuccess);
}

TEST_CASE("ncclGroupSimulateEnd predicts the group from the tuner's model and runs nothing") {
  const int n = 2;
  std::vector<ncclComm_t> comms(n);
  REQUIRE(ncclCommInitAll(comms.data(), n, nullptr) == ncclSuccess);
  auto simulate = [&](size_t count, std::vector<std::vector<float>>& out) {
    ncclSimInfo_t sim = NCCL_SIM_INFO_INITIALIZER;
    REQUIRE(ncclGroupStart() == ncclSuccess);
    for (int r = 0; r < n; ++r) {
      std::vector<float> in(count, 1.0f);
      out[static_cast<size_t>(r)].assign(count, -1.0f);
      REQUIRE(ncclAllReduce(in.data(), out[static_cast<size_t>(r)].data(), count, ncclFloat,
                            ncclSum, comms[static_cast<size_t>(r)], nullptr) == ncclSuccess);
    }
    REQUIRE(ncclGroupSimulateEnd(&sim) == ncclSuccess);
    return sim.estimatedTime;
  };
  std::vector<std::vector<float>> out(n);
  const float small = simulate(1024, out);
  for (const auto& o : out) CHECK(o.front() == -1.0f);  // nothing ran
  const float large = simulate(1 << 22, out);
  CHECK(small > 0);
  CHECK(large > small);  // the model charges the bytes
  // The group is over: a real one runs afterwards.
  float x[n] = {1, 2}, y[n] = {};
  REQUIRE(ncclGroupStart() == ncclSuccess);
  for (int r = 0; r < n; ++r)
    REQUIRE(ncclAllReduce(&x[r], &y[r], 1, ncclFloat, ncclSum, comms[static_cast<size_t>(r)],
                          nullptr) == ncclSuccess);
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  CHECK(y[0] == 3);
  CHECK(y[1] == 3);

  ncclSimInfo_t sim = NCCL_SIM_INFO_INITIALIZER;
  CHECK(ncclGroupSimulateEnd(&sim) == ncclInvalidUsage);  // no group open
  CHECK(ncclGroupSimulateEnd(nullptr) == ncclInvalidArgument);
  REQUIRE(ncclGroupStart() == ncclSuccess);
  REQUIRE(ncclGroupStart() == ncclSuccess);
  CHECK(ncclGroupSimulateEnd(&sim) == ncclInvalidUsage);  // an inner group is open
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  REQUIRE(ncclGroupSimulateEnd(&sim) == ncclSuccess);
  CHECK(sim.estimatedTime == 0);  // an empty group costs nothing
  for (ncclComm_t c : comms) REQUIRE(ncclCommDestroy(c) == ncclSuccess);
}

TEST_CASE("the parameter API reads the variables colossus knows, by handle and by key") {
  setenv("NCCL_BUFFSIZE", "4194304", 1);
  unsetenv("NCCL_SOCKET_IFNAME");
  ncclParamHandle_t h = nullptr, h2 = nullptr;
  REQUIRE(ncclParamBind(&h, "NCCL_BUFFSIZE") == ncclSuccess);
  REQUIRE(ncclParamBind(&h2, "NCCL_BUFFSIZE") == ncclSuccess);
  CHECK(h == h2);  // one handle per key
  int64_t i64 = 0;
  uint32_t u32 = 0;
  int8_t i8 = 0;
  REQUIRE(ncclParamGetI64(h, &i64) == ncclSuccess);
  CHECK(i64 == 4194304);
  REQUIRE(ncclParamGetU32(h, &u32) == ncclSuccess);
  CHECK(u32 == 4194304u);
  CHECK(ncclParamGetI8(h, &i8) == ncclInvalidArgument);  // does not fit
  const char* text = nullptr;
  REQUIRE(ncclParamGetStr(h, &text) == ncclSuccess);
  CHECK(std::string(text) == "4194304");
  char buf[16];
  int len = 0;
  REQUIRE(ncclParamGet(h, buf, sizeof buf, &len) == ncclSuccess);
  CHECK(len == 8);
  CHECK(std::string(buf) == "4194304");
  CHECK(ncclParamGet(h, buf, 4, &len) == ncclInvalidArgument);
  // The environment is read at each call.
  setenv("NCCL_BUFFSIZE", "-1", 1);
  CHECK(ncclParamGetU64(h, reinterpret_cast<uint64_t*>(&i64)) == ncclInvalidArgument);
  unsetenv("NCCL_BUFFSIZE");

  ncclParamHandle_t unset = nullptr;
  REQUIRE(ncclParamBind(&unset, "NCCL_SOCKET_IFNAME") == ncclSuccess);
  CHECK(ncclParamGetI32(unset, reinterpret_cast<int32_t*>(&u32)) == ncclInvalidUsage);
  CHECK(last().find("not set") != std::string::npos);
  int vlen = -1;
  REQUIRE(ncclParamGetParameter("NCCL_SOCKET_IFNAME", &text, &vlen) == ncclSuccess);
  CHECK(vlen == 0);

  ncclParamHandle_t none = nullptr;
  CHECK(ncclParamBind(&none, "NCCL_NO_SUCH_THING") == ncclInvalidArgument);
  CHECK(none == nullptr);
  const char** keys = nullptr;
  int nkeys = 0;
  REQUIRE(ncclParamGetAllParameterKeys(&keys, &nkeys) == ncclSuccess);
  std::vector<std::string> names(keys, keys + nkeys);
  CHECK(std::find(names.begin(), names.end(), "NCCL_ALGO") != names.end());
  CHECK(std::find(names.begin(), names.end(), "COLOSSUS_TIMEOUT_S") != names.end());
}

TEST_CASE("what colossus does not serve: ncclInvalidUsage naming what is missing") {
  ncclComm_t comm = nullptr;
  REQUIRE(ncclCommInitAll(&comm, 1, nullptr) == ncclSuccess);
  ncclWindow_t win = nullptr;
  void* p = nullptr;
  float x = 0;
  ncclWaitSignalDesc_t desc = {1, 0, 0, 0};
  // The list the README gives; a function that starts working leaves it.
  const std::vector<std::pair<const char*, ncclResult_t>> calls = {
      {"ncclCommWindowRegister", ncclCommWindowRegister(comm, &x, 4, &win, NCCL_WIN_DEFAULT)},
      {"ncclCommWindowDeregister", ncclCommWindowDeregister(comm, win)},
      {"ncclWinGetUserPtr", ncclWinGetUserPtr(comm, win, &p)},
      {"ncclPutSignal", ncclPutSignal(&x, 1, ncclFloat, 0, win, 0, 0, 0, 0, comm, nullptr)},
      {"ncclSignal", ncclSignal(0, 0, 0, 0, comm, nullptr)},
      {"ncclWaitSignal", ncclWaitSignal(1, &desc, comm, nullptr)},
      {"ncclCommQueryProperties", ncclCommQueryProperties(comm, &x)},
      {"ncclDevCommCreate", ncclDevCommCreate(comm, &x, &x)},
      {"ncclDevCommDestroy", ncclDevCommDestroy(comm, &x)},
      {"ncclGetLsaMultimemDevicePointer", ncclGetLsaMultimemDevicePointer(win, 0, &p)},
      {"ncclGetLsaDevicePointer", ncclGetLsaDevicePointer(win, 0, 0, &p)},
      {"ncclGetPeerDevicePointer", ncclGetPeerDevicePointer(win, 0, 0, &p)},
  };
  for (const auto& [fn, result] : calls) {
    INFO(fn);
    CHECK(result == ncclInvalidUsage);
  }
  CHECK(last(comm).find("not implemented") != std::string::npos);
  CHECK(std::string(ncclGetErrorString(ncclTimeout)).find("timed out") != std::string::npos);
  REQUIRE(ncclCommDestroy(comm) == ncclSuccess);
}
