// fifo_send.cc: the sender's end of an shm FIFO stream (fifo.hpp): maps
// the receiver's segment lazily, copies into slots or posts by reference.
#include <unistd.h>

#include <cstring>
#include <random>

#include "base/logging.hpp"
#include "colossus/error.hpp"
#include "transports/shm/fifo_stream.hpp"

namespace colossus::transport::shm {
namespace {

using namespace fifo;

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
    publish(bytes);
    return Status::Ok;
  }

  bool can_post(std::size_t bytes) const override {
    return bytes >= c_.cma_min_bytes && hdr_ &&
           hdr_->cma.load(std::memory_order_relaxed) == kCmaYes;
  }

  Status try_post(const void* data, std::size_t bytes, std::size_t piece) override {
    if (!can_post(bytes) || piece == 0 || piece > c_.slot_bytes) return Status::Error;
    void* s = nullptr;
    if (const Status st = try_acquire(&s); st != Status::Ok) return st;
    const PostedRef ref{reinterpret_cast<uint64_t>(data), bytes, piece};
    std::memcpy(s, &ref, sizeof ref);
    publish(kPosted);
    last_posted_ = head_;
    return Status::Ok;
  }

  Status try_flush() override {
    if (tail_seen_ >= last_posted_) return Status::Ok;
    tail_seen_ = hdr_->tail.load(std::memory_order_acquire);
    if (tail_seen_ >= last_posted_) return Status::Ok;
    if (!peer_gone()) return Status::Pending;
    tail_seen_ = hdr_->tail.load(std::memory_order_acquire);
    return tail_seen_ >= last_posted_ ? Status::Ok : Status::PeerFailed;
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
    if (c_.cma_min_bytes <= c_.slot_bytes) {
      probe_ = std::random_device{}() | uint64_t{std::random_device{}()} << 32 | 1;
      h->sender_pid = static_cast<int32_t>(getpid());
      h->probe_addr = reinterpret_cast<uint64_t>(&probe_);
      h->probe_value = probe_;
    }
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

  void publish(uint64_t size_word) {
    hdr_->sizes[head_ % depth_] = size_word;
    hdr_->head.store(++head_, std::memory_order_release);
    c_.peer->bell->ring();
  }

  bool peer_gone() const {
    return hdr_->receiver_closed.load(std::memory_order_acquire) != 0 || c_.peer->watch->gone();
  }

  uint64_t head_ = 0;         // our own counter; the shared one is its published copy
  uint64_t tail_seen_ = 0;    // last tail read from the receiver
  uint64_t last_posted_ = 0;  // head after the last message posted by reference
  uint64_t probe_ = 0;        // the word the receiver reads to test single copy
  Clock::time_point waiting_since_{};
};

}  // namespace

std::unique_ptr<SendEndpoint> make_send_endpoint(StreamConfig config) {
  return std::make_unique<ShmSend>(std::move(config));
}

}  // namespace colossus::transport::shm
