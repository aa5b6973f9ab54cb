#include "transports/shm/shm.hpp"

#include <unistd.h>

#include <new>
#include <random>
#include <sstream>

#include "base/logging.hpp"
#include "colossus/error.hpp"
#include "transports/shm/fifo.hpp"
#include "transports/shm/segment.hpp"

namespace colossus::transport {

namespace {

constexpr std::size_t kBellBytes = 4096;

// A rank's doorbell segment. The pid is there for whoever inspects a live
// segment (the name carries it too, for the sweep).
struct BellPage {
  Doorbell bell;
  alignas(64) int32_t pid = 0;
  int32_t rank = 0;
};
static_assert(sizeof(BellPage) <= kBellBytes);

// What each rank tells the others at construction.
struct Identity {
  uint32_t nonce = 0;  // names this rank's doorbell segment; rank 0's names the streams
  pid_t pid = 0;
  uint64_t pidns = 0;
  std::size_t slot_bytes = 0;
  int depth = 0;
  std::string host;  // last: a hostname has no spaces, but keep the parse simple

  std::string encode() const {
    std::ostringstream os;
    os << "shm1 " << nonce << ' ' << pid << ' ' << pidns << ' ' << slot_bytes << ' ' << depth << ' '
       << host;
    return os.str();
  }
  static Identity decode(const std::string& blob, int rank) {
    std::istringstream is(blob);
    std::string version;
    Identity id;
    is >> version >> id.nonce >> id.pid >> id.pidns >> id.slot_bytes >> id.depth >> id.host;
    if (!is || version != "shm1") {
      throw Error(ErrorCode::InternalError,
                  "shm transport: rank " + std::to_string(rank) + " sent a malformed setup blob");
    }
    return id;
  }
};

std::string bell_name(uint64_t secret, const Identity& id, int rank) {
  return shm::segment_name(secret, id.nonce, id.pidns, id.pid, "b" + std::to_string(rank));
}

}  // namespace

ShmTransport::ShmTransport(bootstrap::OutOfBand& oob, const ShmOptions& o)
    : rank_(oob.rank()), nranks_(oob.nranks()), options_(o), secret_(oob.job_secret()) {
  if (o.slot_bytes < 1 || o.slot_bytes > (std::size_t{1} << 30) || o.depth < 2 ||
      o.depth > shm::kMaxDepth || !(o.timeout_s > 0)) {
    throw Error(ErrorCode::InvalidArgument,
                "shm transport: slot_bytes must be in [1, 1 GiB], depth in [2, 64], timeout > 0");
  }
  Identity me;
  me.nonce = std::random_device{}();
  me.pid = getpid();
  me.pidns = shm::pid_namespace();
  me.slot_bytes = o.slot_bytes;
  me.depth = o.depth;
  me.host = shm::host_key();

  // Our doorbell exists before anyone learns its name. Whatever happens
  // next, the name goes at the end of this constructor: by then every peer
  // has mapped it (closing barrier) or setup has failed.
  const std::string my_bell = bell_name(secret_, me, rank_);
  bell_segment_ = std::make_shared<shm::Mapping>(shm::create_segment(my_bell, kBellBytes, true));
  struct Unlink {
    const std::string& name;
    ~Unlink() { shm::unlink_segment(name); }
  } unlink_bell{my_bell};
  auto* page = new (bell_segment_->data()) BellPage();
  page->pid = static_cast<int32_t>(me.pid);
  page->rank = rank_;
  bell_ = &page->bell;

  const std::vector<std::string> blobs = oob.allgather(me.encode());
  std::vector<Identity> ids;
  for (int r = 0; r < nranks_; ++r)
    ids.push_back(Identity::decode(blobs.at(static_cast<std::size_t>(r)), r));
  for (int r = 0; r < nranks_; ++r) {
    const Identity& id = ids[static_cast<std::size_t>(r)];
    // Every rank sees the same blobs, so every rank throws here alike.
    if (id.slot_bytes != me.slot_bytes || id.depth != me.depth) {
      throw Error(ErrorCode::InvalidArgument,
                  "shm transport: rank " + std::to_string(r) + " uses " +
                      std::to_string(id.slot_bytes) + " B slots x " + std::to_string(id.depth) +
                      ", rank " + std::to_string(rank_) + " " + std::to_string(me.slot_bytes) +
                      " B x " + std::to_string(me.depth) +
                      " (COLOSSUS_SLOT_BYTES / COLOSSUS_FIFO_DEPTH differ between ranks)");
    }
    pids_.push_back(id.pid);
    pidns_.push_back(id.pidns);
  }
  tag_ = ids[0].nonce;

  int local_leader = -1;
  for (int r = 0; r < nranks_; ++r) {
    const Identity& id = ids[static_cast<std::size_t>(r)];
    if (id.host != me.host) {
      peers_.push_back(nullptr);
      continue;
    }
    if (local_leader < 0) local_leader = r;
    auto p = std::make_shared<shm::Peer>();
    p->rank = r;
    if (r == rank_) {
      p->bell_segment = bell_segment_;
      p->bell = bell_;
    } else {
      const std::string name = bell_name(secret_, id, r);
      shm::Mapping m = shm::try_open_segment(name, kBellBytes, true);
      if (!m) {
        throw Error(ErrorCode::SystemError,
                    "shm transport: rank " + std::to_string(rank_) + " cannot see rank " +
                        std::to_string(r) + "'s doorbell " + name + " although both report host " +
                        me.host + " (separate /dev/shm?)");
      }
      p->bell_segment = std::make_shared<shm::Mapping>(std::move(m));
      p->bell = &reinterpret_cast<BellPage*>(p->bell_segment->data())->bell;
    }
    p->watch = std::make_unique<shm::PeerWatch>(id.pid, id.pidns == me.pidns);
    peers_.push_back(std::move(p));
  }
  oob.barrier();  // every peer has mapped our doorbell: unlink_bell may go

  if (rank_ == local_leader) {
    if (const std::size_t n = shm::sweep_stale_segments(); n > 0) {
      CLOG_SUB(Info, Shm) << "shm transport: removed " << n
                          << " segments left in /dev/shm by dead processes";
    }
  }
}

ShmTransport::~ShmTransport() = default;

bool ShmTransport::reachable(int peer) const {
  return peer >= 0 && peer < nranks_ && peers_[static_cast<std::size_t>(peer)] != nullptr;
}

pid_t ShmTransport::peer_pid(int peer) const {
  return reachable(peer) ? pids_[static_cast<std::size_t>(peer)] : 0;
}

const std::shared_ptr<shm::Peer>& ShmTransport::peer(int rank, const char* what) const {
  if (rank < 0 || rank >= nranks_) {
    throw Error(ErrorCode::InvalidArgument, std::string("shm transport: ") + what + " to rank " +
                                                std::to_string(rank) + " of " +
                                                std::to_string(nranks_));
  }
  if (!reachable(rank)) {
    throw Error(ErrorCode::InvalidUsage, std::string("shm transport: ") + what + " from rank " +
                                             std::to_string(rank_) + " to rank " +
                                             std::to_string(rank) + ", which is on another host");
  }
  return peers_[static_cast<std::size_t>(rank)];
}

std::string ShmTransport::stream_name(int src, int dst, int channel) const {
  // The receiver (dst) creates the segment: its pid goes into the name.
  const auto d = static_cast<std::size_t>(dst);
  return shm::segment_name(
      secret_, tag_, pidns_[d], pids_[d],
      "s" + std::to_string(src) + "-" + std::to_string(dst) + "-c" + std::to_string(channel));
}

std::unique_ptr<SendEndpoint> ShmTransport::connect_send(int peer_rank, int channel) {
  shm::StreamConfig c;
  c.peer = peer(peer_rank, "connect_send");
  c.name = stream_name(rank_, peer_rank, channel);
  c.src = rank_;
  c.dst = peer_rank;
  c.channel = channel;
  c.slot_bytes = options_.slot_bytes;
  c.depth = options_.depth;
  c.timeout_s = options_.timeout_s;
  c.cma_min_bytes = options_.cma_min_bytes;
  return shm::make_send_endpoint(std::move(c));
}

std::unique_ptr<RecvEndpoint> ShmTransport::connect_recv(int peer_rank, int channel) {
  shm::StreamConfig c;
  c.peer = peer(peer_rank, "connect_recv");
  c.name = stream_name(peer_rank, rank_, channel);
  c.src = peer_rank;
  c.dst = rank_;
  c.channel = channel;
  c.slot_bytes = options_.slot_bytes;
  c.depth = options_.depth;
  c.timeout_s = options_.timeout_s;
  c.cma_min_bytes = options_.cma_min_bytes;
  return shm::make_recv_endpoint(std::move(c));
}

std::unique_ptr<Transport> make_shm_transport(bootstrap::OutOfBand& oob,
                                              const ShmOptions& options) {
  return std::make_unique<ShmTransport>(oob, options);
}

std::string shm_segment_prefix(uint64_t job_secret) { return shm::segment_prefix(job_secret); }

std::size_t sweep_stale_shm_segments() { return shm::sweep_stale_segments(); }

}  // namespace colossus::transport
