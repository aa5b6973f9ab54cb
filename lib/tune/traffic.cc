#include "tune/traffic.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <tuple>
#include <vector>

#include "algorithms/partition.hpp"
#include "colossus/error.hpp"

namespace colossus::tune {

using plan::Collective;

double memory_passes(plan::StepKind k) {
  const int reads = (plan::receives(k) ? 1 : 0) + (plan::reads_src(k) ? 1 : 0) +
                    (k == plan::StepKind::Reduce ? 1 : 0);  // Reduce also reads dst
  const int writes = (plan::writes_dst(k) ? 1 : 0) + (plan::sends(k) ? 1 : 0);
  return reads + writes;
}

namespace {

// Latency-only replay: every (rank, channel) runs its steps in order; a
// receiving step starts when its message has arrived (the sender's step end
// plus the link latency). Unbounded FIFOs: a verified Plan cannot deadlock
// with more slots than it was verified with. Sweeps until nothing moves.
void critical_path(const CostModel& model, const algorithms::Layout& layout,
                   const std::vector<plan::Plan>& plans, Traffic* t) {
  struct Msg {
    double at;
    int hops;
  };
  struct Cursor {
    std::size_t step = 0;
    double time = 0;
    int hops = 0;
  };
  const int n = static_cast<int>(plans.size());
  std::map<std::tuple<int, int, int>, std::deque<Msg>> streams;  // (from, to, channel)
  std::vector<std::vector<Cursor>> cur(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) cur[static_cast<std::size_t>(r)].resize(plans[static_cast<std::size_t>(r)].channels.size());
  bool moved = true;
  while (moved) {
    moved = false;
    for (int r = 0; r < n; ++r) {
      const plan::Plan& p = plans[static_cast<std::size_t>(r)];
      const int here = static_cast<int>(layout.members(layout.node_of(r)).size());
      for (std::size_t c = 0; c < p.channels.size(); ++c) {
        Cursor& k = cur[static_cast<std::size_t>(r)][c];
        const auto& steps = p.channels[c].steps;
        while (k.step < steps.size()) {
          const plan::Step& s = steps[k.step];
          double start = k.time;
          int hops = k.hops;
          if (plan::receives(s.kind)) {
            auto& q = streams[{s.recv_peer, r, static_cast<int>(c)}];
            if (q.empty()) break;
            const bool same = layout.node_of(s.recv_peer) == layout.node_of(r);
            const double arrive = q.front().at + (same ? model.intra_latency_us(here) : model.inter.latency_us);
            if (arrive > start) start = arrive, hops = q.front().hops + 1;
            q.pop_front();
          }
          k.time = start + model.step_us;
          k.hops = hops;
          if (plan::sends(s.kind)) streams[{r, s.send_peer, static_cast<int>(c)}].push_back({k.time, k.hops});
          ++k.step;
          moved = true;
        }
      }
    }
  }
  for (const auto& per_rank : cur) {
    for (const Cursor& k : per_rank) {
      if (k.time > t->critical_us) t->critical_us = k.time, t->hops = k.hops;
    }
  }
}

}  // namespace

std::size_t representative_count(const plan::CollArgs& a, int nchannels) {
  return static_cast<std::size_t>(a.nranks) * static_cast<std::size_t>(nchannels) *
         algorithms::vector_align(dtype_size(a.dtype)) * 64;
}

double vector_bytes(const plan::CollArgs& a) {
  const double bytes = static_cast<double>(a.count) * static_cast<double>(dtype_size(a.dtype));
  const bool per_rank = a.coll == Collective::AllGather || a.coll == Collective::ReduceScatter;
  return per_rank ? bytes * a.nranks : bytes;
}

Traffic plan_traffic(const CostModel& model, const algorithms::Layout& layout,
                     const plan::CollArgs& call, algorithms::Algo algo, int nchannels) {
  const int n = call.nranks;
  if (n > kMaxTrafficRanks) {
    throw Error(ErrorCode::InvalidArgument, "tuner: " + std::to_string(n) + " ranks exceed the " +
                                                std::to_string(kMaxTrafficRanks) +
                                                " for which Plans are counted");
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

  const int nodes = layout.nnodes();
  const int nics = std::max(1, model.nics_per_node);
  std::vector<double> nic_load(static_cast<std::size_t>(nodes * nics), 0.0);
  std::vector<plan::Plan> plans;
  plans.reserve(static_cast<std::size_t>(n));
  Traffic t;
  for (int r = 0; r < n; ++r) {
    plans.push_back(algorithms::make_plan(algo, a, r, params));
    double intra = 0, work = 0;
    for (const auto& ch : plans.back().channels) {
      for (const plan::Step& s : ch.steps) {
        const double bytes = static_cast<double>(s.count() * esize);
        work += bytes * memory_passes(s.kind);
        if (!plan::sends(s.kind)) continue;
        if (layout.node_of(s.send_peer) == layout.node_of(r)) {
          intra += bytes;
        } else {
          const int nic = layout.local_index(r) % nics;
          nic_load[static_cast<std::size_t>(layout.node_of(r) * nics + nic)] += bytes;
          t.crosses_nodes = true;
        }
      }
    }
    t.intra_bytes = std::max(t.intra_bytes, intra / vbytes);
    t.work_bytes = std::max(t.work_bytes, work / vbytes);
  }
  for (const double l : nic_load) t.nic_bytes = std::max(t.nic_bytes, l / vbytes);
  for (const auto& ch : plans.front().channels) t.steps += ch.steps.size();
  critical_path(model, layout, plans, &t);
  return t;
}

}  // namespace colossus::tune
