#include "transports/shm/fifo.hpp"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <new>
#include <random>
#include <vector>

#include "base/logging.hpp"
#include "colossus/error.hpp"

namespace colossus::transport::shm {

namespace {

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
      CLOG(Info) << who() << ": single copy off, the kernel refused process_vm_readv of rank "
                 << c_.src << "'s memory (" << (got < 0 ? std::strerror(errno) : "wrong word")
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

std::unique_ptr<SendEndpoint> make_send_endpoint(StreamConfig config) {
  return std::make_unique<ShmSend>(std::move(config));
}

std::unique_ptr<RecvEndpoint> make_recv_endpoint(StreamConfig config) {
  return std::make_unique<ShmRecv>(std::move(config));
}

}  // namespace colossus::transport::shm
