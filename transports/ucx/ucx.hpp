// ucx.hpp: the UCX transport, over UCP's tag-matched messages.
//
// UCX picks the wire by itself: InfiniBand/RoCE verbs (rc, dc, ud) where
// the host has an RDMA device, shared memory (posix, sysv, cma) between
// processes of one host, tcp everywhere. `tls` narrows the choice exactly
// as UCX_TLS does ("" keeps UCX's own default or the UCX_TLS of the
// environment).
//
// The FIFO semantics are those of transport.hpp, as for tcp: the sender
// writes into one of `depth` local slots and commits it; the progress
// thread sends it with ucp_tag_send_nbx and frees the slot when UCX is
// done with it. The receiver keeps a ucp_tag_recv_nbx posted into every
// free receive slot; a message lands straight in its slot, which the
// executor reduces from in place and releases. The slots of a transport
// are one region mapped with ucp_mem_map (its memory handle goes with
// every send and receive, so verbs transports need no registration on the
// fly), unmapped when the transport is destroyed.
//
// A tag is (channel, sender): UCP matches messages of one sender and tag
// in the order they were sent, so slot m of a stream receives message m.
//
// Setup is collective over the OutOfBand (every rank's worker address is
// allgathered; a rank whose UCX could not start makes every rank throw).
// Endpoints are made by the progress thread for the peers the Plans use,
// with peer error handling: a peer that dies or closes fails every stream
// to and from it (PeerFailed), and its stream's last messages that
// arrived whole are still delivered.
//
// Thread safety: the transport and its endpoints belong to one executor
// thread, as for every transport; the UCP context and worker belong to the
// progress thread alone. The doorbell is rung from the progress thread and
// must outlive the transport.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "bootstrap/oob.hpp"
#include "transports/transport.hpp"

namespace colossus::transport {

struct UcxOptions {
  std::size_t slot_bytes = 512 << 10;  // largest message; both ends must agree
  int depth = 4;                       // slots per stream and direction
  std::string tls;                     // UCX_TLS syntax; "" = UCX's choice
  std::string net_devices;             // UCX_NET_DEVICES syntax; "" = UCX's choice
  double timeout_s = 300;              // caps the flush at destruction
  // Whether this host has an RDMA device UCX can use (topology discovery).
  // Without one, messages up to a slot go out eagerly into the receives the
  // peer announced (UCX_RNDV_THRESH above slot_bytes, unless the
  // environment sets it): UCX's rendezvous costs a round trip per message,
  // behind the queued data of a busy link over tcp (64 MiB allreduce at
  // 1 Gbit/s: 0.81 -> 0.95 of the link), and a handshake plus a CMA read
  // over shared memory (61 -> 31 ms on one host). With one, UCX's own
  // thresholds stay (zero-copy RDMA reads; not measured here).
  bool rdma_device = false;
  // The communicator fills these from its settings and the environment
  // (lib/comm/init.cc); the transport reads no configuration itself.
};

// Counters for tests and diagnostics; updated by the progress thread.
struct UcxStats {
  std::atomic<uint64_t> messages_sent{0};
  std::atomic<uint64_t> messages_received{0};
  std::atomic<uint64_t> endpoints{0};     // UCP endpoints created
  std::atomic<uint64_t> peers_failed{0};  // endpoints UCX reported failed
};

// What UCX chose on this rank: its transports, as ucp_ep_print_info names
// them, for the first endpoint made (logged at INFO).
struct UcxInfo {
  std::string version;     // "1.13.1"
  std::string tls;         // what was asked for ("" = default)
  std::string first_lane;  // the transports/devices of the first endpoint
};

class UcxProgress;

class UcxTransport final : public Transport {
 public:
  // Collective over `oob`: starts UCP, allgathers the worker addresses,
  // starts the progress thread. Throws colossus::Error (SystemError when
  // UCX cannot start, on every rank alike; InvalidArgument for options).
  UcxTransport(bootstrap::OutOfBand& oob, Doorbell& bell, UcxOptions options);
  // Sends what was committed (bounded by min(timeout_s, 2 s) of no
  // progress), closes the endpoints, stops the thread, frees UCP. Never hangs.
  ~UcxTransport() override;

  const char* name() const override { return "ucx"; }
  int rank() const override { return rank_; }
  int nranks() const override { return nranks_; }
  std::unique_ptr<SendEndpoint> connect_send(int peer, int channel) override;
  std::unique_ptr<RecvEndpoint> connect_recv(int peer, int channel) override;
  Doorbell& doorbell() override { return bell_; }
  std::size_t slot_bytes() const override { return options_.slot_bytes; }

  const UcxStats& stats() const;
  UcxInfo info() const;

 private:
  void check_peer(int peer, int channel, const char* call) const;

  int rank_;
  int nranks_;
  Doorbell& bell_;
  UcxOptions options_;
  std::unique_ptr<UcxProgress> progress_;
};

// Whether this build has UCX (COLOSSUS_HAVE_UCX).
bool ucx_available();

// The transport; without UCX in the build, throws Error(InvalidUsage)
// saying so (unavailable.cc).
std::unique_ptr<Transport> make_ucx_transport(bootstrap::OutOfBand& oob, Doorbell& bell,
                                              const UcxOptions& options);

}  // namespace colossus::transport
