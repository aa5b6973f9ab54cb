// slot_ring.hpp: the FIFO of slots a transport keeps in its own memory when
// the bytes travel through a progress thread (tcp, ucx): the executor fills
// or drains slots through an endpoint, the progress thread moves them.
//
// Single producer, single consumer, as in loopback.cc. `head` counts
// messages put in (committed by the executor on a send ring, received by
// the progress thread on a receive ring), `tail` those taken out (sent /
// released).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "transports/transport.hpp"

namespace colossus::transport {

struct SlotRing {
  // Throws Error(SystemError) when the memory cannot be had.
  SlotRing(std::size_t slot_bytes, int depth);
  ~SlotRing();
  SlotRing(const SlotRing&) = delete;
  SlotRing& operator=(const SlotRing&) = delete;

  std::byte* slot(uint64_t m) const { return storage + (m % depth) * slot_bytes; }
  uint64_t& size(uint64_t m) const { return sizes[m % depth]; }
  // The storage's length: depth slots, rounded up to whole pages.
  std::size_t storage_bytes() const;

  const std::size_t slot_bytes;
  const uint64_t depth;
  std::byte* storage = nullptr;  // page-aligned
  std::unique_ptr<uint64_t[]> sizes;
  alignas(64) std::atomic<uint64_t> head{0};
  alignas(64) std::atomic<uint64_t> tail{0};
  // Set once, after every message that arrived whole was published: the
  // stream is dead (peer gone, protocol violation, connect failure).
  std::atomic<bool> failed{false};
};

// The executor's endpoints on a SlotRing: they only move ring indices and
// call `kick` after publishing one (to wake a sleeping progress thread).
// Slots are local memory, so a stream still connecting accepts messages.
class RingSend final : public SendEndpoint {
 public:
  RingSend(SlotRing& ring, std::function<void()> kick) : ring_(ring), kick_(std::move(kick)) {}
  std::size_t slot_bytes() const override { return ring_.slot_bytes; }
  Status try_acquire(void** slot) override;
  Status commit(std::size_t bytes) override;

 private:
  SlotRing& ring_;
  std::function<void()> kick_;
};

class RingRecv final : public RecvEndpoint {
 public:
  RingRecv(SlotRing& ring, std::function<void()> kick) : ring_(ring), kick_(std::move(kick)) {}
  std::size_t slot_bytes() const override { return ring_.slot_bytes; }
  // Messages that arrived whole before the stream failed are still delivered.
  Status try_peek(const void** data, std::size_t* bytes) override;
  Status release() override;

 private:
  SlotRing& ring_;
  std::function<void()> kick_;
};

}  // namespace colossus::transport
