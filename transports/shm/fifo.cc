#include "transports/shm/fifo.hpp"

#include <unistd.h>

#include <cstddef>
#include <new>

#include "base/logging.hpp"
#include "colossus/error.hpp"

namespace colossus::transport::shm {

namespace {

constexpr uint32_t kReady = 0x53484D31;  // "SHM1": also a layout version
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
};
static_assert(offsetof(FifoHeader, sizes) == 64 && offsetof(FifoHeader, tail) == 576 &&
              offsetof(FifoHeader, ready) == 640 && sizeof(FifoHeader) <= kHeaderBytes);
static_assert(std::atomic<uint64_t>::is_always_lock_free &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "counters in shared memory must be lock-free to work across processes");

std::size_t slot_stride(std::size_t slot) {
  const std::size_t align = slot >= 4096 ? 4096 : 64;
  return (slot + align - 1) / align * align;
}

std::size_t segment_bytes(const StreamConfig& c) {
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

class ShmSend final : public SendEndpoint, Stream {
 public:
  explicit ShmSend(StreamConfig c) : Stream(std::move(c)) {}
  ~ShmSend() override {
    if (!hdr_) return;
    hdr_->sender_closed.store(1, std::memory_order_release);
    c_.peer->bell->ring();
  }
  std::size_t slot_bytes() const override { return c_.slot_bytes; }

  Status try_acquire(void** out) override {
    if (!hdr_) {
      if (const Status st = attach(); st != Status::Ok) return st;
    }
    if (head_ - tail_seen_ >= depth_) {  // looks full: refresh the receiver's counter
      tail_seen_ = hdr_->tail.load(std::memory_order_acquire);
      if (head_ - tail_seen_ >= depth_) {
        if (!peer_gone()) return Status::Pending;
        // It may have released a slot just before exiting.
        tail_seen_ = hdr_->tail.load(std::memory_order_acquire);
        if (head_ - tail_seen_ >= depth_) return Status::PeerFailed;
      }
    }
    *out = slot(head_);
    return Status::Ok;
  }

  Status commit(std::size_t bytes) override {
    if (!hdr_ || bytes > c_.slot_bytes) {
      CLOG(Warn) << who() << ": commit of " << bytes << " B without a slot or past the slot size";
      return Status::Error;
    }
    hdr_->sizes[head_ % depth_] = bytes;
    hdr_->head.store(++head_, std::memory_order_release);
    c_.peer->bell->ring();
    return Status::Ok;
  }

 private:
  // Maps the receiver's segment once it exists and is initialized.
  Status attach() {
    if (!map_) {
      try {
        map_ = try_open_segment(c_.name, segment_bytes(c_), /*populate=*/true);
      } catch (const Error& e) {  // the hot path reports, it does not throw
        CLOG(Warn) << who() << ": " << e.what();
        return Status::Error;
      }
      if (!map_) return wait_for_segment();
    }
    auto* h = reinterpret_cast<FifoHeader*>(map_.data());
    if (h->ready.load(std::memory_order_acquire) != kReady) return wait_for_segment();
    if (h->depth != depth_ || h->slot_bytes != c_.slot_bytes || h->src != c_.src ||
        h->dst != c_.dst || h->channel != c_.channel) {
      CLOG(Warn) << who() << ": segment geometry differs from this rank's (depth " << h->depth
                 << ", slot " << h->slot_bytes << " B)";
      return Status::Error;
    }
    // Both ends have it mapped now: the name has served its purpose.
    unlink_segment(c_.name);
    h->attached.store(1, std::memory_order_release);
    bind(std::move(map_));
    return Status::Ok;
  }

  Status wait_for_segment() {
    if (c_.peer->watch->gone()) return Status::PeerFailed;
    const auto now = Clock::now();
    if (waiting_since_ == Clock::time_point{}) waiting_since_ = now;
    if (now - waiting_since_ > std::chrono::duration<double>(c_.timeout_s)) {
      CLOG(Warn) << who() << ": rank " << c_.dst << " did not create the segment within "
                 << c_.timeout_s << " s (has it connected this channel?)";
      return Status::Error;
    }
    return Status::Pending;
  }

  bool peer_gone() const {
    return hdr_->receiver_closed.load(std::memory_order_acquire) != 0 || c_.peer->watch->gone();
  }

  uint64_t head_ = 0;       // our own counter; the shared one is its published copy
  uint64_t tail_seen_ = 0;  // last tail read from the receiver
  Clock::time_point waiting_since_{};
};

class ShmRecv final : public RecvEndpoint, Stream {
 public:
  explicit ShmRecv(StreamConfig c) : Stream(std::move(c)) {
    Mapping m = create_segment(c_.name, segment_bytes(c_), /*populate=*/true);
    auto* h = new (m.data()) FifoHeader();
    h->depth = static_cast<uint32_t>(c_.depth);
    h->src = c_.src;
    h->dst = c_.dst;
    h->channel = c_.channel;
    h->slot_bytes = c_.slot_bytes;
    h->stride = stride_;
    h->creator_pid = static_cast<int32_t>(getpid());
    h->ready.store(kReady, std::memory_order_release);
    bind(std::move(m));
    c_.peer->bell->ring();  // a sender may be asleep waiting for this segment
  }
  ~ShmRecv() override {
    if (hdr_->attached.load(std::memory_order_acquire) == 0) unlink_segment(c_.name);
    hdr_->receiver_closed.store(1, std::memory_order_release);
    c_.peer->bell->ring();
  }
  std::size_t slot_bytes() const override { return c_.slot_bytes; }

  Status try_peek(const void** data, std::size_t* bytes) override {
    if (tail_ == head_seen_) {
      head_seen_ = hdr_->head.load(std::memory_order_acquire);
      if (tail_ == head_seen_) {
        if (!peer_gone()) return Status::Pending;
        // Its last message may have landed just before it exited.
        head_seen_ = hdr_->head.load(std::memory_order_acquire);
        if (tail_ == head_seen_) return Status::PeerFailed;
      }
    }
    const std::size_t n = hdr_->sizes[tail_ % depth_];
    if (n > c_.slot_bytes) {  // the peer's memory is not to be trusted blindly
      CLOG(Warn) << who() << ": message of " << n << " B in a " << c_.slot_bytes << " B slot";
      return Status::Error;
    }
    *data = slot(tail_);
    *bytes = n;
    return Status::Ok;
  }

  Status release() override {
    if (tail_ == head_seen_) return Status::Error;  // nothing was peeked
    hdr_->tail.store(++tail_, std::memory_order_release);
    c_.peer->bell->ring();
    return Status::Ok;
  }

 private:
  bool peer_gone() const {
    return hdr_->sender_closed.load(std::memory_order_acquire) != 0 || c_.peer->watch->gone();
  }

  uint64_t tail_ = 0;
  uint64_t head_seen_ = 0;
};

}  // namespace

std::unique_ptr<SendEndpoint> make_send_endpoint(StreamConfig config) {
  return std::make_unique<ShmSend>(std::move(config));
}

std::unique_ptr<RecvEndpoint> make_recv_endpoint(StreamConfig config) {
  return std::make_unique<ShmRecv>(std::move(config));
}

}  // namespace colossus::transport::shm
