// nccl/misc.cc: memory, registration, user operators, simulation and
// logging entry points. On host communicators there is nothing to register:
// registration hands back a handle and keeps it until deregistered.
#include <cstdlib>
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
  return guarded("ncclRedOpCreatePreMulSum", comm, [&]() -> ncclResult_t {
    check_comm("ncclRedOpCreatePreMulSum", comm);
    not_implemented("ncclRedOpCreatePreMulSum",
                    "the pre-multiplied sum (colossus has no premulsum reduction)");
  });
}

ncclResult_t ncclRedOpDestroy(ncclRedOp_t op, ncclComm_t comm) {
  return guarded("ncclRedOpDestroy", comm, [&]() -> ncclResult_t {
    check_comm("ncclRedOpDestroy", comm);
    if (static_cast<int>(op) >= 0 && static_cast<int>(op) < ncclNumOps)
      fail(ncclInvalidArgument, "ncclRedOpDestroy: operator is a built-in one");
    fail(ncclInvalidArgument,
         "ncclRedOpDestroy: no such user operator (ncclRedOpCreatePreMulSum is not implemented)");
  });
}

ncclResult_t ncclGroupSimulateEnd(ncclSimInfo_t* simInfo) {
  return guarded("ncclGroupSimulateEnd", nullptr, [&]() -> ncclResult_t {
    not_implemented("ncclGroupSimulateEnd", "simulating a group through the C API");
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
COLOSSUS_NCCL_ALIAS(ncclGroupSimulateEnd);
