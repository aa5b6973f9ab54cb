// nccl/group.cc: ncclGroupStart/End/SimulateEnd, and communicators made
// inside a group.
//
// Groups nest per thread, as NCCL's do; the collectives of a group are
// recorded and run by colossus's own group (group_start/group_end). NCCL
// also lets one thread make several ranks' communicators inside a group
// (ncclCommInitRank*, ncclCommSplit, ...): each such call returns at once
// with its handle, and the communicators are built together at the
// outermost ncclGroupEnd, each on a thread of its own, since a build waits
// for its peers. A group may not mix them with collectives (as in NCCL).
#include <cstddef>
#include <exception>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "nccl/nccl_impl.hpp"

using namespace colossus;
using namespace colossus::nccl;

namespace {

struct Deferred {
  ncclComm* handle;
  std::function<Communicator()> build;
  bool keep;  // false: a split's NCCL_SPLIT_NOCOLOR share, nobody holds the handle
};

thread_local int depth = 0;
thread_local std::vector<Deferred> deferred;

// Builds what the group deferred; throws the first error once all are done.
void build_deferred() {
  std::vector<Deferred> work = std::move(deferred);
  deferred.clear();
  std::vector<std::exception_ptr> errors(work.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < work.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        work[i].handle->comm = work[i].build();
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const Deferred& d : work)
    if (!d.keep) delete d.handle;
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

// Leaves one level; at the outermost, builds the deferred communicators.
void leave(const char* fn) {
  if (depth == 0) fail(ncclInvalidUsage, std::string(fn) + ": no group is open");
  if (--depth == 0 && !deferred.empty()) {
    try {
      build_deferred();
    } catch (...) {
      group_end();  // colossus's group is closed whatever happened
      throw;
    }
  }
}

}  // namespace

namespace colossus::nccl {

ncclComm* make_comm(std::function<Communicator()> build, bool keep) {
  if (depth == 0) {
    Communicator c = build();
    return keep || c.valid() ? wrap(std::move(c)) : nullptr;
  }
  ncclComm* h = wrap(Communicator{});
  deferred.push_back({h, std::move(build), keep});
  return keep ? h : nullptr;
}

}  // namespace colossus::nccl

extern "C" {

ncclResult_t ncclGroupStart() {
  return guarded("ncclGroupStart", nullptr, [] {
    group_start();
    ++depth;
    return ncclSuccess;
  });
}

ncclResult_t ncclGroupEnd() {
  return guarded("ncclGroupEnd", nullptr, [] {
    leave("ncclGroupEnd");
    group_end();
    return ncclSuccess;
  });
}

ncclResult_t ncclGroupSimulateEnd(ncclSimInfo_t* simInfo) {
  const char* fn = "ncclGroupSimulateEnd";
  constexpr unsigned kSimInfoMagic = 0x74685283;  // NCCL_SIM_INFO_INITIALIZER's
  return guarded(fn, nullptr, [&] {
    check_ptr(fn, "simInfo", simInfo);
    if (simInfo->magic != kSimInfoMagic ||
        simInfo->size < offsetof(ncclSimInfo_t, estimatedTime) + sizeof(float))
      fail(ncclInvalidArgument,
           std::string(fn) + ": simInfo was not initialized with NCCL_SIM_INFO_INITIALIZER");
    if (depth > 1)
      fail(ncclInvalidUsage, std::string(fn) + ": " + std::to_string(depth - 1) +
                                 " inner group(s) still open; close them with ncclGroupEnd");
    leave(fn);  // communicators made in the group are built: simulating them means nothing
    // The tuner model's time for the group's calls on this rank, in microseconds.
    simInfo->estimatedTime = static_cast<float>(group_simulate_end());
    return ncclSuccess;
  });
}

}  // extern "C"

COLOSSUS_NCCL_ALIAS(ncclGroupStart);
COLOSSUS_NCCL_ALIAS(ncclGroupEnd);
COLOSSUS_NCCL_ALIAS(ncclGroupSimulateEnd);
