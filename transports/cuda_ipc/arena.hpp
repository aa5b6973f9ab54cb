// arena.hpp: the cuda_ipc transport's memory: one connection's FIFO, shareable.
//
// Each rank owns one Arena per (peer, channel): the ring its peer writes
// messages into, and the two counters its peer writes (the peer's sent
// count, our head; the peer's received count of our messages, our tail).
// The peer reaches it through an ArenaHandle:
//
//   same process   the pointer itself: threads of one process (told apart
//                  by a random process token, not the pid, which repeats
//                  across PID namespaces) share the address space; a rank
//                  on another GPU needs peer access
//   same host      a CUDA IPC handle (cudaIpcGetMemHandle), which the peer
//                  opens with cudaIpcOpenMemHandle: separate processes on
//                  one GPU or on NVLink-connected GPUs
//
// A Network peer's arena is pinned host memory, mapped into the device's
// address space, that the host proxy reads and writes instead.
//
// Layout (ArenaLayout): head at 0, tail at 64 (own cache lines), sizes[depth]
// at 128, the ring 256-aligned after them.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace colossus::transport::cuda_ipc {

struct ArenaLayout {
  static constexpr std::size_t kHead = 0;
  static constexpr std::size_t kTail = 64;
  static constexpr std::size_t kSizes = 128;
  static std::size_t ring_offset(std::uint32_t depth) {
    return (kSizes + 4u * depth + 255) / 256 * 256;
  }
  static std::size_t bytes(std::size_t slot_bytes, std::uint32_t depth) {
    return ring_offset(depth) + slot_bytes * depth;
  }
};

enum class ArenaKind : std::uint8_t { Device = 1, HostMapped = 2 };

// Plain bytes, sent over the host transport as they are.
struct ArenaHandle {
  std::uint8_t kind = 0;      // ArenaKind
  std::uint64_t pointer = 0;  // in the owner's address space
  std::uint64_t bytes = 0;
  std::int32_t pid = 0;        // owner's process (for messages)
  std::uint64_t process = 0;   // owner's random process token
  std::int32_t device = -1;    // the owner's device (Device arenas)
  unsigned char ipc[64] = {};  // cudaIpcMemHandle_t, for Device arenas
};

// Pointers into an arena as the device addresses them.
struct ArenaView {
  std::byte* base = nullptr;
  std::uint64_t* head() const {
    return reinterpret_cast<std::uint64_t*>(base + ArenaLayout::kHead);
  }
  std::uint64_t* tail() const {
    return reinterpret_cast<std::uint64_t*>(base + ArenaLayout::kTail);
  }
  std::uint32_t* sizes() const {
    return reinterpret_cast<std::uint32_t*>(base + ArenaLayout::kSizes);
  }
  std::byte* ring(std::uint32_t depth) const { return base + ArenaLayout::ring_offset(depth); }
};

// An arena this rank allocated (counters zeroed, on `stream`, which is then
// synchronized: a non-blocking stream, so that this works while another
// stream captures), on the current device or in pinned host memory.
// Throws colossus::Error(CudaError) when CUDA refuses.
class Arena {
 public:
  Arena(ArenaKind kind, std::size_t slot_bytes, std::uint32_t depth, cudaStream_t stream);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ArenaView device_view() const { return {static_cast<std::byte*>(device_)}; }
  // Host address (HostMapped only): what the host proxy touches.
  ArenaView host_view() const { return {static_cast<std::byte*>(host_)}; }
  ArenaHandle handle() const;

 private:
  ArenaKind kind_;
  std::size_t bytes_;
  void* host_ = nullptr;
  void* device_ = nullptr;
};

// A peer's arena, opened in this process (and closed at destruction).
class RemoteArena {
 public:
  // Throws Error(RemoteError) when the handle cannot be opened here. A
  // same-process arena on another GPU needs peer access, enabled here.
  explicit RemoteArena(const ArenaHandle& handle);
  ~RemoteArena();
  RemoteArena(const RemoteArena&) = delete;
  RemoteArena& operator=(const RemoteArena&) = delete;
  ArenaView view() const { return {static_cast<std::byte*>(mapped_)}; }
  bool ipc() const { return opened_ipc_; }  // opened from another process's handle

 private:
  void* mapped_ = nullptr;
  bool opened_ipc_ = false;
};

std::string cuda_error_text(int cuda_error);

}  // namespace colossus::transport::cuda_ipc
