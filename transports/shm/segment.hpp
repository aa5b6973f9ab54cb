// segment.hpp: POSIX shared-memory segments and peer processes, for the shm
// transport.
//
// Naming. Every segment of a job starts with "colossus-<fingerprint>", a
// 32-bit one-way digest of the job secret: /dev/shm is world-listable, so the
// secret itself (which also authenticates tcp connections) never appears in
// a name. The rest records who created the segment so that a later job can
// remove what a SIGKILLed one left behind:
//
//   /colossus-<fp>-<tag>-n<pid namespace>-p<creator pid>-<what>
//
// Segments are created 0600, reserved with fallocate (a full /dev/shm is an
// error at connect time, not a SIGBUS in the middle of a collective) and
// unlinked as soon as every process that needs them has mapped them.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "transports/transport.hpp"

namespace colossus::transport::shm {

// "colossus-<8 hex>": the prefix (without '/') of every segment of the job
// whose OutOfBand::job_secret() is `secret`.
std::string segment_prefix(uint64_t secret);

// The full name (with leading '/') of a segment of this process.
std::string segment_name(uint64_t secret, uint32_t tag, uint64_t pidns, pid_t pid,
                         const std::string& what);

// This process's pid namespace id (the inode of /proc/self/ns/pid), 0 if unknown.
uint64_t pid_namespace();

// "<hostname>/<boot id>": equal for processes that share a kernel.
std::string host_key();

// A mapped segment, unmapped on destruction. Move-only.
class Mapping {
 public:
  Mapping() = default;
  Mapping(void* base, std::size_t bytes) : base_(static_cast<std::byte*>(base)), bytes_(bytes) {}
  ~Mapping();
  Mapping(Mapping&& o) noexcept : base_(o.base_), bytes_(o.bytes_) { o.base_ = nullptr; }
  Mapping& operator=(Mapping&& o) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  std::byte* data() const { return base_; }
  std::size_t size() const { return bytes_; }
  explicit operator bool() const { return base_ != nullptr; }

 private:
  std::byte* base_ = nullptr;
  std::size_t bytes_ = 0;
};

// Creates `name` exclusively with `bytes` bytes reserved and maps it
// (prefaulted when `populate`). Throws colossus::Error(SystemError).
Mapping create_segment(const std::string& name, std::size_t bytes, bool populate);

// Maps an existing segment once it exists and has reached `bytes` bytes.
// Returns an empty Mapping while it does not; throws on any other failure.
Mapping try_open_segment(const std::string& name, std::size_t bytes, bool populate);

// shm_unlink that ignores a name already gone.
void unlink_segment(const std::string& name);

// Unlinks colossus segments of this user whose creator, a process of this
// pid namespace, no longer exists: what SIGKILLed jobs left behind. Returns
// how many were removed.
std::size_t sweep_stale_segments();

// Whether a peer process is still there. Uses a pidfd (which also sees a
// zombie as exited) and falls back to kill(pid, 0). A watch on this very
// process, or on a process of another pid namespace, never reports gone.
class PeerWatch {
 public:
  PeerWatch(pid_t pid, bool comparable);
  ~PeerWatch();
  PeerWatch(const PeerWatch&) = delete;
  PeerWatch& operator=(const PeerWatch&) = delete;
  // True once the peer has exited; asks the kernel at most every kInterval.
  bool gone();
  static constexpr auto kInterval = std::chrono::milliseconds(25);

 private:
  pid_t pid_;
  bool watched_;
  int pidfd_ = -1;
  bool opened_ = false;  // pidfd_open tried (-1 after that: use kill(pid, 0))
  bool gone_ = false;
  Clock::time_point next_check_{};
};

}  // namespace colossus::transport::shm
