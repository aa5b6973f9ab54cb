// arena.cc: allocating, exporting and opening connection arenas (arena.hpp).
#include "transports/cuda_ipc/arena.hpp"

#include <cuda_runtime_api.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "colossus/error.hpp"

namespace colossus::transport::cuda_ipc {
namespace {

// A random number per process: two processes on one host may share a pid
// (containers), never this.
std::uint64_t process_token() {
  static const std::uint64_t token = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^ static_cast<std::uint64_t>(getpid());
  }();
  return token;
}

[[noreturn]] void fail(ErrorCode code, const std::string& what, cudaError_t err) {
  throw Error(code, "cuda_ipc: " + what + ": " + cuda_error_text(err));
}

}  // namespace

std::string cuda_error_text(int cuda_error) {
  const auto err = static_cast<cudaError_t>(cuda_error);
  return std::string(cudaGetErrorName(err)) + " (" + cudaGetErrorString(err) + ")";
}

Arena::Arena(ArenaKind kind, std::size_t slot_bytes, std::uint32_t depth, cudaStream_t stream)
    : kind_(kind), bytes_(ArenaLayout::bytes(slot_bytes, depth)) {
  if (kind_ == ArenaKind::Device) {
    if (cudaError_t e = cudaMalloc(&device_, bytes_); e != cudaSuccess) {
      fail(ErrorCode::CudaError, "cudaMalloc of " + std::to_string(bytes_) + " B", e);
    }
    // Only the counters need zeroes; the ring is written before it is read.
    cudaError_t e = cudaMemsetAsync(device_, 0, ArenaLayout::ring_offset(depth), stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) {
      cudaFree(device_);
      fail(ErrorCode::CudaError, "cudaMemset", e);
    }
    return;
  }
  // Portable: mapped in every context of the process; Mapped: the GPU
  // reaches it over PCIe (zero-copy), which the proxy protocol relies on.
  if (cudaError_t e = cudaHostAlloc(&host_, bytes_, cudaHostAllocMapped | cudaHostAllocPortable);
      e != cudaSuccess) {
    fail(ErrorCode::CudaError, "cudaHostAlloc of " + std::to_string(bytes_) + " B", e);
  }
  std::memset(host_, 0, bytes_);
  if (cudaError_t e = cudaHostGetDevicePointer(&device_, host_, 0); e != cudaSuccess) {
    cudaFreeHost(host_);
    fail(ErrorCode::CudaError, "cudaHostGetDevicePointer", e);
  }
}

Arena::~Arena() {
  if (kind_ == ArenaKind::Device) {
    cudaFree(device_);
  } else {
    cudaFreeHost(host_);
  }
}

ArenaHandle Arena::handle() const {
  ArenaHandle h;
  h.kind = static_cast<std::uint8_t>(kind_);
  h.pointer = reinterpret_cast<std::uintptr_t>(device_);
  h.bytes = bytes_;
  h.pid = static_cast<std::int32_t>(getpid());
  h.process = process_token();
  if (kind_ == ArenaKind::Device) cudaGetDevice(&h.device);
  if (kind_ == ArenaKind::Device) {
    cudaIpcMemHandle_t ipc;
    if (cudaError_t e = cudaIpcGetMemHandle(&ipc, device_); e != cudaSuccess) {
      fail(ErrorCode::CudaError, "cudaIpcGetMemHandle", e);
    }
    static_assert(sizeof ipc == sizeof h.ipc, "cudaIpcMemHandle_t is 64 bytes");
    std::memcpy(h.ipc, &ipc, sizeof ipc);
  }
  return h;
}

RemoteArena::RemoteArena(const ArenaHandle& h) {
  if (h.process == process_token()) {
    // A thread of this process: the address is ours too, but another GPU's
    // memory is reachable from this one only with peer access.
    int here = -1;
    cudaGetDevice(&here);
    if (h.kind == static_cast<std::uint8_t>(ArenaKind::Device) && h.device >= 0 &&
        h.device != here) {
      int can = 0;
      cudaDeviceCanAccessPeer(&can, here, h.device);
      if (!can) {
        throw Error(ErrorCode::RemoteError,
                    "cuda_ipc: device " + std::to_string(here) + " cannot access device " +
                        std::to_string(h.device) + " (no peer-to-peer path)");
      }
      const cudaError_t e = cudaDeviceEnablePeerAccess(h.device, 0);
      if (e == cudaErrorPeerAccessAlreadyEnabled) {
        cudaGetLastError();
      } else if (e != cudaSuccess) {
        fail(ErrorCode::RemoteError, "cudaDeviceEnablePeerAccess", e);
      }
    }
    mapped_ = reinterpret_cast<void*>(static_cast<std::uintptr_t>(h.pointer));
    return;
  }
  if (h.kind != static_cast<std::uint8_t>(ArenaKind::Device)) {
    throw Error(ErrorCode::RemoteError,
                "cuda_ipc: a peer process offered host memory, which cannot be mapped here");
  }
  cudaIpcMemHandle_t ipc;
  std::memcpy(&ipc, h.ipc, sizeof ipc);
  if (cudaError_t e = cudaIpcOpenMemHandle(&mapped_, ipc, cudaIpcMemLazyEnablePeerAccess);
      e != cudaSuccess) {
    fail(ErrorCode::RemoteError,
         "cudaIpcOpenMemHandle of process " + std::to_string(h.pid) + "'s FIFO", e);
  }
  opened_ipc_ = true;
}

RemoteArena::~RemoteArena() {
  if (opened_ipc_) cudaIpcCloseMemHandle(mapped_);
}

}  // namespace colossus::transport::cuda_ipc
