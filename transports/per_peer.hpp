// per_peer.hpp: one Transport that routes each peer to the transport that
// suits it (shm on the same host, tcp across hosts).
//
// All member transports share the rank's one doorbell, so the executor
// sleeps on one futex whatever woke it, and all use one slot size, because
// the executor cuts every step into messages of exactly that size.
#pragma once

#include <memory>
#include <vector>

#include "transports/transport.hpp"

namespace colossus::transport {

class PerPeerTransport final : public Transport {
 public:
  // route[p] indexes `members` for peer p (route[rank] is ignored).
  // `bell` is the doorbell every member rings for this rank; `owned_bell`,
  // if set, is that same doorbell when no member owns it.
  PerPeerTransport(int rank, std::vector<std::unique_ptr<Transport>> members,
                   std::vector<int> route, Doorbell& bell, const char* name,
                   std::unique_ptr<Doorbell> owned_bell = nullptr);
  // Members go in reverse order: a later member (tcp) may ring the doorbell
  // that an earlier one (shm) owns until its progress thread stops.
  ~PerPeerTransport() override;
  const char* name() const override { return name_; }
  int rank() const override { return rank_; }
  int nranks() const override { return static_cast<int>(route_.size()); }
  std::unique_ptr<SendEndpoint> connect_send(int peer, int channel) override;
  std::unique_ptr<RecvEndpoint> connect_recv(int peer, int channel) override;
  Doorbell& doorbell() override { return bell_; }
  std::size_t slot_bytes() const override { return slot_bytes_; }
  // Which member serves `peer` ("shm", "tcp"): for logs and tests.
  const char* route_name(int peer) const;

 private:
  Transport& member(int peer) const;

  int rank_;
  std::unique_ptr<Doorbell> owned_bell_;  // destroyed after the members that ring it
  std::vector<std::unique_ptr<Transport>> members_;
  std::vector<int> route_;
  Doorbell& bell_;
  const char* name_;
  std::size_t slot_bytes_ = 0;
};

}  // namespace colossus::transport
