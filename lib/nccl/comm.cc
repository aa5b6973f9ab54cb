// nccl/comm.cc: making, querying and ending communicators.
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "nccl/nccl_impl.hpp"

using namespace colossus;
using namespace colossus::nccl;

namespace colossus::nccl {

ncclResult_t progress_of(const ncclComm* h) {
  return h && h->comm.valid() && h->comm.state() == CommState::InProgress ? ncclInProgress
                                                                          : ncclSuccess;
}

UniqueId to_colossus(const ncclUniqueId& id) {
  UniqueId out;
  static_assert(sizeof out.internal == sizeof id.internal);
  std::memcpy(out.internal, id.internal, sizeof out.internal);
  return out;
}

}  // namespace colossus::nccl

namespace {

// ncclCommInitRank and its variants: the ids (one, or several for
// ncclCommInitRankScalable) are checked and handed to colossus::init.
ncclResult_t init_rank(const char* fn, ncclComm_t* out, int nranks, const ncclUniqueId* ids,
                       int nids, int rank, const ncclConfig_t* config) {
  return guarded(fn, nullptr, [&] {
    check_ptr(fn, "comm", out);
    *out = nullptr;
    if (nranks < 1) fail(ncclInvalidArgument, std::string(fn) + ": nranks must be at least 1");
    check_rank(fn, "rank", rank, nranks);
    check_ptr(fn, "commIds", ids);
    if (nids < 1 || nids > nranks)
      fail(ncclInvalidArgument,
           std::string(fn) + ": nId " + std::to_string(nids) + " is out of range [1, nranks]");
    Options options = read_config(fn, config);
    bind_device(options);
    std::vector<UniqueId> uids;
    for (int k = 0; k < nids; ++k) uids.push_back(to_colossus(ids[k]));
    ncclComm* h = make_comm([uids, rank, nranks, options] {
      return uids.size() == 1 ? init(uids.front(), rank, nranks, options)
                              : init(uids, rank, nranks, options);
    });
    *out = h;
    return progress_of(h);
  });
}

}  // namespace

extern "C" {

ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId) {
  return guarded("ncclGetUniqueId", nullptr, [&] {
    check_ptr("ncclGetUniqueId", "uniqueId", uniqueId);
    const UniqueId id = make_unique_id();
    std::memcpy(uniqueId->internal, id.internal, sizeof id.internal);
    return ncclSuccess;
  });
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank) {
  return init_rank("ncclCommInitRank", comm, nranks, &commId, 1, rank, nullptr);
}

ncclResult_t ncclCommInitRankConfig(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank,
                                    ncclConfig_t* config) {
  return init_rank("ncclCommInitRankConfig", comm, nranks, &commId, 1, rank, config);
}

ncclResult_t ncclCommInitRankScalable(ncclComm_t* newcomm, int nranks, int myrank, int nId,
                                      ncclUniqueId* commIds, ncclConfig_t* config) {
  return init_rank("ncclCommInitRankScalable", newcomm, nranks, commIds, nId, myrank, config);
}

ncclResult_t ncclCommInitAll(ncclComm_t* comms, int ndev, const int* devlist) {
  // Rank i binds to devlist[i] (device i without a list); host communicators
  // have no device, and the list is not read. The ranks of one loopback
  // group share a device: a list naming different devices is not served.
  const char* fn = "ncclCommInitAll";
  return guarded(fn, nullptr, [&] {
    check_ptr(fn, "comm", comms);
    if (ndev < 1) fail(ncclInvalidArgument, "ncclCommInitAll: ndev must be at least 1");
    Options options;
    if (cuda_device_count() > 0) {
      options.cuda_device = devlist ? devlist[0] : 0;
      for (int i = 1; i < ndev; ++i)
        if ((devlist ? devlist[i] : i) != options.cuda_device)
          not_implemented(fn,
                          "ranks of one process on different CUDA devices (ncclCommInitAll "
                          "ranks share one device in colossus: pass the same device "
                          "ndev times, or use one process per device)");
    }
    std::vector<Communicator> group = loopback_group(ndev, options);
    for (int i = 0; i < ndev; ++i) comms[i] = wrap(std::move(group[static_cast<size_t>(i)]));
    return ncclSuccess;
  });
}

