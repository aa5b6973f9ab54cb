// comm_impl.hpp: one rank's communicator state behind colossus::Communicator.
//
// Owns a cache of Plans by call shape and the scratch memory Plans ask for,
// and shares with the communicators split from it (Link) the rank's
// transport, bootstrap and executor. A call goes: validate -> plan (from
// cache or the algorithm) -> executor; inside a group (group.cc), validate
// -> record, and the group runs every recorded call's Plan together.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "base/config.hpp"
#include "base/failure.hpp"
#include "bootstrap/oob.hpp"
#include "bootstrap/unique_id.hpp"
#include "bootstrap/watch.hpp"
#include "colossus/colossus.hpp"
#include "exec/cuda/stream_executor.hpp"
#include "exec/executor.hpp"
#include "transports/transport.hpp"
#include "tune/tuner.hpp"

namespace colossus::detail {

struct Settings {
  int nchannels = 1;
  std::size_t chunk_bytes = 0;
  double timeout_s = 0;
  std::size_t slot_bytes = 0;
  int fifo_depth = 4;
  // shm messages from this size up are read from the sender (single copy);
  // SIZE_MAX: never (COLOSSUS_SHM_CMA_MIN).
  std::size_t shm_cma_min = ~std::size_t{0};
  std::string transport;         // "", "shm", "tcp" or "ucx"
  std::string algo;              // NCCL_ALGO syntax; "" = all
  std::string topology;          // preset / XML the ranks are mapped onto; "" = real hosts
  bool blocking = true;          // Options::blocking
  bool nchannels_fixed = false;  // given by Options or the environment: not tuned
  int nchannels_lo = 1;          // NCCL_MIN_NCHANNELS / NCCL_MAX_NCHANNELS: the tuned
  int nchannels_hi = 64;         // channel counts are clamped into [lo, hi]
  bool chunk_fixed = false;
  int cuda_device = -1;   // bound GPU, or -1
  int max_channels = 64;  // device residency bound (ranks sharing a GPU)
};

// The most channels each rank of a bound communicator may run, from every
// rank's device (info[r]) and host (hosts[r]): ranks sharing one GPU are all
// resident at once. Also within the device kernel's one-launch limit.
int device_channel_limit(const std::vector<std::string>& hosts,
                         const std::vector<exec::gpu::DeviceInfo>& info);

plan::CollArgs make_args(plan::Collective coll, std::size_t count, DataType type, ReduceOp op,
                         int root, int nranks);

// Options over the environment over defaults; throws on out-of-range options.
Settings resolve_settings(const Options& options, const base::Config& env);

// What a communicator and every communicator split from it share on one
// rank: the transport to the root communicator's ranks, its bootstrap, and
// one executor, so that a split reuses the parent's connections. A split
// communicator's Plans are translated to the root's ranks and to a channel
// space of its own (kChannelsPerComm transport channels), and run on the
// same executor: calls of communicators that share a Link on one rank are
// therefore serialized (mutex), and must be issued in a consistent order
// across ranks, as with any blocking calls.
//
// Failures (failure.cc): the Link holds the job's failure state. Processes
// made by init() have a watch over the bootstrap's connections that
// spreads each rank's failure to all (bootstrap/watch.hpp); the ranks of a
// loopback group share one state. Once it is raised every call on every
// communicator of the Link throws; abort() also closes the connections.
struct Link {
  static constexpr int kChannelsPerComm = 128;  // collectives, then point-to-point
  // Spaces per rank: every transport takes channels up to 2^24 (tcp's bound).
  static constexpr int kMaxSpaces = (1 << 24) / kChannelsPerComm;
  ~Link();
  std::unique_ptr<bootstrap::OutOfBand> oob;  // outlives the transport built on it
  std::shared_ptr<base::FailureState> failure = std::make_shared<base::FailureState>();
  std::unique_ptr<bootstrap::Watch> watch;  // processes: failures to and from the job
  // shrink: every root rank's spare rendezvous (processes), this rank's own
  // (discarded with the Link), and a loopback group's key.
  std::vector<bootstrap::UniqueId> spares;
  std::optional<bootstrap::UniqueId> own_spare;
  uint64_t local_group = 0;
  std::unique_ptr<transport::Transport> transport;
  std::unique_ptr<exec::Executor> executor;
  // What a raise rings to wake this rank's executor; cleared when the
  // transport goes (the failure state may outlive the Link).
  struct Bell {
    std::mutex mu;
    transport::Doorbell* bell = nullptr;
  };
  std::shared_ptr<Bell> bell = std::make_shared<Bell>();
  std::mutex mutex;        // one call (or group) at a time on the executor
  std::mutex split_mutex;  // one split at a time (it reads and then takes a space)
  int next_space = 1;      // the lowest channel space this rank has not handed out
  // Spaces below next_space whose communicator this rank has destroyed: a
  // later split reuses them, and with them the connections the executor
  // keeps for their channels (split.cc).
  std::set<int> free_spaces;

