#include "tune/traffic.hpp"

#include <algorithm>
#include <vector>

#include "algorithms/partition.hpp"
#include "algorithms/symmetry.hpp"
#include "colossus/error.hpp"
#include "plan/replay.hpp"

namespace colossus::tune {

using plan::Collective;

double memory_passes(plan::StepKind k) {
  const int reads = (plan::receives(k) ? 1 : 0) + (plan::reads_src(k) ? 1 : 0) +
                    (k == plan::StepKind::Reduce ? 1 : 0);  // Reduce also reads dst
  const int writes = (plan::writes_dst(k) ? 1 : 0) + (plan::sends(k) ? 1 : 0);
  return reads + writes;
}

namespace {

// Latency-only replay on the shared walker (plan/replay.hpp): a receiving
// step starts when its message has arrived (the sender's step end plus the
// link latency), every step costs step_us. This is the simulator
// (sim/engine.hpp) with every rate infinite, exactly: there a step starts
// when its message has arrived, pays step_us, moves its bytes (no time at
// an infinite rate) and its message arrives the route's latency later
// (tests/sim/latency_only_test.cc checks the two agree on Fabric::uniform).
// The one difference is the latency itself on a topology: this replay uses
// the CostModel's one inter-node figure, the simulator the PathModel's per
// pair (cost_model.hpp says why). Unbounded FIFOs: a verified Plan cannot
// deadlock with more slots than it was verified with.
// Folded (sym active): plans[r] is representative r's, and a message from
// peer p to rank r is the one rep(p) sends to sym.unapply(p, r).
void critical_path(const CostModel& model, const algorithms::Layout& layout,
                   const algorithms::Symmetry& sym, const std::vector<plan::Plan>& plans,
                   Traffic* t) {
  struct Msg {
    double at;  // the sending step's end
    int hops;
  };
  struct Cursor {
    double time = 0;
    int hops = 0;
  };
  plan::Replay<Msg> replay(plans, [&sym](int me, int peer) {
    return plan::StreamSource{sym.rep(peer), sym.unapply(peer, me)};
  });
  std::vector<Cursor> cur(static_cast<std::size_t>(replay.num_lanes()));
  const std::size_t left =
      plan::run_in_order(replay, [&](int id, const plan::Step& s, const Msg* in) {
        Cursor& k = cur[static_cast<std::size_t>(id)];
        const int r = replay.rank_of(id);
        double start = k.time;
        int hops = k.hops;
        if (in != nullptr) {
          const int from = s.recv_peer;
          const int here = static_cast<int>(layout.members(layout.node_of(r)).size());
          const bool same = layout.node_of(from) == layout.node_of(r);
          const double arrive =
              in->at + (same ? model.intra_latency_us(here) : model.inter.latency_us);
          if (arrive > start) start = arrive, hops = in->hops + 1;
        }
        k.time = start + model.step_us;
        k.hops = hops;
        return Msg{k.time, k.hops};
      });
  if (left > 0) {
    throw Error(ErrorCode::InternalError, "tuner: latency replay stalled: " + std::to_string(left) +
                                              " channel(s) wait for a message never sent");
  }
  for (const Cursor& k : cur) {
    if (k.time > t->critical_us) t->critical_us = k.time, t->hops = k.hops;
  }
}

}  // namespace

namespace {
// Calls whose `count` is one rank's block of a vector of n blocks.
bool counts_per_rank(Collective c) {
  return c == Collective::AllGather || c == Collective::ReduceScatter ||
         c == Collective::AllToAll || c == Collective::Gather || c == Collective::Scatter;
}
}  // namespace

namespace {
// `units` vector units per block and channel: the call's count.
std::size_t units_count(const plan::CollArgs& a, int nchannels, std::size_t units) {
  // Allgather, reduce_scatter, alltoall, gather and scatter count per rank:
  // their blocks are the ranks' own parts.
  const bool per_rank = counts_per_rank(a.coll);
  return (per_rank ? 1 : static_cast<std::size_t>(a.nranks)) * static_cast<std::size_t>(nchannels) *
         algorithms::vector_align(dtype_size(a.dtype)) * units;
}
}  // namespace

std::size_t representative_count(const plan::CollArgs& a, int nchannels) {
  // Many ranks (counted folded only): one vector unit per block keeps every
  // block full, and the steps are as many whatever the block size.
  return units_count(a, nchannels, a.nranks > kMaxTrafficRanks ? 1 : 64);
}

double vector_bytes(const plan::CollArgs& a) {
  if (a.coll == Collective::AllToAllv)
    return static_cast<double>(plan::total_send(a)) * static_cast<double>(dtype_size(a.dtype));
  const double bytes = static_cast<double>(a.count) * static_cast<double>(dtype_size(a.dtype));
  return counts_per_rank(a.coll) ? bytes * a.nranks : bytes;
}

Traffic plan_traffic(const CostModel& model, const algorithms::Layout& layout,
                     const plan::CollArgs& call, algorithms::Algo algo, int nchannels) {
  const int n = call.nranks;
  if (call.coll == Collective::AllToAllv || plan::is_p2p(call.coll)) {
    throw Error(ErrorCode::InvalidArgument,
                std::string("tuner: ") + plan::to_string(call.coll) +
                    " differs from rank to rank: its traffic is not counted");
  }
  // Plans that respect a node symmetry are counted on one node's ranks
  // (symmetry.hpp): the counts and the latency replay are those of every
  // rank's (exactly: the representative call's blocks are even). Others are
  // counted rank by rank up to kMaxTrafficRanks, and refused above it.
  const bool must_fold = n > kMaxTrafficRanks;
  auto no_fold = [&](const std::string& why) {
    if (must_fold) {
      throw Error(ErrorCode::InvalidArgument,
                  "tuner: " + std::to_string(n) + " ranks exceed the " +
                      std::to_string(kMaxTrafficRanks) +
                      " for which every rank's Plans are counted, and " +
                      algorithms::to_string(algo) + " does not fold: " + why);
    }
    return algorithms::Symmetry{};
  };
  std::string why;
  algorithms::Symmetry sym = algorithms::symmetry_of(layout, call, algo, &why);
  if (!sym.active()) sym = no_fold(why);
  // Fewer elements than a vector unit per block and channel leave blocks
  // empty on some ranks and not others (a check on sampled ranks could miss it).
  if (sym.active() && call.count < units_count(call, nchannels, 1)) {
    sym = no_fold(std::to_string(call.count) + " elements leave some of its blocks empty");
  }
  plan::CollArgs a = call;
  const std::size_t esize = dtype_size(a.dtype);
  // Enough elements that block rounding is noise, one chunk per channel;
  // a smaller call as it is (its empty blocks drop steps: a ring allreduce
  // of 2 elements on 64 ranks takes 2 steps, not 126).
  a.count = std::min(call.count, representative_count(call, nchannels));
  if (a.count == 0) return {};
  algorithms::AlgoParams params;
  params.nchannels = nchannels;
  params.chunk_bytes = a.count * esize * static_cast<std::size_t>(n);
  params.layout = &layout;
  const double vbytes = vector_bytes(a);
  auto plan_of = [&](int r) { return algorithms::make_plan(algo, a, r, params); };
  std::vector<plan::Plan> plans;
  // Rank 0's Plan is a fair sample of the others': refuse before building
  // them (or proving a symmetry on a dozen of them).
  plans.push_back(plan_of(0));
  auto within_budget = [&] {
    const std::size_t steps = plans[0].num_steps() * static_cast<std::size_t>(sym.slots(n));
    if (steps <= kMaxTrafficSteps) return;
    throw Error(ErrorCode::InvalidArgument,
                "tuner: " + std::string(algorithms::to_string(algo)) + " with " +
                    std::to_string(nchannels) + " channel(s) on " + std::to_string(n) +
                    " ranks holds about " + std::to_string(steps) + " steps to count (limit " +
                    std::to_string(kMaxTrafficSteps) + ")");
  };
  within_budget();
  if (sym.active()) {
    const std::string bad = algorithms::check_symmetry(
        &sym, [&](int r) { return std::vector<plan::Plan>{plan_of(r)}; });
    if (!bad.empty()) {
      sym = no_fold(bad);
      within_budget();
    }
  }
  const int slots = sym.slots(n);
  plans.reserve(static_cast<std::size_t>(slots));

  const int nodes = sym.active() ? 1 : layout.nnodes();  // folded: node 0 stands for every node
  const int nics = std::max(1, model.nics_per_node);
  // Bytes through each NIC and each rank's on-node port, out and in (a
  // gather's root receives what every rank sends); folded, a message to p
  // arrives at rep(p)'s, as the simulator charges it.
  auto nic_of = [&](int r) {
    return static_cast<std::size_t>((sym.active() ? 0 : layout.node_of(r)) * nics +
                                    layout.local_index(r) % nics);
  };
  std::vector<double> nic_out(static_cast<std::size_t>(nodes * nics), 0.0), nic_in = nic_out;
  std::vector<double> intra_out(static_cast<std::size_t>(slots), 0.0), intra_in = intra_out;
  Traffic t;
  for (int r = 0; r < slots; ++r) {
    if (r > 0) plans.push_back(plan_of(r));
    double work = 0;
    for (const auto& ch : plans.back().channels) {
      for (const plan::Step& s : ch.steps) {
        const double bytes = static_cast<double>(s.count() * esize);
        work += bytes * memory_passes(s.kind);
        if (!plan::sends(s.kind)) continue;
        const int to = s.send_peer;
        if (layout.node_of(to) == layout.node_of(r)) {
          intra_out[static_cast<std::size_t>(r)] += bytes;
          intra_in[static_cast<std::size_t>(sym.rep(to))] += bytes;
        } else {
          nic_out[nic_of(r)] += bytes;
          nic_in[nic_of(to)] += bytes;
          t.crosses_nodes = true;
        }
      }
    }
    t.work_bytes = std::max(t.work_bytes, work / vbytes);
  }
  for (const auto* loads : {&nic_out, &nic_in})
    for (const double l : *loads) t.nic_bytes = std::max(t.nic_bytes, l / vbytes);
  for (const auto* loads : {&intra_out, &intra_in})
    for (const double l : *loads) t.intra_bytes = std::max(t.intra_bytes, l / vbytes);
  for (const auto& ch : plans.front().channels) t.steps += ch.steps.size();
  critical_path(model, layout, sym, plans, &t);
  return t;
}

}  // namespace colossus::tune