ncclResult_t ncclCommSplit(ncclComm_t comm, int color, int key, ncclComm_t* newcomm,
                           ncclConfig_t* config) {
  // The new communicator inherits the parent's settings (blocking included),
  // as colossus's split does; a config is checked but its fields not applied.
  const char* fn = "ncclCommSplit";
  return guarded(fn, comm, [&] {
    ncclComm* h = check_comm(fn, comm);
    check_ptr(fn, "newcomm", newcomm);
    *newcomm = nullptr;
    if (color < NCCL_SPLIT_NOCOLOR)
      fail(ncclInvalidArgument, std::string(fn) + ": color must be >= 0 or NCCL_SPLIT_NOCOLOR");
    read_config(fn, config);
    // NCCL_SPLIT_NOCOLOR: this rank takes part, and *newcomm stays NULL.
    ncclComm* c = make_comm([h, color, key] { return h->comm.split(color, key); },
                            color != NCCL_SPLIT_NOCOLOR);
    *newcomm = c;
    return progress_of(c);
  });
}

ncclResult_t ncclCommShrink(ncclComm_t comm, int* excludeRanksList, int excludeRanksCount,
                            ncclComm_t* newcomm, ncclConfig_t* config, int shrinkFlags) {
  const char* fn = "ncclCommShrink";
  return guarded(fn, comm, [&] {
    ncclComm* h = check_comm(fn, comm);
    check_ptr(fn, "newcomm", newcomm);
    *newcomm = nullptr;
    if (excludeRanksCount < 0)
      fail(ncclInvalidArgument, std::string(fn) + ": excludeRanksCount is negative");
    check_buf(fn, "excludeRanksList", excludeRanksList, static_cast<size_t>(excludeRanksCount));
    if (shrinkFlags != NCCL_SHRINK_DEFAULT && shrinkFlags != NCCL_SHRINK_ABORT)
      fail(ncclInvalidArgument,
           std::string(fn) + ": unknown shrinkFlags " + std::to_string(shrinkFlags));
    read_config(fn, config);
    const std::vector<int> exclude(excludeRanksList, excludeRanksList + excludeRanksCount);
    const ShrinkMode mode =
        shrinkFlags == NCCL_SHRINK_ABORT ? ShrinkMode::Abort : ShrinkMode::Default;
    ncclComm* c = make_comm([h, exclude, mode] { return h->comm.shrink(exclude, mode); });
    *newcomm = c;
    return progress_of(c);
  });
}

ncclResult_t ncclCommFinalize(ncclComm_t comm) {
  // Host calls have completed when they return: nothing is left to flush.
  return guarded("ncclCommFinalize", comm, [&] {
    ncclComm* h = check_comm("ncclCommFinalize", comm);
    if (h->revoked)
      fail(ncclInvalidUsage,
           "ncclCommFinalize: the communicator was revoked (destroy or "
           "shrink it; finalizing after ncclCommRevoke is invalid)");
    return ncclSuccess;
  });
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  if (!comm) return ncclSuccess;  // as NCCL: destroying NULL is a no-op
  const ncclResult_t r = guarded("ncclCommDestroy", nullptr, [&] {
    comm->comm.destroy();
    return ncclSuccess;
  });
  for (void* p : comm->registered) operator delete(p);
  delete comm;
  return r;
}

