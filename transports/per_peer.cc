#include "transports/per_peer.hpp"

#include <string>

#include "colossus/error.hpp"

namespace colossus::transport {

PerPeerTransport::PerPeerTransport(int rank, std::vector<std::unique_ptr<Transport>> members,
                                   std::vector<int> route, Doorbell& bell, const char* name,
                                   std::unique_ptr<Doorbell> owned_bell)
    : rank_(rank),
      owned_bell_(std::move(owned_bell)),
      members_(std::move(members)),
      route_(std::move(route)),
      bell_(bell),
      name_(name) {
  if (members_.empty()) {
    throw Error(ErrorCode::InternalError, "per-peer transport without member transports");
  }
  slot_bytes_ = members_.front()->slot_bytes();
  for (const auto& m : members_) {
    if (m->slot_bytes() != slot_bytes_) {
      throw Error(ErrorCode::InternalError, std::string("per-peer transport: ") + m->name() +
                                                " slots of " + std::to_string(m->slot_bytes()) +
                                                " B differ from " + std::to_string(slot_bytes_) +
                                                " B");
    }
  }
  for (int r : route_) {
    if (r < 0 || r >= static_cast<int>(members_.size())) {
      throw Error(ErrorCode::InternalError, "per-peer transport: route out of range");
    }
  }
}

PerPeerTransport::~PerPeerTransport() {
  while (!members_.empty()) members_.pop_back();
}

Transport& PerPeerTransport::member(int peer) const {
  if (peer < 0 || peer >= nranks() || peer == rank_) {
    throw Error(ErrorCode::InternalError,
                "rank " + std::to_string(rank_) + ": no transport to peer " + std::to_string(peer));
  }
  return *members_[static_cast<std::size_t>(route_[static_cast<std::size_t>(peer)])];
}

const char* PerPeerTransport::route_name(int peer) const { return member(peer).name(); }

std::unique_ptr<SendEndpoint> PerPeerTransport::connect_send(int peer, int channel) {
  return member(peer).connect_send(peer, channel);
}

std::unique_ptr<RecvEndpoint> PerPeerTransport::connect_recv(int peer, int channel) {
  return member(peer).connect_recv(peer, channel);
}

}  // namespace colossus::transport
