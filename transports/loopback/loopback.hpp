// loopback.hpp: ranks as threads of one process, messages through memory.
//
// A LoopbackFabric is shared by the n ranks of a group. Each (sender,
// receiver, channel) stream is a FIFO of `depth` slots of `slot_bytes`,
// created on first connect by either end. The sender writes into the slot
// and the receiver reduces straight out of it, as over shared memory.
//
// Thread safety: the fabric is shared; each LoopbackTransport and its
// endpoints belong to one rank's thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "transports/transport.hpp"

namespace colossus::transport {

class LoopbackFabric {
 public:
  LoopbackFabric(int nranks, std::size_t slot_bytes, int depth);
  ~LoopbackFabric();
  int nranks() const { return nranks_; }
  std::size_t slot_bytes() const { return slot_bytes_; }
  Doorbell& doorbell(int rank) { return *bells_[static_cast<std::size_t>(rank)]; }

  struct Stream;
  Stream& stream(int src, int dst, int channel);

 private:
  int nranks_;
  std::size_t slot_bytes_;
  int depth_;
  std::vector<std::unique_ptr<Doorbell>> bells_;
  std::mutex mu_;
  std::map<std::tuple<int, int, int>, std::unique_ptr<Stream>> streams_;
};

class LoopbackTransport final : public Transport {
 public:
  LoopbackTransport(std::shared_ptr<LoopbackFabric> fabric, int rank);
  const char* name() const override { return "loopback"; }
  int rank() const override { return rank_; }
  int nranks() const override { return fabric_->nranks(); }
  std::unique_ptr<SendEndpoint> connect_send(int peer, int channel) override;
  std::unique_ptr<RecvEndpoint> connect_recv(int peer, int channel) override;
  Doorbell& doorbell() override { return fabric_->doorbell(rank_); }
  std::size_t slot_bytes() const override { return fabric_->slot_bytes(); }

 private:
  std::shared_ptr<LoopbackFabric> fabric_;
  int rank_;
};

// One fabric and n transports, element i for rank i.
std::vector<std::unique_ptr<Transport>> make_loopback_transports(int nranks, std::size_t slot_bytes,
                                                                 int depth);

}  // namespace colossus::transport
