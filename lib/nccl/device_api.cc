// nccl/device_api.cc: the parts of NCCL's API that colossus does not serve:
// one-sided puts and signals into symmetric windows, and the host half of
// NCCL's device-initiated API (nccl_device.h: device communicators, LSA and
// multimem pointers). They need symmetric GPU memory shared between ranks
// (NVLink or multicast objects), which host communicators do not have, so
// each returns ncclInvalidUsage and ncclGetLastError names what is missing.
// They exist so that programs linked against NCCL 2.30 (libtorch_cuda.so
// imports several) load, and fail only where they call them. The list is
// pinned by tests/nccl and written in the README.
#include <string>

#include "nccl/nccl_impl.hpp"

using namespace colossus;
using namespace colossus::nccl;

// The device API's types, as opaque as colossus needs them (nccl_device.h).
struct ncclDevCommRequirements;
struct ncclDevComm;
struct ncclCommProperties;

extern "C" {
// Declared by NVIDIA's nccl_device/core.h, not by nccl.h; no pnccl aliases.
ncclResult_t ncclCommQueryProperties(ncclComm_t comm, ncclCommProperties* props);
ncclResult_t ncclDevCommCreate(ncclComm_t comm, const ncclDevCommRequirements* reqs,
                               ncclDevComm* outDevComm);
ncclResult_t ncclDevCommDestroy(ncclComm_t comm, const ncclDevComm* devComm);
ncclResult_t ncclGetLsaMultimemDevicePointer(ncclWindow_t window, size_t offset, void** outPtr);
ncclResult_t ncclGetLsaDevicePointer(ncclWindow_t window, size_t offset, int lsaRank,
                                     void** outPtr);
ncclResult_t ncclGetPeerDevicePointer(ncclWindow_t window, size_t offset, int peer, void** outPtr);
}

namespace {

const char* const kWindows =
    "symmetric memory windows (one-sided put/signal and window pointers need GPU memory "
    "mapped by every rank; host communicators have none)";
const char* const kDeviceApi =
    "NCCL's device-initiated API (device communicators and LSA/multimem pointers need CUDA "
    "devices with symmetric memory; the C API makes host communicators only)";

// The body of every function here: check the communicator if one is passed,
// then say what is missing.
ncclResult_t unsupported(const char* fn, ncclComm_t comm, const char* what) {
  return guarded(fn, comm, [&]() -> ncclResult_t {
    if (comm) check_comm(fn, comm);
    not_implemented(fn, what);
  });
}

}  // namespace

extern "C" {

ncclResult_t ncclWinGetUserPtr(ncclComm_t comm, ncclWindow_t, void**) {
  return unsupported("ncclWinGetUserPtr", comm, kWindows);
}

ncclResult_t ncclPutSignal(const void*, size_t, ncclDataType_t, int, ncclWindow_t, size_t, int, int,
                           unsigned int, ncclComm_t comm, cudaStream_t) {
  return unsupported("ncclPutSignal", comm, kWindows);
}

ncclResult_t ncclSignal(int, int, int, unsigned int, ncclComm_t comm, cudaStream_t) {
  return unsupported("ncclSignal", comm, kWindows);
}

ncclResult_t ncclWaitSignal(int, ncclWaitSignalDesc_t*, ncclComm_t comm, cudaStream_t) {
  return unsupported("ncclWaitSignal", comm, kWindows);
}

ncclResult_t ncclCommQueryProperties(ncclComm_t comm, ncclCommProperties*) {
  return unsupported("ncclCommQueryProperties", comm, kDeviceApi);
}

ncclResult_t ncclDevCommCreate(ncclComm_t comm, const ncclDevCommRequirements*, ncclDevComm*) {
  return unsupported("ncclDevCommCreate", comm, kDeviceApi);
}

ncclResult_t ncclDevCommDestroy(ncclComm_t comm, const ncclDevComm*) {
  return unsupported("ncclDevCommDestroy", comm, kDeviceApi);
}

ncclResult_t ncclGetLsaMultimemDevicePointer(ncclWindow_t, size_t, void**) {
  return unsupported("ncclGetLsaMultimemDevicePointer", nullptr, kDeviceApi);
}

ncclResult_t ncclGetLsaDevicePointer(ncclWindow_t, size_t, int, void**) {
  return unsupported("ncclGetLsaDevicePointer", nullptr, kDeviceApi);
}

ncclResult_t ncclGetPeerDevicePointer(ncclWindow_t, size_t, int, void**) {
  return unsupported("ncclGetPeerDevicePointer", nullptr, kDeviceApi);
}

}  // extern "C"

COLOSSUS_NCCL_ALIAS(ncclWinGetUserPtr);
COLOSSUS_NCCL_ALIAS(ncclPutSignal);
COLOSSUS_NCCL_ALIAS(ncclSignal);
COLOSSUS_NCCL_ALIAS(ncclWaitSignal);