ncclResult_t ncclCommAbort(ncclComm_t comm) {
  if (!comm) return ncclSuccess;
  const ncclResult_t r = guarded("ncclCommAbort", nullptr, [&] {
    comm->comm.abort();  // ends the calls other threads are blocked in
    while (comm->active.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    comm->comm.destroy();
    return ncclSuccess;
  });
  for (void* p : comm->registered) operator delete(p);
  delete comm;
  return r;
}

ncclResult_t ncclCommRevoke(ncclComm_t comm, int revokeFlags) {
  return guarded("ncclCommRevoke", comm, [&] {
    ncclComm* h = check_comm("ncclCommRevoke", comm);
    if (revokeFlags != NCCL_REVOKE_DEFAULT)
      fail(ncclInvalidArgument, "ncclCommRevoke: revokeFlags must be NCCL_REVOKE_DEFAULT (0)");
    h->comm.revoke();
    h->revoked = true;
    return ncclSuccess;
  });
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* asyncError) {
  return guarded("ncclCommGetAsyncError", comm, [&] {
    ncclComm* h = check_comm("ncclCommGetAsyncError", comm);
    check_ptr("ncclCommGetAsyncError", "asyncError", asyncError);
    if (h->revoked) {
      // As NCCL: after a revoke the state says whether the communicator is
      // quiet (no call of another thread still returning), whatever ended
      // it; shrink and destroy may follow. This call counts as active.
      *asyncError = h->active.load() > 1 ? ncclInProgress : ncclSuccess;
      return ncclSuccess;
    }
    switch (h->comm.state()) {
      case CommState::Ready: *asyncError = ncclSuccess; break;
      case CommState::InProgress: *asyncError = ncclInProgress; break;
      case CommState::Failed:
        try {
          h->comm.check_async_error();
          *asyncError = ncclInternalError;  // Failed, yet no error to say why
        } catch (const Error& e) {
          set_last_error(h, std::string("communicator failed: ") + e.what());
          *asyncError = to_result(e.code());
        }
        break;
    }
    return ncclSuccess;
  });
}

ncclResult_t ncclCommCount(const ncclComm_t comm, int* count) {
  return guarded("ncclCommCount", comm, [&] {
    ncclComm* h = check_comm("ncclCommCount", comm);
    check_ptr("ncclCommCount", "count", count);
    *count = h->comm.size();
    return ncclSuccess;
  });
}

ncclResult_t ncclCommUserRank(const ncclComm_t comm, int* rank) {
  return guarded("ncclCommUserRank", comm, [&] {
    ncclComm* h = check_comm("ncclCommUserRank", comm);
    check_ptr("ncclCommUserRank", "rank", rank);
    *rank = h->comm.rank();
    return ncclSuccess;
  });
}

ncclResult_t ncclCommCuDevice(const ncclComm_t comm, int* device) {
  // NCCL always has a device here; a host communicator has none and says -1.
  return guarded("ncclCommCuDevice", comm, [&] {
    ncclComm* h = check_comm("ncclCommCuDevice", comm);
    check_ptr("ncclCommCuDevice", "device", device);
    *device = h->comm.cuda_device();
    return ncclSuccess;
  });
}

}  // extern "C"

COLOSSUS_NCCL_ALIAS(ncclGetUniqueId);
COLOSSUS_NCCL_ALIAS(ncclCommInitRank);
COLOSSUS_NCCL_ALIAS(ncclCommInitRankConfig);
COLOSSUS_NCCL_ALIAS(ncclCommInitRankScalable);
COLOSSUS_NCCL_ALIAS(ncclCommInitAll);
COLOSSUS_NCCL_ALIAS(ncclCommSplit);
COLOSSUS_NCCL_ALIAS(ncclCommShrink);
COLOSSUS_NCCL_ALIAS(ncclCommFinalize);
COLOSSUS_NCCL_ALIAS(ncclCommDestroy);
COLOSSUS_NCCL_ALIAS(ncclCommAbort);
COLOSSUS_NCCL_ALIAS(ncclCommRevoke);
COLOSSUS_NCCL_ALIAS(ncclCommGetAsyncError);
COLOSSUS_NCCL_ALIAS(ncclCommCount);
COLOSSUS_NCCL_ALIAS(ncclCommUserRank);
COLOSSUS_NCCL_ALIAS(ncclCommCuDevice);
