// nccl/misc.cc: memory, registration and user operators. On host communicators there is nothing to
// register: registration hands back a handle and keeps it until deregistered.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "nccl/nccl_impl.hpp"

using namespace colossus;
using namespace colossus::nccl;

extern "C" {

ncclResult_t ncclMemAlloc(void** ptr, size_t size) {
  // Host memory: this process has no CUDA device to allocate on.
  return guarded("ncclMemAlloc", nullptr, [&] {
    check_ptr("ncclMemAlloc", "ptr", ptr);
    const size_t page = NCCL_WIN_REQUIRED_ALIGNMENT;
    const size_t rounded = size == 0 ? page : (size + page - 1) / page * page;
    void* p = std::aligned_alloc(page, rounded);
    if (!p) fail(ncclSystemError, "ncclMemAlloc: out of host memory");
    *ptr = p;
    return ncclSuccess;
  });
}

ncclResult_t ncclMemFree(void* ptr) {
  std::free(ptr);
  return ncclSuccess;
}

ncclResult_t ncclCommRegister(const ncclComm_t comm, void* buff, size_t size, void** handle) {
  return guarded("ncclCommRegister", comm, [&] {
    ncclComm* h = check_comm("ncclCommRegister", comm);
    check_buf("ncclCommRegister", "buff", buff, size);
    check_ptr("ncclCommRegister", "handle", handle);
    void* token = operator new(1);
    std::lock_guard<std::mutex> lock(h->mu);
    h->registered.insert(token);
    *handle = token;
    return ncclSuccess;
  });
}

ncclResult_t ncclCommDeregister(const ncclComm_t comm, void* handle) {
  return guarded("ncclCommDeregister", comm, [&] {
    ncclComm* h = check_comm("ncclCommDeregister", comm);
    std::lock_guard<std::mutex> lock(h->mu);
    if (h->registered.erase(handle) == 0)
      fail(ncclInvalidArgument, "ncclCommDeregister: handle was not registered on this comm");
    operator delete(handle);
    return ncclSuccess;
  });
}

ncclResult_t ncclCommWindowRegister(ncclComm_t comm, void* buff, size_t size, ncclWindow_t* win,
                                    int winFlags) {
  return guarded("ncclCommWindowRegister", comm, [&]() -> ncclResult_t {
    check_comm("ncclCommWindowRegister", comm);
    not_implemented("ncclCommWindowRegister", "symmetric memory windows");
  });
}

ncclResult_t ncclCommWindowDeregister(ncclComm_t comm, ncclWindow_t win) {
  return guarded("ncclCommWindowDeregister", comm, [&]() -> ncclResult_t {
    check_comm("ncclCommWindowDeregister", comm);
    not_implemented("ncclCommWindowDeregister", "symmetric memory windows");
  });
}

ncclResult_t ncclRedOpCreatePreMulSum(ncclRedOp_t* op, void* scalar, ncclDataType_t datatype,
                                      ncclScalarResidence_t residence, ncclComm_t comm) {
  const char* fn = "ncclRedOpCreatePreMulSum";
  return guarded(fn, comm, [&] {
    ncclComm* h = check_comm(fn, comm);
    check_ptr(fn, "op", op);
    check_ptr(fn, "scalar", scalar);
    const DataType t = check_dtype(fn, datatype);
    const int where = raw_enum(residence);
    if (where != ncclScalarDevice && where != ncclScalarHostImmediate)
      fail(ncclInvalidArgument,
           std::string(fn) + ": invalid scalar residence " + std::to_string(where));
    ncclUserOp u;
    u.datatype = datatype;
    u.residence = residence;
    if (residence == ncclScalarDevice) {
      u.pointer = scalar;  // host memory here (host communicators), read at each collective
    } else {
      std::memcpy(u.bytes, scalar, dtype_size(t));
    }
    // Process-wide, never reused: a handle names one operator of one communicator.
    static std::atomic<int> next{ncclNumOps};
    const int handle = next.fetch_add(1);
    if (handle < ncclNumOps) fail(ncclSystemError, std::string(fn) + ": out of operator handles");
    std::lock_guard<std::mutex> lock(h->mu);
    h->user_ops.emplace(handle, u);
    *op = static_cast<ncclRedOp_t>(handle);
    return ncclSuccess;
  });
}

ncclResult_t ncclRedOpDestroy(ncclRedOp_t op, ncclComm_t comm) {
  const char* fn = "ncclRedOpDestroy";
  return guarded(fn, comm, [&] {
    ncclComm* h = check_comm(fn, comm);
    const int o = static_cast<int>(op);
    if (o >= 0 && o < ncclNumOps)
      fail(ncclInvalidArgument, std::string(fn) + ": operator " + std::to_string(o) +
                                    " is a built-in one and cannot be destroyed");
    std::lock_guard<std::mutex> lock(h->mu);
    const auto it = h->user_ops.find(o);
    if (it == h->user_ops.end())
      fail(ncclInvalidArgument, std::string(fn) + ": operator " + std::to_string(o) +
                                    " is not a user operator of this communicator");
    if (it->second.destroyed)
      fail(ncclInvalidArgument,
           std::string(fn) + ": operator " + std::to_string(o) + " was already destroyed");
    it->second.destroyed = true;
    return ncclSuccess;
  });
}

}  // extern "C"

COLOSSUS_NCCL_ALIAS(ncclMemAlloc);
COLOSSUS_NCCL_ALIAS(ncclMemFree);
COLOSSUS_NCCL_ALIAS(ncclCommRegister);
COLOSSUS_NCCL_ALIAS(ncclCommDeregister);
COLOSSUS_NCCL_ALIAS(ncclCommWindowRegister);
COLOSSUS_NCCL_ALIAS(ncclCommWindowDeregister);
COLOSSUS_NCCL_ALIAS(ncclRedOpCreatePreMulSum);
COLOSSUS_NCCL_ALIAS(ncclRedOpDestroy);
