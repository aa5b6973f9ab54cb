// fifo_stream.hpp: what the shm FIFO's two ends share (internal to
// transports/shm): the segment header laid out in fifo.hpp, the descriptor
// of a message posted by reference, and the mapping with its ring
// arithmetic. fifo_send.cc and fifo_recv.cc hold the two ends.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "transports/shm/fifo.hpp"

namespace colossus::transport::shm::fifo {

constexpr uint32_t kReady = 0x53484D32;  // "SHM2": also a layout version
constexpr std::size_t kHeaderBytes = 4096;

struct FifoHeader {
  alignas(64) std::atomic<uint64_t> head{0};
  alignas(64) uint64_t sizes[kMaxDepth] = {};
  alignas(64) std::atomic<uint64_t> tail{0};
  alignas(64) std::atomic<uint32_t> ready{0};
  std::atomic<uint32_t> attached{0};
  // An end that is gone for good (its endpoint destroyed, say after an
  // error) while its process lives on: the other end must not wait for it.
  std::atomic<uint32_t> sender_closed{0};
  std::atomic<uint32_t> receiver_closed{0};
  uint32_t depth = 0;
  int32_t src = 0, dst = 0, channel = 0;
  uint64_t slot_bytes = 0;
  uint64_t stride = 0;
  int32_t creator_pid = 0;
  // Single copy: the sender publishes its pid and where a random word of
  // its memory lies before `attached`; the receiver reads that word with
  // process_vm_readv once and answers in `cma` (kCmaYes / kCmaNo).
  int32_t sender_pid = 0;
  std::atomic<uint32_t> cma{0};
  uint64_t probe_addr = 0;
  uint64_t probe_value = 0;
};
static_assert(offsetof(FifoHeader, sizes) == 64 && offsetof(FifoHeader, tail) == 576 &&
              offsetof(FifoHeader, ready) == 640 && sizeof(FifoHeader) <= kHeaderBytes);
static_assert(std::atomic<uint64_t>::is_always_lock_free &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "counters in shared memory must be lock-free to work across processes");

constexpr uint32_t kCmaYes = 1, kCmaNo = 2;
// sizes[] of a message posted by reference; its slot holds a PostedRef.
constexpr uint64_t kPosted = uint64_t{1} << 63;
struct PostedRef {
  uint64_t addr;
  uint64_t bytes;
  uint64_t piece;  // what a peek sees of it at a time
};

inline std::size_t slot_stride(std::size_t slot) {
  const std::size_t align = slot >= 4096 ? 4096 : 64;
  return (slot + align - 1) / align * align;
}

inline std::size_t segment_bytes(const StreamConfig& c) {
  return kHeaderBytes + slot_stride(c.slot_bytes) * static_cast<std::size_t>(c.depth);
}

// What both ends share: the mapping and the ring arithmetic.
class Stream {
 protected:
  explicit Stream(StreamConfig c)
      : c_(std::move(c)),
        depth_(static_cast<uint64_t>(c_.depth)),
        stride_(slot_stride(c_.slot_bytes)) {}
  std::byte* slot(uint64_t index) const { return slots_ + (index % depth_) * stride_; }
  void bind(Mapping m) {
    map_ = std::move(m);
    hdr_ = reinterpret_cast<FifoHeader*>(map_.data());
    slots_ = map_.data() + kHeaderBytes;
  }
  std::string who() const {
    return "shm stream " + std::to_string(c_.src) + "->" + std::to_string(c_.dst) + " channel " +
           std::to_string(c_.channel) + " (" + c_.name + ")";
  }

  StreamConfig c_;
  const uint64_t depth_;
  const std::size_t stride_;
  Mapping map_;
  FifoHeader* hdr_ = nullptr;  // set once the segment is mapped and ready
  std::byte* slots_ = nullptr;
};

}  // namespace colossus::transport::shm::fifo
