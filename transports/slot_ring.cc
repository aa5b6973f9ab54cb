#include "transports/slot_ring.hpp"

#include <cstdlib>

#include "colossus/error.hpp"

namespace colossus::transport {

namespace {
std::size_t round_page(std::size_t b) { return (b + 4095) / 4096 * 4096; }
}  // namespace

SlotRing::SlotRing(std::size_t slot, int d)
    : slot_bytes(slot),
      depth(static_cast<uint64_t>(d)),
      sizes(std::make_unique<uint64_t[]>(static_cast<std::size_t>(d))) {
  // Page-aligned so every slot starts 16-byte aligned for the vector kernels.
  storage = static_cast<std::byte*>(std::aligned_alloc(4096, storage_bytes()));
  if (!storage) throw Error(ErrorCode::SystemError, "out of memory for FIFO slots");
}

SlotRing::~SlotRing() { std::free(storage); }

std::size_t SlotRing::storage_bytes() const { return round_page(slot_bytes * depth); }

Status RingSend::try_acquire(void** slot) {
  if (ring_.failed.load(std::memory_order_acquire)) return Status::PeerFailed;
  const uint64_t head = ring_.head.load(std::memory_order_relaxed);
  if (head - ring_.tail.load(std::memory_order_acquire) >= ring_.depth) return Status::Pending;
  *slot = ring_.slot(head);
  return Status::Ok;
}

Status RingSend::commit(std::size_t bytes) {
  if (bytes > ring_.slot_bytes) return Status::Error;
  if (ring_.failed.load(std::memory_order_acquire)) return Status::PeerFailed;
  const uint64_t head = ring_.head.load(std::memory_order_relaxed);
  ring_.size(head) = bytes;
  ring_.head.store(head + 1, std::memory_order_release);
  kick_();
  return Status::Ok;
}

Status RingRecv::try_peek(const void** data, std::size_t* bytes) {
  const uint64_t tail = ring_.tail.load(std::memory_order_relaxed);
  if (ring_.head.load(std::memory_order_acquire) == tail) {
    if (!ring_.failed.load(std::memory_order_acquire)) return Status::Pending;
    // The flag is set after the last whole messages were published, so
    // this load sees them.
    if (ring_.head.load(std::memory_order_acquire) == tail) return Status::PeerFailed;
  }
  *data = ring_.slot(tail);
  *bytes = ring_.size(tail);
  return Status::Ok;
}

Status RingRecv::release() {
  ring_.tail.store(ring_.tail.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  kick_();
  return Status::Ok;
}

}  // namespace colossus::transport
