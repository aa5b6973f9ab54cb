#include "sim/engine.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "colossus/error.hpp"
#include "plan/replay.hpp"
#include "sim/flows.hpp"
#include "tune/bound.hpp"
#include "tune/traffic.hpp"

namespace colossus::sim {

using plan::Step;
using plan::StepKind;

namespace {

constexpr double kGBps = 1e3;  // 1 GB/s = 1e9 B/s = 1e3 B/us

enum class Phase : uint8_t { Start, Overhead, Moving, Done };
enum ResKind : uint8_t { kIntra, kNic, kMemory, kCores };

// One message of a stream (sender, receiver in the sender's frame,
// transport channel), matched in order by the walker (plan/replay.hpp): when
// it was sent (the middle of its step, for the trace), when it arrives, and
// the sender's trace thread.
struct Message {
  double sent, arrival;
  int track;
};

// The timing of one lane of the walker (same id): where its current step is.
struct Agent {
  Phase phase = Phase::Start;
  double began = 0;  // current step's start, for the trace
};

struct Wake {
  double at;
  std::uint64_t seq;
  int agent;
  bool operator>(const Wake& o) const { return at > o.at || (at == o.at && seq > o.seq); }
};

// Held ranks are 0 .. held-1: every rank unfolded, node 0's folded; a
// rank x is simulated by held rank rep(x), whose resources are 3 * rep(x)
// (on-node port out, in) and 3 * rep(x) + 2 (memory engine).
class Engine {
 public:
  Engine(const Fabric& fabric, const Workload& work, const SimOptions& opt)
      : fab_(fabric), work_(work), opt_(opt) {}

  SimResult run();

 private:
  void hold_plans();
  void build_resources();
  void choose_latency_samples();
  int held_rank(int id) const { return replay_->rank_of(id); }
  double latency(int from, int to);
  void wake(int agent, double at) { wakes_.push(Wake{at, seq_++, agent}); }
  void advance(int agent, double now);
  bool begin_step(Agent& a, int id, const Step& s, double now);
  void start_move(Agent& a, int id, const Step& s, double now);
  void end_move(Agent& a, int id, const Step& s, double now);

  const Fabric& fab_;
  const Workload& work_;
  const SimOptions& opt_;

  Folding fold_;
  std::string why_not_folded_;
  int held_ = 0;                    // ranks held
  std::vector<plan::Plan> plans_;   // held ranks' Plans, rank-major, each rank's in job order
  std::vector<std::size_t> esize_;  // by Plan
  std::unique_ptr<plan::Replay<Message>> replay_;  // lanes, streams, in-order matching
  std::vector<Agent> agents_;                      // by lane
  std::vector<int> track_;                         // by lane: its thread in the trace
  std::size_t total_steps_ = 0, done_steps_ = 0;

