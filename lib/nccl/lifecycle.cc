// nccl/lifecycle.cc: growing, suspending and the memory a communicator holds.
//
// Growing (NCCL 2.30): rank 0 of the communicator makes an id with
// ncclCommGetUniqueId; the existing ranks call ncclCommGrow with rank -1
// (rank 0 passing that id, the others NULL: it reaches them by a broadcast
// over the old communicator) and keep their ranks; the new ranks call it with
// comm NULL, the id and a rank from the old size up. Together they make a new
// communicator of nRanks through an ordinary rendezvous at rank 0. The old
// communicator stays usable. colossus's rendezvous root is rank 0, so only
// rank 0 may make the id (NCCL lets the caller pick the root).
//
// A host communicator holds no GPU memory: ncclCommMemStats reports 0 bytes,
// and suspending releases nothing; it only makes every other call fail with
// ncclInvalidUsage until ncclCommResume.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "nccl/nccl_impl.hpp"

using namespace colossus;
using namespace colossus::nccl;

namespace {

// An existing rank's part of a grow: the id from rank 0, then the rendezvous.
Communicator grow_existing(const char* fn, ncclComm* h, int nranks, const ncclUniqueId* id,
                           const Options& options) {
  const int old_size = h->comm.size();
  if (nranks <= old_size)
    fail(ncclInvalidArgument, std::string(fn) + ": nRanks " + std::to_string(nranks) +
                                  " does not exceed the communicator's " +
                                  std::to_string(old_size) + " ranks");
  UniqueId uid{};
  if (h->comm.rank() == 0) {
    check_ptr(fn, "uniqueId (on rank 0, from ncclCommGetUniqueId)", id);
    std::lock_guard<std::mutex> lock(h->mu);
    if (!h->grow_id || std::memcmp(h->grow_id->internal, id->internal, sizeof uid.internal) != 0)
      fail(ncclInvalidArgument,
           std::string(fn) + ": uniqueId is not the one ncclCommGetUniqueId made on this comm");
    uid = *h->grow_id;
    h->grow_id.reset();  // consumed
  }
  h->comm.broadcast(uid.internal, uid.internal, sizeof uid.internal, DataType::Uint8, 0);
  return init(uid, h->comm.rank(), nranks, options);
}

}  // namespace

extern "C" {

ncclResult_t ncclCommGetUniqueId(ncclComm_t comm, ncclUniqueId* uniqueId) {
  const char* fn = "ncclCommGetUniqueId";
  return guarded(fn, comm, [&] {
    ncclComm* h = check_comm(fn, comm);
    check_ptr(fn, "uniqueId", uniqueId);
    if (h->comm.rank() != 0)
      fail(ncclInvalidUsage, std::string(fn) +
                                 ": only rank 0 of the communicator makes the "
                                 "grow id in colossus (its rendezvous root)");
    std::lock_guard<std::mutex> lock(h->mu);
    if (h->grow_id)
      fail(ncclInvalidUsage,
           std::string(fn) + ": the previous id has not been used by ncclCommGrow yet");
    h->grow_id = std::make_unique<UniqueId>(make_unique_id());
    std::memcpy(uniqueId->internal, h->grow_id->internal, sizeof uniqueId->internal);
    return ncclSuccess;
  });
}

ncclResult_t ncclCommGrow(ncclComm_t comm, int nRanks, const ncclUniqueId* uniqueId, int rank,
                          ncclComm_t* newcomm, ncclConfig_t* config) {
  const char* fn = "ncclCommGrow";
  return guarded(fn, comm, [&] {
    check_ptr(fn, "newcomm", newcomm);
    *newcomm = nullptr;
    Options options = read_config(fn, config);
    bind_device(options);
    Communicator grown;
    if (comm) {
      ncclComm* h = check_comm(fn, comm);
      if (rank != -1)
        fail(ncclInvalidArgument,
             std::string(fn) + ": an existing rank passes rank -1 (it keeps its rank)");
      grown = grow_existing(fn, h, nRanks, uniqueId, options);
    } else {
      check_ptr(fn, "uniqueId (a new rank needs the id)", uniqueId);
      if (nRanks < 2) fail(ncclInvalidArgument, std::string(fn) + ": nRanks must be at least 2");
      if (rank < 1 || rank >= nRanks)
        fail(ncclInvalidArgument, std::string(fn) + ": a new rank's rank " + std::to_string(rank) +
                                      " is out of range [1, " + std::to_string(nRanks) + ")");
      grown = init(to_colossus(*uniqueId), rank, nRanks, options);
    }
    ncclComm* c = wrap(std::move(grown));
    *newcomm = c;
    return progress_of(c);
  });
}

ncclResult_t ncclCommSuspend(ncclComm_t comm, int flags) {
  const char* fn = "ncclCommSuspend";
  return guarded(fn, comm, [&] {
    ncclComm* h = check_comm(fn, comm);
    if ((flags & ~NCCL_SUSPEND_MEM) != 0)
      fail(ncclInvalidArgument, std::string(fn) + ": unknown flags " + std::to_string(flags));
    if (h->suspended.exchange(true))
      fail(ncclInvalidUsage, std::string(fn) + ": the communicator is already suspended");
    return ncclSuccess;
  });
}

ncclResult_t ncclCommResume(ncclComm_t comm) {
  const char* fn = "ncclCommResume";
  return guarded(fn, comm, [&] {
    ncclComm* h = check_comm(fn, comm);
    if (!h->suspended.exchange(false))
      fail(ncclInvalidUsage, std::string(fn) + ": the communicator is not suspended");
    return ncclSuccess;
  });
}

ncclResult_t ncclCommMemStats(ncclComm_t comm, ncclCommMemStat_t stat, uint64_t* value) {
  const char* fn = "ncclCommMemStats";
  return guarded(fn, comm, [&] {
    ncclComm* h = check_comm(fn, comm);
    check_ptr(fn, "value", value);
    switch (const int which = raw_enum(stat)) {
      case ncclStatGpuMemSuspended: *value = h->suspended.load() ? 1 : 0; break;
      case ncclStatGpuMemSuspend:
      case ncclStatGpuMemPersist:
      case ncclStatGpuMemTotal: *value = 0; break;  // host communicators hold no GPU memory
      default:
        fail(ncclInvalidArgument, std::string(fn) + ": unknown stat " + std::to_string(which));
    }
    return ncclSuccess;
  });
}

}  // extern "C"

COLOSSUS_NCCL_ALIAS(ncclCommGetUniqueId);
COLOSSUS_NCCL_ALIAS(ncclCommGrow);
COLOSSUS_NCCL_ALIAS(ncclCommSuspend);
COLOSSUS_NCCL_ALIAS(ncclCommResume);
COLOSSUS_NCCL_ALIAS(ncclCommMemStats);
