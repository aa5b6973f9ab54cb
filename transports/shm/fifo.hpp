// fifo.hpp: the shm transport's endpoints, one FIFO segment per stream.
//
// A stream (sender, receiver, channel) is one segment that the receiver
// creates on connect_recv and the sender maps on its first try_acquire after
// the segment exists, so the two ranks may connect in any order and neither
// connect blocks. Segment layout (offsets in bytes):
//
//   0     head        messages committed; written by the sender only
//   64    sizes[64]   byte count of each slot's message; sender-written,
//                     published by head (shares its cache lines' traffic)
//   576   tail        messages released; written by the receiver only
//   640   ready, attached, geometry, creator, single-copy probe: control
//   4096  depth slots, each `stride` bytes (slot_bytes rounded up to 64 B,
//         or to a page from 4 KiB up), so every slot starts 64-byte aligned
//
// `ready` is stored last with release: a sender that sees it sees the
// initialized header. The sender unlinks the name right after mapping it
// and sets `attached`; a receiver whose sender never came unlinks it at
// destruction.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "transports/shm/segment.hpp"
#include "transports/transport.hpp"

namespace colossus::transport::shm {

inline constexpr int kMaxDepth = 64;

// What endpoints need of the rank at the other end: its doorbell (mapped from
// its segment, or this rank's own) and whether it is still alive. Shared by
// all endpoints towards that rank; used by one executor thread.
struct Peer {
  int rank = -1;
  std::shared_ptr<Mapping> bell_segment;  // keeps `bell` mapped while endpoints live
  Doorbell* bell = nullptr;
  std::unique_ptr<PeerWatch> watch;
};

struct StreamConfig {
  std::string name;  // segment name, derived identically by both ranks
  int src = 0, dst = 0, channel = 0;
  std::size_t slot_bytes = 0;
  int depth = 0;
  double timeout_s = 0;                         // how long a sender waits for the segment to appear
  std::size_t cma_min_bytes = ~std::size_t{0};  // ShmOptions::cma_min_bytes
  std::shared_ptr<Peer> peer;
};

// The sender's end: maps the segment lazily. Never blocks.
std::unique_ptr<SendEndpoint> make_send_endpoint(StreamConfig config);

// The receiver's end: creates, initializes and publishes the segment now.
// Throws colossus::Error when the segment cannot be created.
std::unique_ptr<RecvEndpoint> make_recv_endpoint(StreamConfig config);

}  // namespace colossus::transport::shm
