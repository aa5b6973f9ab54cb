#include "sim/engine.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <queue>
#include <unordered_map>

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

// One message of a stream (sender slot, receiver rank in the sender's
// frame, channel), matched in order by the walker (plan/replay.hpp): when it
// was sent (the middle of its step, for the trace) and when it arrives.
struct Message {
  double sent, arrival;
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

class Engine {
 public:
  Engine(const Fabric& fabric, const plan::CollArgs& args, algorithms::Algo algo,
         const algorithms::AlgoParams& params, const SimOptions& opt)
      : fab_(fabric),
        args_(args),
        algo_(algo),
        params_(params),
        opt_(opt),
        esize_(dtype_size(args.dtype)) {}

  SimResult run();

 private:
  void hold_plans();
  void build_resources();
  int slot_of(int rank) const { return slot_of_[static_cast<std::size_t>(fold_.rep(rank))]; }
  std::uint64_t key(int slot, int to, int channel) const {
    return (std::uint64_t(slot) << 40) | (std::uint64_t(to) << 8) | std::uint64_t(channel);
  }
  double latency(int slot, int to);
  void wake(int agent, double at) { wakes_.push(Wake{at, seq_++, agent}); }
  void advance(int agent, double now);
  bool begin_step(Agent& a, int id, const Step& s, double now);
  void start_move(Agent& a, int id, const Step& s, double now);
  void end_move(Agent& a, int id, const Step& s, double now);

  const Fabric& fab_;
  plan::CollArgs args_;
  algorithms::Algo algo_;
  algorithms::AlgoParams params_;
  const SimOptions& opt_;
  std::size_t esize_;

  Folding fold_;
  std::string why_not_folded_;
  std::vector<int> slot_rank_;  // real rank of each slot
  std::vector<int> slot_of_;    // rank -> slot (representatives only), -1 otherwise
  std::vector<plan::Plan> plans_;
  std::unique_ptr<plan::Replay<Message>> replay_;  // lanes, streams, in-order matching
  std::vector<Agent> agents_;                      // by lane
  std::size_t total_steps_ = 0, done_steps_ = 0;

