// tcp.hpp: the TCP transport, for ranks on different hosts.
//
// Each rank listens on one interface (COLOSSUS_SOCKET_IFNAME) and the
// constructor allgathers the "addr:port" of every rank through the
// OutOfBand, so it is collective. A stream (sender, receiver, channel) is
// made of `sockets_per_peer` TCP connections opened lazily by the sender on
// its first connect_send; the receiver's progress thread accepts them,
// checks the job secret and routes them to the stream.
//
// The FIFO semantics are those of transport.hpp: the sender writes into one
// of `depth` local staging slots and commits it; a progress thread writes
// it out and frees the slot; on the receiver the progress thread reads each
// message into one of `depth` receive slots, which the executor reduces
// from in place and releases. One progress thread per transport, sleeping
// in poll() when idle, does all socket I/O; the executor never blocks.
//
// Thread safety: as for every transport, the transport and its endpoints
// belong to one executor thread; endpoints must be destroyed before the
// transport. The doorbell passed in is rung from the progress thread and
// must outlive the transport.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "bootstrap/oob.hpp"
#include "transports/transport.hpp"

namespace colossus::transport {

struct TcpOptions {
  std::size_t slot_bytes = 512 << 10;  // largest message; both ends must agree
  int depth = 4;                       // slots per stream and direction
  int sockets_per_peer = 2;            // connections per stream; large messages are striped
  std::string ifname;                  // NCCL_SOCKET_IFNAME syntax; "" = first up non-loopback
  double timeout_s = 300;              // caps the hello wait and the flush at destruction
  // The communicator fills these from its settings and the environment
  // (lib/comm/init.cc); the transport reads no configuration itself.
};

// Counters for tests and diagnostics; updated by the progress thread.
struct TcpStats {
  std::atomic<uint64_t> messages_sent{0};
  std::atomic<uint64_t> messages_received{0};
  std::atomic<uint64_t> messages_striped{0};  // sent over more than one socket
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_rejected{0};  // bad secret, garbage, duplicates
};

class TcpProgress;

class TcpTransport final : public Transport {
 public:
  // Collective over `oob`: opens the listener, allgathers the addresses,
  // starts the progress thread. Throws colossus::Error (SystemError when no
  // interface matches or a socket call fails, on every rank alike).
  TcpTransport(bootstrap::OutOfBand& oob, Doorbell& bell, TcpOptions options);
  // Writes out what was committed (a collective may return before its last
  // sends left), giving up once peers take nothing for min(timeout_s, 2 s);
  // then stops the progress thread and closes every socket. Never hangs.
  ~TcpTransport() override;

  const char* name() const override { return "tcp"; }
  int rank() const override { return rank_; }
  int nranks() const override { return nranks_; }
  std::unique_ptr<SendEndpoint> connect_send(int peer, int channel) override;
  std::unique_ptr<RecvEndpoint> connect_recv(int peer, int channel) override;
  Doorbell& doorbell() override { return bell_; }
  std::size_t slot_bytes() const override { return options_.slot_bytes; }

  // "addr:port" of this rank's data listener, and the interface it is on.
  const std::string& listen_address() const { return listen_address_; }
  const std::string& interface_name() const { return interface_; }
  const TcpStats& stats() const;

 private:
  void check_peer(int peer, int channel, const char* call) const;

  int rank_;
  int nranks_;
  Doorbell& bell_;
  TcpOptions options_;
  std::string listen_address_;
  std::string interface_;
  std::unique_ptr<TcpProgress> progress_;
};

std::unique_ptr<Transport> make_tcp_transport(bootstrap::OutOfBand& oob, Doorbell& bell,
                                              const TcpOptions& options);

}  // namespace colossus::transport
