// executor.hpp: runs one rank's Plan over its transport, on host buffers.
//
// All channels of a Plan advance in one thread: each channel's steps run in
// order, a step in pieces of one transport slot, and whichever channel can
// move does. When none can, the executor spins briefly, then yields, then
// sleeps on the rank's doorbell, so many ranks on few cores still progress.
// Every wait is bounded by the communicator's timeout.
//
// Thread safety: one Executor per rank, used by one thread at a time.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "base/failure.hpp"
#include "colossus/types.hpp"
#include "plan/plan.hpp"
#include "plan/step_io.hpp"
#include "transports/transport.hpp"

namespace colossus::exec {

// One piece of a Step on the CPU: ops (plan::bind) for `count` elements of
// `dtype`, (+) being `op` (Avg reduces as Sum), divided by `divisor` when > 1
// (a finalize). The executor runs every piece so, and so does the CPU run of
// the device channel loop (tests/exec/channel_cpu.hpp).
void reduce_copy_piece(const plan::PieceOperands& ops, DataType dtype, ReduceOp op,
                       std::size_t count, int divisor);

struct Buffers {
  const void* send = nullptr;
  void* recv = nullptr;
  void* scratch = nullptr;
};

// One operation of a group: its Plan and buffers.
struct Job {
  const plan::Plan* plan = nullptr;
  Buffers buffers;
};

class Executor {
 public:
  Executor(transport::Transport& transport, double timeout_s);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs `plan` to completion. Throws colossus::Error on a timeout (with the
  // step each stuck channel waits in) or a failed peer.
  void run(const plan::Plan& plan, const Buffers& buffers);
  // Runs the Plans of a group together, in one progress loop: every channel
  // of every job is a lane, and lanes advance whenever they can. A lane
  // whose messages share a stream (peer, direction, transport channel) with
  // a lane of an earlier job starts once that lane is done, so messages on
  // every stream stay in job order on both ends; lanes sharing no stream
  // run at once, which is what lets a group of sends and receives in any
  // pattern complete.
  void run(const std::vector<Job>& jobs);

  // How long a stalled channel keeps yielding before it sleeps on the
  // doorbell. Long (the default, 200 us) when every rank has a core: a
  // mid-size step takes tens of microseconds and a futex wake costs more;
  // zero when ranks outnumber cores, where yielding ranks only take the
  // core from the ones with work.
  void set_yield_for(std::chrono::microseconds us) { yield_for_ = us; }
  // Likewise for polling without system calls before the first yield
  // (default 20 us; a yield costs a system call, which in a VM is more than
  // a small message's whole latency).
  void set_spin_for(std::chrono::microseconds us) { spin_for_ = us; }
  // The job's failure state (failure.hpp): a run checks it on every pass
  // and stops with the error it describes once raised (abort, revoke, a
  // rank that failed elsewhere). When a peer's connection drops and notices
  // can arrive (a watch runs), the run waits up to a second for the root
  // cause before blaming that peer. Null: neither.
  void set_failure_state(const base::FailureState* state) { failure_ = state; }
  // The peer whose connection the last failed run lost with no root cause
  // arriving in time, or -1.
  int lost_peer() const { return lost_peer_; }

 private:
  struct Endpoints;
  struct ChannelRun;
  Endpoints& endpoints(int channel);
  transport::SendEndpoint& send_endpoint(Endpoints& eps, int peer, int channel);
  transport::RecvEndpoint& recv_endpoint(Endpoints& eps, int peer, int channel);
  void connect(const plan::Plan& plan);
  bool advance(ChannelRun& ch);
  bool flush_posted();
  std::vector<ChannelRun> lanes_of(const std::vector<Job>& jobs);
  [[noreturn]] void fail_timeout(const std::vector<ChannelRun>& channels) const;
  // Once the failure state is raised: its error, with where this rank was.
  [[noreturn]] void fail_interrupted(const std::vector<ChannelRun>& channels) const;
  // A peer's connection dropped in `what`: the root cause if one arrives
  // in time, else `what` itself.
  [[noreturn]] void fail_peer(int peer, const std::string& what);

  transport::Transport& transport_;
  double timeout_s_;
  std::size_t piece_bytes_;
  std::chrono::microseconds yield_for_{200};
  std::chrono::microseconds spin_for_{20};
  std::map<int, std::unique_ptr<Endpoints>> endpoints_;  // by transport channel
  // Reused by every run, so that a small call allocates nothing here.
  std::vector<Job> single_;
  std::vector<std::size_t> active_, next_;
  // Send endpoints (with their peer) holding messages posted by reference
  // that the receiver has not read yet.
  std::vector<std::pair<int, transport::SendEndpoint*>> posted_;
  const base::FailureState* failure_ = nullptr;
  int lost_peer_ = -1;
};

}  // namespace colossus::exec