  FlowSet flows_;
  std::vector<ResKind> res_kind_;
  std::vector<int> nic_tx_, nic_rx_;  // by node * nics + nic index, -1 until used
  std::vector<int> cores_;            // by node, -1 when its ranks each have a core
  int nics_per_node_ = 1;
  std::unordered_map<std::uint64_t, double> latency_;
  std::priority_queue<Wake, std::vector<Wake>, std::greater<Wake>> wakes_;
  std::uint64_t seq_ = 0, events_ = 0;
  double end_us_ = 0;
};

void Engine::hold_plans() {
  const int n = args_.nranks;
  if (opt_.fold)
    fold_ = choose_folding(fab_, args_, algo_, params_, &why_not_folded_);
  else
    why_not_folded_ = "folding turned off";
  const int slots = fold_.slots(n);
  slot_of_.assign(static_cast<std::size_t>(n), -1);
  auto refuse = [&](std::size_t need) {
    throw Error(
        ErrorCode::InvalidArgument,
        std::string("simulator: ") + algorithms::to_string(algo_) + " " +
            plan::to_string(args_.coll) + " on " + std::to_string(n) + " ranks needs " +
            (need ? "about " + std::to_string(need) : "more than " + std::to_string(kMaxSimSteps)) +
            " steps of Plans held at once (limit " + std::to_string(kMaxSimSteps) +
            (fold_.active() ? "), even folded to " + std::to_string(fold_.slots(n)) + " ranks"
                            : "); ranks not folded: " + why_not_folded_) +
            ". Fewer ranks or channels, or a larger call (ring and hierarchical fold"
            " when every block of the call holds data) would fit");
  };
  plans_.reserve(static_cast<std::size_t>(slots));
  for (int s = 0; s < slots; ++s) {
    plans_.push_back(algorithms::make_plan(algo_, args_, s, params_));
    const std::size_t steps = plans_.back().num_steps();
    total_steps_ += steps;
    // Rank 0's Plan is a fair sample of the others': refuse before building them.
    if (s == 0 && !fold_.active() && steps * static_cast<std::size_t>(n) > kMaxSimSteps)
      refuse(steps * static_cast<std::size_t>(n));
    if (total_steps_ > kMaxSimSteps) refuse(0);
    slot_rank_.push_back(s);
    slot_of_[static_cast<std::size_t>(s)] = s;
  }
}

void Engine::build_resources() {
  const int slots = static_cast<int>(slot_rank_.size());
  for (int s = 0; s < slots; ++s) {
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
    for (const int r : slot_rank_) {
      int& id = cores_[static_cast<std::size_t>(fab_.layout().node_of(r))];
      if (id >= 0) continue;
      id = flows_.add_resource(fab_.cores_gbytes_per_s() * kGBps);
      res_kind_.push_back(kCores);
    }
  }
  for (const int r : slot_rank_) {
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
double Engine::latency(int slot, int to) {
  const int from = slot_rank_[static_cast<std::size_t>(slot)];
  if (!fold_.active() || fab_.same_node(from, to)) return fab_.latency_us(from, to);
  auto [it, fresh] = latency_.try_emplace(key(slot, to, 0), 0.0);
  if (fresh) {
    double sum = 0;
    for (int k = 0; k < fold_.nodes; ++k) {
      const int p = k * fold_.per_node;
      sum += fab_.latency_us(fold_.apply(p, from), fold_.apply(p, to));
    }
    it->second = sum / fold_.nodes;
  }
  return it->second;
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
    const int channel = replay_->lane(id).channel;
    opt_.trace->flows.push_back(
        TraceFlow{slot_rank_[static_cast<std::size_t>(slot_of(s.recv_peer))], channel, m->sent,
                  replay_->rank_of(id), channel, now});
  }
  return true;
}

void Engine::start_move(Agent& a, int id, const Step& s, double now) {
  const double bytes = static_cast<double>(s.count() * esize_);
  const int slot = replay_->lane(id).slot;
  const int me = slot_rank_[static_cast<std::size_t>(slot)];
  const int base = 3 * slot;
  FlowSet::Use use[FlowSet::kMaxUses];
  int n = 0;
  if (plan::sends(s.kind)) {
    const int to = s.send_peer, rep = fold_.rep(to);
    if (fab_.same_node(me, to)) {
      use[n++] = {base + 0, 1.0};
      use[n++] = {3 * slot_of(to) + 1, 1.0};
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
  if (plan::sends(s.kind)) {
    // Sent at the middle of the step (viewers bind the trace's arrow to it).
    const Message m{(a.began + now) / 2, now + latency(lane.slot, s.send_peer)};
    replay_->send(id, m, [this](int waiter, const Message& sent) { wake(waiter, sent.arrival); });
  }
  if (opt_.trace && !opt_.trace->full()) {
    opt_.trace->steps.push_back(TraceStep{slot_rank_[static_cast<std::size_t>(lane.slot)],
                                          lane.channel, lane.pc, s.kind, a.began, now,
                                          s.count() * esize_, s.send_peer, s.recv_peer});
  } else if (opt_.trace) {
    ++opt_.trace->dropped;
  }
  replay_->next(id);
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
  // Folded, a receive from p reads what rep(p) sends to p's image of this rank.
  replay_ = std::make_unique<plan::Replay<Message>>(plans_, [this](int me, int p) {
    return plan::StreamSource{slot_of(p), fold_.unapply(p, me)};
  });
  agents_.resize(static_cast<std::size_t>(replay_->num_lanes()));
  for (int id = 0; id < replay_->num_lanes(); ++id) wake(id, 0.0);
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
                    std::to_string(l.channel) + " waits at step " + std::to_string(l.pc) + " (" +
                    plan::describe(l.step()) + ") for a message never sent");
  }
  SimResult r;
  r.time_us = end_us_;
  r.events = events_;
  r.steps = total_steps_;
  r.slots = static_cast<int>(slot_rank_.size());
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
  if (params.nchannels < 1 || params.chunk_bytes == 0) {
    throw Error(ErrorCode::InvalidArgument,
                "simulator: nchannels must be >= 1 and chunk_bytes > 0");
  }
  params.layout = &fabric.layout();
  Engine engine(fabric, args, algo, params, options);
  return engine.run();
}

}  // namespace colossus::sim
