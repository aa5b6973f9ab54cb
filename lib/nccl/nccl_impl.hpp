// nccl/nccl_impl.hpp: what the C functions of libnccl.so.2 share.
//
// ncclComm (the object behind ncclComm_t) wraps one colossus::Communicator
// plus what NCCL keeps per communicator: the text of its last error, the
// handles of ncclCommRegister and the operators of ncclRedOpCreatePreMulSum.
// Every C entry point runs its body through guarded(), so no exception
// crosses the C ABI: colossus::Error becomes its ncclResult_t, anything else
// ncclInternalError, and the message is kept for
// ncclGetLastError (on the communicator, and on the calling thread).
//
// Thread safety: ncclCommAbort may run on any thread while another is inside
// a call of the same communicator; `active` counts the calls in flight so
// that the abort frees the handle only after they have returned.
#pragma once

#include <atomic>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "colossus/colossus.hpp"
#include "colossus/nccl.h"

// A user operator of ncclRedOpCreatePreMulSum: a pre-multiplied sum of one
// datatype, with its scalar read at creation (ncclScalarHostImmediate) or,
// from `pointer`, at every collective that uses it (ncclScalarDevice: on
// these host communicators the pointer is host memory).
struct ncclUserOp {
  ncclDataType_t datatype = ncclFloat32;
  ncclScalarResidence_t residence = ncclScalarHostImmediate;
  const void* pointer = nullptr;           // ncclScalarDevice
  alignas(8) unsigned char bytes[8] = {};  // ncclScalarHostImmediate
  bool destroyed = false;
};

struct ncclComm {
  colossus::Communicator comm;
  std::atomic<int> active{0};
  std::atomic<bool> suspended{false};  // ncclCommSuspend .. ncclCommResume
  std::atomic<bool> revoked{false};    // ncclCommRevoke was called on this handle
  std::mutex mu;                       // guards last_error, registered, user_ops and grow_id
  std::string last_error;              // the text ncclGetLastError(this) returns
  std::set<void*> registered;
  // User operators by handle value. Handles are unique in the process (a
  // handle of another communicator is never found here); destroyed ones
  // stay, marked, so that their later use is named as such.
  std::map<int, ncclUserOp> user_ops;
  // The id ncclCommGetUniqueId made for a grow, until ncclCommGrow uses it.
  std::unique_ptr<colossus::UniqueId> grow_id;
};

namespace colossus::nccl {

// An error raised by the C layer itself (bad argument, missing feature).
[[noreturn]] void fail(ncclResult_t code, const std::string& message);
// fail(ncclInvalidUsage, "<fn>: <what> is not implemented ...").
[[noreturn]] void not_implemented(const char* fn, const std::string& what);

// Records `message` as the last error of `comm` (may be null) and of this thread.
void set_last_error(ncclComm* comm, const std::string& message);
ncclResult_t to_result(ErrorCode code);
// "<fn>: <what>", unless `what` already starts with "<fn>:" (errors of the C layer do).
std::string with_fn(const char* fn, const char* what);

// Runs body() and returns ncclSuccess, or the error it threw, recorded.
// A non-null comm is counted as busy while body runs.
template <class Body>
ncclResult_t guarded(const char* fn, ncclComm* comm, Body&& body) noexcept {
  struct Busy {
    ncclComm* c;
    explicit Busy(ncclComm* comm) : c(comm) {
      if (c) c->active.fetch_add(1);
    }
    ~Busy() {
      if (c) c->active.fetch_sub(1);
    }
  };
  try {
    Busy busy(comm);
    return body();
  } catch (const Error& e) {
    set_last_error(comm, with_fn(fn, e.what()));
    return to_result(e.code());
  } catch (const std::exception& e) {
    set_last_error(comm, std::string(fn) + ": internal error: " + e.what());
    return ncclInternalError;
  } catch (...) {
    set_last_error(comm, std::string(fn) + ": internal error: unknown exception");
    return ncclInternalError;
  }
}

// The int a C caller passed for an enum argument. C callers may pass any
// int, and C++ may not load a value outside the enum's range as the enum,
// so the bytes are read as an int.
template <class E>
int raw_enum(const E& e) {
  static_assert(sizeof(E) == sizeof(int));
  int v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

// Argument checks, each failing with ncclInvalidArgument and a text naming fn.
// check_comm also refuses a suspended communicator (ncclInvalidUsage) unless
// fn may run on one (queries, resume, abort, destroy: common.cc).
ncclComm* check_comm(const char* fn, ncclComm_t comm);
void check_ptr(const char* fn, const char* name, const void* ptr);
void check_buf(const char* fn, const char* name, const void* ptr, std::size_t count);
DataType check_dtype(const char* fn, ncclDataType_t type);
// A collective's operator: a built-in one, or a pre-multiplied sum of `comm`
// created for `datatype` (premul set, its scalar read now into `scalar`).
struct CollOp {
  ReduceOp op = ReduceOp::Sum;
  bool premul = false;
  alignas(8) unsigned char scalar[8] = {};
};
CollOp check_op(const char* fn, ncclComm* comm, ncclRedOp_t op, ncclDataType_t datatype);
void check_rank(const char* fn, const char* name, int rank, int size);

// Options from a config (null: defaults), read only as far as config->size
// goes, as NCCL reads configs of older headers.
Options read_config(const char* fn, const ncclConfig_t* config);

// CUDA devices this process can use (0 without a driver or a GPU); the
// device the calling thread selected; and what every init does with them:
// binds the communicator to that device if there is one (device.cc).
int cuda_device_count();
int current_cuda_device();
void bind_device(Options& options);

// A new handle owning `c`.
ncclComm* wrap(Communicator c);
// A handle for the communicator `build` makes: built now, or inside a group
// at the outermost ncclGroupEnd (group.cc). keep = false: the caller gets
// no handle when the result is empty (a split's NCCL_SPLIT_NOCOLOR), and
// inside a group it always gets none.
ncclComm* make_comm(std::function<Communicator()> build, bool keep = true);
// ncclInProgress while a non-blocking init, split or grow is still building `h`.
ncclResult_t progress_of(const ncclComm* h);
UniqueId to_colossus(const ncclUniqueId& id);

}  // namespace colossus::nccl

// Defines pnccl<name> as another name of nccl<name> (same TU as the definition).
#define COLOSSUS_NCCL_ALIAS(name) extern "C" __attribute__((alias(#name))) decltype(name) p##name