  // This rank of the root communicator.
  int rank() const { return root_rank; }
  int root_rank = 0;
  // Throws the failure's error if one was raised, InvalidUsage after abort.
  void check_usable(const char* call) const;
  // A call's executor error becomes this rank's failure, raised here and
  // reported to the job (not for errors that the failure itself caused).
  void note_failure(const Error& e);
  // Raises `f` here and reports it to the job.
  void spread(const base::Failure& f);
  // Watches `state` (its own, or a loopback group's shared one): the
  // executor checks it, and a raise rings this rank's doorbell.
  void use_failure_state(std::shared_ptr<base::FailureState> state);
  // Closes the connections (abort): waits up to `wait_s` for the call in
  // flight to stop.
  void tear_down(double wait_s);
  bool torn_down = false;  // under mutex
};

// A pre-multiplied sum's scaling of this rank's input (premul.cc): out =
// in * scalar, run just before its call, which then sums `out`. The scalar
// is copied when the call is made; `scratch` holds `out` where recv cannot
// (reduce_scatter, reduce on a non-root) and lives as long as the Call.
struct PreScale {
  DataType dtype = DataType::Float32;
  const void* in = nullptr;
  void* out = nullptr;
  std::size_t count = 0;  // elements
  alignas(8) unsigned char scalar[8] = {};
  std::vector<std::uint64_t> scratch;
};
void run_prescale(const PreScale& pre);

// One recorded or immediate call: its arguments and buffers.
struct Call {
  plan::CollArgs args;
  const void* send = nullptr;
  void* recv = nullptr;
  std::shared_ptr<PreScale> pre;  // a pre-multiplied sum's scaling, or null
};

class CommImpl : public std::enable_shared_from_this<CommImpl> {
 public:
  // `oob` (the bootstrap of multi-process groups) is kept for the
  // communicator's lifetime; loopback groups have none. `layout` and `model`
  // are what the tuner plans against; every rank passes the same.
  CommImpl(std::unique_ptr<transport::Transport> transport, const Settings& settings,
           algorithms::Layout layout, tune::CostModel model,
           std::unique_ptr<bootstrap::OutOfBand> oob = nullptr);
  // All ranks on this host, the host-memory cost model.
  CommImpl(std::unique_ptr<transport::Transport> transport, const Settings& settings,
           std::unique_ptr<bootstrap::OutOfBand> oob = nullptr);
  // A communicator split from `parent`: rank i of it is the parent's rank
  // members[i]; this is rank `rank`; its channels are space `space` of the
  // parent's Link.
  CommImpl(const CommImpl& parent, int rank, const std::vector<int>& members, int space);
  ~CommImpl();

  int rank() const { return rank_; }
  int nranks() const { return nranks_; }
  // Validates, plans and runs one call (any collective, p2p included), or
  // records it when this thread is inside a group.
  void collective(const plan::CollArgs& args, const void* send, void* recv);
  // A pre-multiplied sum (premul.cc): allreduce, reduce_scatter or reduce
  // (args.op Sum) of this rank's input times `scalar` (host memory, one
  // element of args.dtype), recorded like collective() inside a group.
  void premul_sum(const plan::CollArgs& args, const void* send, void* recv, const void* scalar);
  // Runs calls together (a group's share on one Link; every CommImpl named
  // shares that Link): per communicator, sends to itself are matched with
  // its receives from itself in order and copied; the rest are planned and
  // run as one set of jobs on the Link's executor.
  static void run_calls(const std::vector<std::pair<CommImpl*, Call>>& calls);
  // The tuner's predicted microseconds for one call on this rank, without
  // running it (group_simulate_end): its pick's time for a collective; for
  // send/recv one hop of the peer's link class plus the bytes at its rate.
  double predict_us(const plan::CollArgs& args);
  // Collective over this communicator: the new communicator of `color`
  // (null when color < 0), ranks ordered by (key, rank).
  std::shared_ptr<CommImpl> split(int color, int key);
  const Link& link() const { return *link_; }
  // The same on device buffers, enqueued on `stream` (needs bind_device).
  void collective(const plan::CollArgs& args, const void* send, void* recv, cudaStream_t stream);
  // Binds the communicator to setup.device (construction-time; setup.control
  // is set here to this communicator's own transport).
  void bind_device(exec::gpu::StreamSetup setup);
  int cuda_device() const { return device_ ? device_->device() : -1; }
  void check_async_error();
  // Failures (failure.cc, shrink.cc).
  void abort();
  void revoke();
  CommState state() const;
  std::shared_ptr<CommImpl> shrink(const std::vector<int>& exclude, ShrinkMode mode);
  const Settings& settings() const { return settings_; }
  Link& shared_link() { return *link_; }

