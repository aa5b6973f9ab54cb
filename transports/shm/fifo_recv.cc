// fifo_recv.cc: the receiver's end of an shm FIFO stream (fifo.hpp):
// creates the segment, hands out messages from the slots, and reads the
// ones posted by reference with process_vm_readv (single copy).
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <vector>

#include "base/logging.hpp"
#include "colossus/error.hpp"
#include "transports/shm/fifo_stream.hpp"

namespace colossus::transport::shm {
namespace {

using namespace fifo;

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
    const PostedRef* ref = nullptr;
    if (const Status st = next(bytes, &ref); st != Status::Ok) return st;
    if (!ref) {
      *data = slot(tail_);
      taking_ = *bytes;
      return Status::Ok;
    }
    // A posted message read by a step that does more than copy it: a piece
    // at a time into a staging buffer (one copy, as through the slot).
    const std::size_t n = std::min<std::size_t>(*bytes, ref->piece);
    if (!staged_) {
      if (staging_.size() < c_.slot_bytes) staging_.resize(c_.slot_bytes);
      if (const Status st = read_posted(*ref, staging_.data(), n); st != Status::Ok) return st;
      staged_ = true;
    }
    *data = staging_.data();
    *bytes = taking_ = n;
    return Status::Ok;
  }

  Status try_take(void* dst, std::size_t piece, std::size_t capacity, std::size_t* bytes) override {
    const PostedRef* ref = nullptr;
    if (const Status st = next(bytes, &ref); st != Status::Ok) return st;
    if (!ref) {
      if (*bytes != piece) return Status::Error;  // the ranks disagree: *bytes says how
      std::memcpy(dst, slot(tail_), piece);
      taking_ = piece;
    } else if (staged_) {  // a peek staged its next piece already
      *bytes = taking_ = std::min<std::size_t>({*bytes, ref->piece, capacity});
      std::memcpy(dst, staging_.data(), taking_);
    } else {
      *bytes = taking_ = std::min(*bytes, capacity);
      if (const Status st = read_posted(*ref, dst, taking_); st != Status::Ok) return st;
    }
    return release();
  }

  Status release() override {
    if (tail_ == head_seen_) return Status::Error;  // nothing was peeked
    staged_ = false;
    if (hdr_->sizes[tail_ % depth_] & kPosted) {  // taken a part of it: more may remain
      offset_ += taking_;
      if (offset_ < reinterpret_cast<const PostedRef*>(slot(tail_))->bytes) return Status::Ok;
      offset_ = 0;
    }
    hdr_->tail.store(++tail_, std::memory_order_release);
    c_.peer->bell->ring();
    return Status::Ok;
  }

 private:
  bool peer_gone() const {
    return hdr_->sender_closed.load(std::memory_order_acquire) != 0 || c_.peer->watch->gone();
  }

  // The next message's length, and where it lies if it was posted.
  Status next(std::size_t* bytes, const PostedRef** ref) {
    if (tail_ == head_seen_) {
      if (!probed_) probe();
      head_seen_ = hdr_->head.load(std::memory_order_acquire);
      if (tail_ == head_seen_) {
        if (!peer_gone()) return Status::Pending;
        // Its last message may have landed just before it exited.
        head_seen_ = hdr_->head.load(std::memory_order_acquire);
        if (tail_ == head_seen_) return Status::PeerFailed;
      }
    }
    const uint64_t word = hdr_->sizes[tail_ % depth_];
    *ref = nullptr;
    if (word & kPosted) {
      *ref = reinterpret_cast<const PostedRef*>(slot(tail_));
      const PostedRef& r = **ref;
      if (cma_pid_ == 0 || r.piece == 0 || r.piece > c_.slot_bytes || offset_ >= r.bytes) {
        CLOG(Warn) << who() << ": a message posted by reference that this end cannot read";
        return Status::Error;
      }
      *bytes = r.bytes - offset_;
      return Status::Ok;
    }
    if (word > c_.slot_bytes) {  // the peer's memory is not to be trusted blindly
      CLOG(Warn) << who() << ": message of " << word << " B in a " << c_.slot_bytes << " B slot";
      return Status::Error;
    }
    *bytes = word;
    return Status::Ok;
  }

  // Once the sender has attached: can this process read its memory?
  void probe() {
    if (hdr_->attached.load(std::memory_order_acquire) == 0) return;
    probed_ = true;
    if (c_.cma_min_bytes > c_.slot_bytes || hdr_->sender_pid <= 0) return;
    uint64_t word = 0;
    iovec local{&word, sizeof word};
    iovec remote{reinterpret_cast<void*>(hdr_->probe_addr), sizeof word};
    const ssize_t got = process_vm_readv(hdr_->sender_pid, &local, 1, &remote, 1, 0);
    const bool ok = got == static_cast<ssize_t>(sizeof word) && word == hdr_->probe_value;
    if (ok) {
      cma_pid_ = hdr_->sender_pid;
    } else {
      CLOG_SUB(Info, Shm) << who()
                          << ": single copy off, the kernel refused process_vm_readv of rank "
                          << c_.src << "'s memory ("
                          << (got < 0 ? std::strerror(errno) : "wrong word")
                          << "); messages go through the slots";
    }
    hdr_->cma.store(ok ? kCmaYes : kCmaNo, std::memory_order_release);
  }

  // `bytes` of a posted message from where this end stands in it.
  Status read_posted(const PostedRef& ref, void* dst, std::size_t bytes) {
    std::size_t done = 0;
    while (done < bytes) {
      iovec local{static_cast<std::byte*>(dst) + done, bytes - done};
      iovec remote{reinterpret_cast<void*>(ref.addr + offset_ + done), bytes - done};
      const ssize_t got = process_vm_readv(cma_pid_, &local, 1, &remote, 1, 0);
      if (got > 0) {
        done += static_cast<std::size_t>(got);
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (peer_gone()) return Status::PeerFailed;
      CLOG(Warn) << who() << ": process_vm_readv of " << bytes << " B from rank " << c_.src
                 << " failed: " << (got < 0 ? std::strerror(errno) : "no progress");
      return Status::Error;
    }
    return Status::Ok;
  }

  uint64_t tail_ = 0;
  uint64_t head_seen_ = 0;
  bool probed_ = false;
  pid_t cma_pid_ = 0;  // the sender's pid where single copy works
  // A posted message is taken in parts: `offset_` bytes of it are done,
  // `taking_` go with the next release, staging_ holds them if `staged_`.
  std::size_t offset_ = 0;
  std::size_t taking_ = 0;
  bool staged_ = false;
  std::vector<std::byte> staging_;
};

}  // namespace

std::unique_ptr<RecvEndpoint> make_recv_endpoint(StreamConfig config) {
  return std::make_unique<ShmRecv>(std::move(config));
}

}  // namespace colossus::transport::shm