  FlowSet flows_;
  std::vector<ResKind> res_kind_;
  std::vector<int> nic_tx_, nic_rx_;  // by node * nics + nic index, -1 until used
  std::vector<int> cores_;            // by node, -1 when its ranks each have a core
  int nics_per_node_ = 1;
  std::unordered_map<std::uint64_t, double> latency_;  // folded: (held rank, to) -> orbit mean
  int orbit_samples_ = 1;                              // folded: orbit elements averaged
  std::priority_queue<Wake, std::vector<Wake>, std::greater<Wake>> wakes_;
  std::uint64_t seq_ = 0, events_ = 0;
  double end_us_ = 0;
};

void Engine::hold_plans() {
  const int n = work_.nranks;
  if (opt_.fold)
    fold_ = choose_folding(fab_, work_, &why_not_folded_);
  else
    why_not_folded_ = "folding turned off";
  held_ = fold_.slots(n);
  auto refuse = [&](std::size_t need) {
    throw Error(
        ErrorCode::InvalidArgument,
        "simulator: " + work_.name + " on " + std::to_string(n) + " ranks needs " +
            (need ? "about " + std::to_string(need) : "more than " + std::to_string(kMaxSimSteps)) +
            " steps of Plans held at once (limit " + std::to_string(kMaxSimSteps) +
            (fold_.active() ? "), even folded to " + std::to_string(fold_.slots(n)) + " ranks"
                            : "); ranks not folded: " + why_not_folded_) +
            ". Fewer ranks or channels, or a larger call (ring, hierarchical, pairwise and"
            " bruck fold when every block of the call holds data) would fit");
  };
  plans_.reserve(static_cast<std::size_t>(held_));
  for (int r = 0; r < held_; ++r) {
    std::size_t steps = 0;
    for (plan::Plan& p : work_.plans_of(r)) {
      if (p.rank != r) {
        throw Error(ErrorCode::InternalError, "simulator: " + work_.name + " gave rank " +
                                                  std::to_string(r) + " a Plan of rank " +
                                                  std::to_string(p.rank));
      }
      steps += p.num_steps();
      esize_.push_back(dtype_size(p.args.dtype));
      plans_.push_back(std::move(p));
    }
    total_steps_ += steps;
    // Rank 0's Plans are a fair sample of the others': refuse before building them.
    if (r == 0 && !fold_.active() && steps * static_cast<std::size_t>(n) > kMaxSimSteps)
      refuse(steps * static_cast<std::size_t>(n));
    if (total_steps_ > kMaxSimSteps) refuse(0);
  }
}

void Engine::build_resources() {
  for (int r = 0; r < held_; ++r) {
    for (const ResKind k : {kIntra, kIntra, kMemory}) {
      res_kind_.push_back(k);
      flows_.add_resource((k == kMemory ? fab_.memory_gbytes_per_s() : fab_.intra_gbytes_per_s()) *
                          kGBps);
    }
  }
  for (int r = 0; r < fab_.nranks(); ++r)
    nics_per_node_ = std::max(nics_per_node_, fab_.nic_index(r) + 1);
  const std::size_t nodes = static_cast<std::size_t>(fab_.layout().nnodes());
  nic_tx_.assign(nodes * static_cast<std::size_t>(nics_per_node_), -1);
  nic_rx_ = nic_tx_;
  cores_.assign(nodes, -1);
  if (fab_.cores_gbytes_per_s() > 0) {
    for (int r = 0; r < held_; ++r) {
      int& id = cores_[static_cast<std::size_t>(fab_.layout().node_of(r))];
      if (id >= 0) continue;
      id = flows_.add_resource(fab_.cores_gbytes_per_s() * kGBps);
      res_kind_.push_back(kCores);
    }
  }
  for (int r = 0; r < held_; ++r) {
    const std::size_t i =
        static_cast<std::size_t>(fab_.layout().node_of(r) * nics_per_node_ + fab_.nic_index(r));
    if (nic_tx_[i] >= 0 || fab_.layout().nnodes() < 2) continue;
    for (int* id : {&nic_tx_[i], &nic_rx_[i]}) {
      *id = flows_.add_resource(fab_.nic_gbytes_per_s(r) * kGBps, fab_.nic_burst_bytes(r),
                                fab_.nic_peak_gbytes_per_s(r) * kGBps);
      res_kind_.push_back(kNic);
    }
  }
}

// Folded: the mean over the class's orbit, so a ring that crosses switch
// tiers at some hops and not others pays their average, as its cycle does.
// Where the held Plans talk to very many peers (pairwise all-to-all: every
// rank), the whole orbit of every pair would cost nodes x pairs latency
// look-ups; choose_latency_samples() then averages evenly spaced orbit
// elements instead (stratified over the node rotation).
double Engine::latency(int from, int to) {
  if (!fold_.active() || fab_.same_node(from, to)) return fab_.latency_us(from, to);
  const std::uint64_t key = (std::uint64_t(std::uint32_t(from)) << 32) | std::uint32_t(to);
  auto [it, fresh] = latency_.try_emplace(key, 0.0);
  if (fresh) {
    double sum = 0;
    for (int j = 0; j < orbit_samples_; ++j) {
      const int k =
          static_cast<int>((2 * std::int64_t(j) + 1) * fold_.nodes / (2 * orbit_samples_));
      const int p = k * fold_.per_node;
      sum += fab_.latency_us(fold_.apply(p, from), fold_.apply(p, to));
    }
    it->second = sum / orbit_samples_;
  }
  return it->second;
}

// The whole orbit (every node) unless the distinct off-node pairs of the
// held Plans times the nodes exceed kLatencyLookups; then as many evenly
// spaced elements as that allows, at least kMinOrbitSamples.
void Engine::choose_latency_samples() {
  if (!fold_.active()) return;
  constexpr std::size_t kLatencyLookups = 1'000'000;
  constexpr int kMinOrbitSamples = 16;
  std::unordered_set<std::uint64_t> pairs;
  for (const plan::Plan& p : plans_) {
    for (const auto& ch : p.channels) {
      for (const Step& s : ch.steps) {
        if (plan::sends(s.kind) && !fab_.same_node(p.rank, s.send_peer))
          pairs.insert((std::uint64_t(std::uint32_t(p.rank)) << 32) | std::uint32_t(s.send_peer));
      }
    }
  }
  const std::size_t budget = kLatencyLookups / std::max<std::size_t>(1, pairs.size());
  orbit_samples_ = static_cast<int>(std::min<std::size_t>(
      static_cast<std::size_t>(fold_.nodes), std::max<std::size_t>(kMinOrbitSamples, budget)));
}

// Start phase: waits for the message a receiving step needs (parked in the
// walker until it is sent, then until it arrives). False: parked.
bool Engine::begin_step(Agent& a, int id, const Step& s, double now) {
  a.began = now;
  if (!plan::receives(s.kind)) return true;
  const Message* m = replay_->incoming(id);
  if (m == nullptr) return false;  // end_move of its sender wakes this lane
  if (m->arrival > now) {
    wake(id, m->arrival);
    return false;
  }
  replay_->take(id);
  if (opt_.trace && !opt_.trace->full()) {
    opt_.trace->flows.push_back(TraceFlow{fold_.rep(s.recv_peer), m->track, m->sent, held_rank(id),
                                          track_[static_cast<std::size_t>(id)], now});
  }
  return true;
}

void Engine::start_move(Agent& a, int id, const Step& s, double now) {
  const int slot = replay_->lane(id).slot;
  const double bytes = static_cast<double>(s.count() * esize_[static_cast<std::size_t>(slot)]);
  const int me = held_rank(id);
  const int base = 3 * me;
  FlowSet::Use use[FlowSet::kMaxUses];
  int n = 0;
  if (plan::sends(s.kind)) {
    const int to = s.send_peer, rep = fold_.rep(to);
    if (fab_.same_node(me, to)) {
      use[n++] = {base + 0, 1.0};
      use[n++] = {3 * rep + 1, 1.0};
    } else {
      const auto& L = fab_.layout();
      use[n++] = {
          nic_tx_[static_cast<std::size_t>(L.node_of(me) * nics_per_node_ + fab_.nic_index(me))],
          1.0};
      use[n++] = {
          nic_rx_[static_cast<std::size_t>(L.node_of(rep) * nics_per_node_ + fab_.nic_index(rep))],
          1.0};
    }
  }
  use[n++] = {base + 2, tune::memory_passes(s.kind)};
  if (const int cores = cores_[static_cast<std::size_t>(fab_.layout().node_of(me))]; cores >= 0)
    use[n++] = {cores, tune::memory_passes(s.kind)};
  if (bytes <= 0) {
    end_move(a, id, s, now);
    return;
  }
  a.phase = Phase::Moving;
  flows_.start(now, bytes, use, n, id);
}

void Engine::end_move(Agent& a, int id, const Step& s, double now) {
  const auto& lane = replay_->lane(id);
  const int me = held_rank(id);
  const int track = track_[static_cast<std::size_t>(id)];
  if (plan::sends(s.kind)) {
    // Sent at the middle of the step (viewers bind the trace's arrow to it).
    const Message m{(a.began + now) / 2, now + latency(me, s.send_peer), track};
    replay_->send(id, m, [this](int waiter, const Message& sent) { wake(waiter, sent.arrival); });
  }
  if (opt_.trace && !opt_.trace->full()) {
    opt_.trace->steps.push_back(TraceStep{me, track, lane.pc, s.kind, a.began, now,
                                          s.count() * esize_[static_cast<std::size_t>(lane.slot)],
                                          s.send_peer, s.recv_peer});
  } else if (opt_.trace) {
    ++opt_.trace->dropped;
  }
  // A group's lane that waited for this one to finish starts now.
  replay_->next(id, [this, now](int ready) { wake(ready, now); });
  a.phase = Phase::Start;
  if (++done_steps_ % 65536 == 0 && opt_.progress)
    opt_.progress(static_cast<double>(done_steps_) / static_cast<double>(total_steps_));
}

void Engine::advance(int id, double now) {
  Agent& a = agents_[static_cast<std::size_t>(id)];
  while (!replay_->lane(id).done()) {
    const Step& s = replay_->lane(id).step();
    switch (a.phase) {
      case Phase::Start:
        if (!begin_step(a, id, s, now)) return;
        a.phase = Phase::Overhead;
        if (fab_.step_us() > 0) {
          wake(id, now + fab_.step_us());
          return;
        }
        [[fallthrough]];
      case Phase::Overhead:
        start_move(a, id, s, now);
        if (a.phase == Phase::Moving) return;
        break;
      case Phase::Moving: end_move(a, id, s, now); break;
      case Phase::Done: return;
    }
  }
  a.phase = Phase::Done;
  end_us_ = std::max(end_us_, now);
}

SimResult Engine::run() {
  hold_plans();
  build_resources();
  choose_latency_samples();
  // Folded, a receive from p reads what rep(p) sends to p's image of this rank.
  replay_ = std::make_unique<plan::Replay<Message>>(plans_, [this](int me, int p) {
    return plan::StreamSource{fold_.rep(p), fold_.unapply(p, me)};
  });
  agents_.resize(static_cast<std::size_t>(replay_->num_lanes()));
  // Trace threads: a rank's lanes in order (a collective's: its channels).
  track_.resize(agents_.size());
  for (int id = 0, prev = -1, next = 0; id < replay_->num_lanes(); ++id) {
    if (held_rank(id) != prev) prev = held_rank(id), next = 0;
    track_[static_cast<std::size_t>(id)] = next++;
  }
  for (int id = 0; id < replay_->num_lanes(); ++id)
    if (replay_->ready(id)) wake(id, 0.0);
  const double inf = std::numeric_limits<double>::infinity();
  for (;;) {
    double flow_at = inf;
    int flow = -1;
    flows_.next(&flow_at, &flow);
    const double wake_at = wakes_.empty() ? inf : wakes_.top().at;
    if (flow_at == inf && wake_at == inf) break;
    ++events_;
    if (flow_at <= wake_at && flow < 0) {
      flows_.drain(flow_at, flow);
    } else if (flow_at <= wake_at) {
      flows_.finish(flow_at, flow);
      advance(flows_.owner(flow), flow_at);
    } else {
      const Wake w = wakes_.top();
      wakes_.pop();
      advance(w.agent, w.at);
    }
  }
  for (int id = 0; id < replay_->num_lanes(); ++id) {
    const auto& l = replay_->lane(id);
    if (l.done()) continue;
    throw Error(ErrorCode::InternalError,
                "simulator: stalled: rank " + std::to_string(replay_->rank_of(id)) + " channel " +
                    std::to_string(l.wire) + " waits at step " + std::to_string(l.pc) + " (" +
                    plan::describe(l.step()) + ") for a message never sent");
  }
  SimResult r;
  r.time_us = end_us_;
  r.events = events_;
  r.steps = total_steps_;
  r.slots = held_;
  r.folding = fold_;
  if (end_us_ > 0) {
    for (int id = 0; id < flows_.num_resources(); ++id) {
      const double u = flows_.carried(id) / (flows_.capacity(id) * end_us_);
      const ResKind k = res_kind_[static_cast<std::size_t>(id)];
      double& slot = k == kNic ? r.nic_util : k == kIntra ? r.intra_util : r.memory_util;
      slot = std::max(slot, u);
    }
  }
  // Busy time of each class's busiest resource against the call's time.
  r.bound = tune::bound_of(end_us_,
                           {r.nic_util * end_us_, r.intra_util * end_us_, r.memory_util * end_us_});
  return r;
}

}  // namespace

SimResult simulate(const Fabric& fabric, const plan::CollArgs& args, algorithms::Algo algo,
                   algorithms::AlgoParams params, const SimOptions& options) {
  if (args.nranks != fabric.nranks()) {
    throw Error(ErrorCode::InvalidArgument,
                "simulator: the call has " + std::to_string(args.nranks) + " ranks, the fabric " +
                    std::to_string(fabric.nranks()));
  }
  if (!algorithms::supports(algo, args.coll)) {
    throw Error(ErrorCode::InvalidArgument,
                std::string("simulator: ") + algorithms::to_string(algo) + " does not implement " +
                    plan::to_string(args.coll));
  }
  if (args.coll == plan::Collective::AllToAllv || plan::is_p2p(args.coll)) {
    throw Error(ErrorCode::InvalidArgument,
                std::string("simulator: ") + plan::to_string(args.coll) +
                    " differs from rank to rank: simulate a Workload (sim::alltoallv, "
                    "sim::transfers)");
  }
  if (params.nchannels < 1 || params.chunk_bytes == 0) {
    throw Error(ErrorCode::InvalidArgument,
                "simulator: nchannels must be >= 1 and chunk_bytes > 0");
  }
  params.layout = &fabric.layout();
  return simulate(fabric, collective(args, algo, params), options);
}

SimResult simulate(const Fabric& fabric, const Workload& work, const SimOptions& options) {
  if (work.nranks != fabric.nranks()) {
    throw Error(ErrorCode::InvalidArgument,
                "simulator: " + work.name + " has " + std::to_string(work.nranks) +
                    " ranks, the fabric " + std::to_string(fabric.nranks()));
  }
  if (!work.plans_of)
    throw Error(ErrorCode::InvalidArgument, "simulator: " + work.name + " has no Plans");
  Engine engine(fabric, work, options);
  return engine.run();
}

}  // namespace colossus::sim
