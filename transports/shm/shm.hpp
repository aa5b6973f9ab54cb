// shm.hpp: the shared-memory transport between processes of one host.
//
// Each stream is a FIFO of slots in a POSIX shared-memory segment that the
// receiver creates and the sender writes into; the receiver's executor
// reduces straight out of the slot (see fifo.hpp for the layout). Each rank's
// Doorbell lives in a small segment of its own that all same-host peers map
// and ring, so a rank sleeping in the executor wakes when a peer commits a
// message to it or releases a slot it waits for.
//
// Construction is collective over the OutOfBand (one allgather, one
// barrier). Ranks on other hosts are allowed (a composite transport may put
// shm under the same-host pairs only); connecting to one throws.
//
// Cleanup: doorbell segments are unlinked at the end of the constructor,
// stream segments as soon as the sender has mapped them, so a job that is
// killed mid-collective leaves nothing in /dev/shm. What a job killed during
// setup leaves, the next job on the host removes (sweep_stale_shm_segments).
//
// Single copy: a message of ShmOptions::cma_min_bytes or more sent from a
// buffer that stays put (SendEndpoint::try_post) travels as its address;
// the receiver reads it with process_vm_readv straight into its
// destination, and the sender's executor waits at the end of the call until
// it was read. Each stream probes once whether the kernel allows the read
// (same user, no ptrace restriction, same pid namespace); where it does
// not, messages are copied through the slot as before.
//
// Dead peers: an endpoint with nothing to do checks (pidfd, every 25 ms)
// whether the peer process still exists and returns PeerFailed if not.
//
// Thread safety: like every transport, one rank's thread uses it and its
// endpoints; peers only touch its doorbell.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "bootstrap/oob.hpp"
#include "transports/transport.hpp"

namespace colossus::transport {

namespace shm {
struct Peer;
class Mapping;
}  // namespace shm

struct ShmOptions {
  std::size_t slot_bytes = 512 << 10;  // must match the communicator's Settings::slot_bytes
  int depth = 4;                       // slots per stream, 2..64 (Settings::fifo_depth)
  double timeout_s = 300;              // how long a sender waits for its receiver's segment
  // Messages from this size up are posted by reference and the receiver
  // reads them from the sender's memory with process_vm_readv (one copy
  // instead of two), where the kernel lets it (probed per stream);
  // kNoCma (SIZE_MAX): never. COLOSSUS_SHM_CMA_MIN.
  static constexpr std::size_t kNoCma = ~std::size_t{0};
  std::size_t cma_min_bytes = 256 << 10;
};

class ShmTransport final : public Transport {
 public:
  // Collective: every rank of `oob` constructs its ShmTransport at once.
  ShmTransport(bootstrap::OutOfBand& oob, const ShmOptions& options);
  ~ShmTransport() override;

  const char* name() const override { return "shm"; }
  int rank() const override { return rank_; }
  int nranks() const override { return nranks_; }
  std::unique_ptr<SendEndpoint> connect_send(int peer, int channel) override;
  std::unique_ptr<RecvEndpoint> connect_recv(int peer, int channel) override;
  Doorbell& doorbell() override { return *bell_; }
  std::size_t slot_bytes() const override { return options_.slot_bytes; }

  // Whether `peer` shares this rank's host (and so can be connected).
  bool reachable(int peer) const;
  // The pid of a same-host peer (for diagnostics).
  pid_t peer_pid(int peer) const;

 private:
  std::string stream_name(int src, int dst, int channel) const;
  const std::shared_ptr<shm::Peer>& peer(int rank, const char* what) const;

  int rank_ = 0;
  int nranks_ = 0;
  ShmOptions options_;
  uint64_t secret_ = 0;
  uint32_t tag_ = 0;  // rank 0's nonce: names of this transport instance's streams
  std::vector<pid_t> pids_;
  std::vector<uint64_t> pidns_;
  std::shared_ptr<shm::Mapping> bell_segment_;
  Doorbell* bell_ = nullptr;
  std::vector<std::shared_ptr<shm::Peer>> peers_;  // null for ranks on other hosts
};

std::unique_ptr<Transport> make_shm_transport(bootstrap::OutOfBand& oob, const ShmOptions& options);

// "colossus-<8 hex>": the /dev/shm name prefix of every segment of the job
// with this OutOfBand::job_secret() (for tests and tools that check cleanup).
std::string shm_segment_prefix(uint64_t job_secret);

// Removes segments that SIGKILLed colossus processes of this user left in
// /dev/shm; the constructor runs it on each host. Returns how many it removed.
std::size_t sweep_stale_shm_segments();

}  // namespace colossus::transport
