// transport.hpp: the one interface every transport implements.
//
// A transport moves in-order messages between two ranks on one channel
// through a FIFO of slots, as NCCL's simple protocol does:
//
//   sender:   SendEndpoint::try_acquire -> write into the slot -> commit
//   receiver: RecvEndpoint::try_peek    -> read the slot      -> release
//
// The slot the sender writes into is memory the receiver can read (the
// peer's buffer for loopback and shm; a staging buffer that a progress
// thread drains for tcp), so the executor reduces straight from the
// incoming slot into the outgoing one: no staging copies of its own.
//
// Where a transport can, a sender may instead post a message by reference
// (try_post) and the receiver copy it once, straight into its destination
// (try_take); the sender then waits in try_flush until it was read.
//
// Every call is non-blocking and returns a Status; the executor retries a
// Pending one after waiting on its Doorbell. Endpoints belong to one rank's
// executor thread; only the doorbells are touched across threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

namespace colossus::transport {

enum class Status : uint8_t {
  Ok,
  Pending,     // nothing to do yet: no free slot / no message
  PeerFailed,  // the peer closed or died
  Error,       // local failure; see the endpoint's last_error()
};

using Clock = std::chrono::steady_clock;

// Wakes a rank's executor when something it may wait for changed: a message
// arrived or a slot was freed. Futex-based; waits have deadlines.
class Doorbell {
 public:
  // Epoch to pass to wait(): read it before trying, wait only if nothing moved.
  uint32_t epoch() const { return epoch_.load(std::memory_order_acquire); }
  void ring();
  // Returns when epoch() != seen, when `until` passes, or spuriously.
  void wait(uint32_t seen, Clock::time_point until);

 private:
  std::atomic<uint32_t> epoch_{0};
  std::atomic<uint32_t> sleepers_{0};
};

class SendEndpoint {
 public:
  virtual ~SendEndpoint() = default;
  // Largest message one slot holds.
  virtual std::size_t slot_bytes() const = 0;
  // Ok: *slot points at slot_bytes() writable bytes, owned until commit().
  virtual Status try_acquire(void** slot) = 0;
  // Publishes the acquired slot holding `bytes` (<= slot_bytes()).
  virtual Status commit(std::size_t bytes) = 0;

  // Single copy, where the transport has it (shm through process_vm_readv):
  // whether a message of `bytes` may be posted by reference.
  virtual bool can_post(std::size_t bytes) const {
    (void)bytes;
    return false;
  }
  // Publishes `bytes` that the receiver reads straight from `data`, which
  // must stay unchanged until try_flush() returns Ok. It may be longer than
  // a slot: a receiver that peeks sees it in messages of `piece` bytes (the
  // last one shorter), as if they had been sent one by one. Only where
  // can_post(bytes); Pending while no slot is free.
  virtual Status try_post(const void* data, std::size_t bytes, std::size_t piece) {
    (void)data, (void)bytes, (void)piece;
    return Status::Error;
  }
  // Ok once the receiver has read every message posted so far.
  virtual Status try_flush() { return Status::Ok; }
};

class RecvEndpoint {
 public:
  virtual ~RecvEndpoint() = default;
  virtual std::size_t slot_bytes() const = 0;
  // Ok: the next message is readable at *data, *bytes long, until release().
  virtual Status try_peek(const void** data, std::size_t* bytes) = 0;
  virtual Status release() = 0;
  // Receives into `dst`: a message of exactly `piece` bytes, or up to
  // `capacity` bytes of a message posted by reference (read straight from
  // the sender's memory: one copy), then releases what it took; *bytes is
  // what it took. A message of another length stays: Error, *bytes its
  // length.
  virtual Status try_take(void* dst, std::size_t piece, std::size_t capacity, std::size_t* bytes) {
    (void)capacity;
    const void* data = nullptr;
    const Status st = try_peek(&data, bytes);
    if (st != Status::Ok) return st;
    if (*bytes != piece) return Status::Error;
    std::memcpy(dst, data, piece);
    return release();
  }
};

// One rank's view of a transport. Connections are made lazily, for the
// peers a Plan uses; both ranks of a pair must connect the same channel.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual const char* name() const = 0;
  virtual int rank() const = 0;
  virtual int nranks() const = 0;
  virtual std::unique_ptr<SendEndpoint> connect_send(int peer, int channel) = 0;
  virtual std::unique_ptr<RecvEndpoint> connect_recv(int peer, int channel) = 0;
  // Rung by peers when this rank's endpoints may have changed state.
  virtual Doorbell& doorbell() = 0;
  // Largest slot any endpoint of this transport offers.
  virtual std::size_t slot_bytes() const = 0;
};

}  // namespace colossus::transport