 private:
  const plan::Plan& plan_for(const plan::CollArgs& args);
  // Plans with no tuner choice: send/recv (direct) and alltoallv (pairwise,
  // one set of parameters every rank agrees on whatever its counts).
  plan::Plan fixed_plan(const plan::CollArgs& args) const;
  // A Plan of this communicator as the Link's executor runs it: peers as the
  // root communicator's ranks, channels in this communicator's space.
  plan::Plan to_link(plan::Plan p) const;
  // This communicator's layout restricted to `members` (split, shrink).
  algorithms::Layout restrict_layout(const std::vector<int>& members) const;
  // Bound communicators: host calls must not be handed device memory.
  void check_host_buffers(const plan::CollArgs& args, const void* send, const void* recv) const;

  int rank_;
  int nranks_;
  Settings settings_;
  std::shared_ptr<Link> link_;
  std::vector<int> to_root_;         // rank -> root communicator's rank; empty: the root itself
  int channel_base_ = 0;             // first transport channel of this communicator's space
  transport::Transport* transport_;  // link_->transport
  algorithms::Layout layout_;
  tune::Tuner tuner_;
  using PlanKey = std::tuple<int, std::size_t, int, int, int>;  // coll, count, dtype, op, root
  std::map<PlanKey, plan::Plan> plans_;
  std::vector<std::byte> scratch_;
  std::unique_ptr<exec::gpu::StreamExecutor> device_;  // after transport_: uses it
  int shrinks_ = 0;  // shrinks of this communicator so far: each a rendezvous of its own
};

// A communicator a non-blocking init or split is still building (failure.cc).
class PendingComm {
 public:
  // Runs `build` on a thread of its own; `on_abort` (may be empty) is how
  // abort() reaches the build (a split's parent, say). Waits for the
  // build within `timeout_s` where a call needs its result.
  PendingComm(std::function<std::shared_ptr<CommImpl>(const base::FailureState& cancel)> build,
              std::function<void()> on_abort, double timeout_s);
  ~PendingComm();  // aborts a build still running and joins it
  CommState state() const;
  // The communicator (waits for the build); throws the build's error.
  CommImpl& get(const char* call);
  void abort();
  void check_error() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::shared_ptr<CommImpl> result_;
  std::optional<Error> error_;
  base::FailureState cancel_;
  std::function<void()> on_abort_;
  double timeout_s_;
  std::thread worker_;
};

// A rank of a job in processes (init.cc): bootstrap at `id`, transports,
// placement, the watch, a spare rendezvous for shrink. start_comm() runs it
// now, or (settings.blocking false) on a PendingComm's thread.
std::shared_ptr<CommImpl> build_comm(const bootstrap::UniqueId& id, int rank, int nranks,
                                     Settings settings);
Communicator start_comm(const bootstrap::UniqueId& id, int rank, int nranks,
                        const Settings& settings);
// A key no other loopback group of this process has (Link::local_group).
uint64_t new_local_group();

// This thread's group nesting depth (group.cc), and recording a call
// inside a group.
int group_depth();
void group_record(std::shared_ptr<CommImpl> comm, Call call);

// The one way to wrap a CommImpl into a public Communicator handle, whose
// constructor from an implementation is private: init, loopback_group and
// tests that assemble a rank from a transport of their own use it.
struct CommAccess {
  static Communicator wrap(std::shared_ptr<CommImpl> impl) { return Communicator(std::move(impl)); }
  static Communicator wrap(std::shared_ptr<PendingComm> p) { return Communicator(std::move(p)); }
};

}  // namespace colossus::detail
