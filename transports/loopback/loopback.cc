#include "transports/loopback/loopback.hpp"

#include <cstdlib>
#include <new>
#include <string>

#include "colossus/error.hpp"

namespace colossus::transport {

// A single-producer single-consumer ring of slots. `head` counts committed
// messages, `tail` released ones; each is written by one side only.
struct LoopbackFabric::Stream {
  Stream(std::size_t slot, int depth, Doorbell* sender, Doorbell* receiver)
      : slot_bytes(slot),
        depth(static_cast<uint64_t>(depth)),
        sizes(depth),
        sender_bell(sender),
        receiver_bell(receiver) {
    // Page-aligned so slots start 16-byte aligned for the vector kernels.
    storage = static_cast<std::byte*>(std::aligned_alloc(4096, round_page(slot * this->depth)));
    if (!storage) throw Error(ErrorCode::SystemError, "loopback: out of memory for FIFO slots");
  }
  ~Stream() { std::free(storage); }
  static std::size_t round_page(std::size_t b) { return (b + 4095) / 4096 * 4096; }
  std::byte* slot(uint64_t index) { return storage + (index % depth) * slot_bytes; }

  const std::size_t slot_bytes;
  const uint64_t depth;
  std::byte* storage = nullptr;
  std::vector<std::size_t> sizes;
  alignas(64) std::atomic<uint64_t> head{0};
  alignas(64) std::atomic<uint64_t> tail{0};
  Doorbell* sender_bell;
  Doorbell* receiver_bell;
};

LoopbackFabric::LoopbackFabric(int nranks, std::size_t slot_bytes, int depth)
    : nranks_(nranks), slot_bytes_(slot_bytes), depth_(depth) {
  for (int r = 0; r < nranks; ++r) bells_.push_back(std::make_unique<Doorbell>());
}

LoopbackFabric::~LoopbackFabric() = default;

LoopbackFabric::Stream& LoopbackFabric::stream(int src, int dst, int channel) {
  if (src < 0 || src >= nranks_ || dst < 0 || dst >= nranks_ || channel < 0) {
    throw Error(ErrorCode::InvalidArgument, "loopback: stream " + std::to_string(src) + " -> " +
                                                std::to_string(dst) + " channel " +
                                                std::to_string(channel) + " out of range (" +
                                                std::to_string(nranks_) + " ranks)");
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto& s = streams_[{src, dst, channel}];
  if (!s) s = std::make_unique<Stream>(slot_bytes_, depth_, &doorbell(src), &doorbell(dst));
  return *s;
}

namespace {

class LoopbackSend final : public SendEndpoint {
 public:
  explicit LoopbackSend(LoopbackFabric::Stream& s) : s_(s) {}
  std::size_t slot_bytes() const override { return s_.slot_bytes; }
  Status try_acquire(void** slot) override {
    const uint64_t head = s_.head.load(std::memory_order_relaxed);
    if (head - s_.tail.load(std::memory_order_acquire) >= s_.depth) return Status::Pending;
    *slot = s_.slot(head);
    return Status::Ok;
  }
  Status commit(std::size_t bytes) override {
    if (bytes > s_.slot_bytes) return Status::Error;  // as tcp: a message never exceeds its slot
    const uint64_t head = s_.head.load(std::memory_order_relaxed);
    s_.sizes[head % s_.depth] = bytes;
    s_.head.store(head + 1, std::memory_order_release);
    s_.receiver_bell->ring();
    return Status::Ok;
  }

 private:
  LoopbackFabric::Stream& s_;
};

class LoopbackRecv final : public RecvEndpoint {
 public:
  explicit LoopbackRecv(LoopbackFabric::Stream& s) : s_(s) {}
  std::size_t slot_bytes() const override { return s_.slot_bytes; }
  Status try_peek(const void** data, std::size_t* bytes) override {
    const uint64_t tail = s_.tail.load(std::memory_order_relaxed);
    if (s_.head.load(std::memory_order_acquire) == tail) return Status::Pending;
    *data = s_.slot(tail);
    *bytes = s_.sizes[tail % s_.depth];
    return Status::Ok;
  }
  Status release() override {
    s_.tail.store(s_.tail.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    s_.sender_bell->ring();
    return Status::Ok;
  }

 private:
  LoopbackFabric::Stream& s_;
};

}  // namespace

LoopbackTransport::LoopbackTransport(std::shared_ptr<LoopbackFabric> fabric, int rank)
    : fabric_(std::move(fabric)), rank_(rank) {}

std::unique_ptr<SendEndpoint> LoopbackTransport::connect_send(int peer, int channel) {
  return std::make_unique<LoopbackSend>(fabric_->stream(rank_, peer, channel));
}

std::unique_ptr<RecvEndpoint> LoopbackTransport::connect_recv(int peer, int channel) {
  return std::make_unique<LoopbackRecv>(fabric_->stream(peer, rank_, channel));
}

std::vector<std::unique_ptr<Transport>> make_loopback_transports(int nranks, std::size_t slot_bytes,
                                                                 int depth) {
  auto fabric = std::make_shared<LoopbackFabric>(nranks, slot_bytes, depth);
  std::vector<std::unique_ptr<Transport>> out;
  for (int r = 0; r < nranks; ++r) out.push_back(std::make_unique<LoopbackTransport>(fabric, r));
  return out;
}

}  // namespace colossus::transport
