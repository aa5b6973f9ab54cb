#include "tune/tuner.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "colossus/error.hpp"
#include "tune/bound.hpp"

namespace colossus::tune {

using algorithms::Algo;

namespace {
std::string fmt_us(double us) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(us < 10 ? 2 : (us < 1000 ? 1 : 0)) << us << " us";
  return os.str();
}
}  // namespace

void TunerLimits::bound_nchannels(int lo, int hi) {
  for (int& n : nchannels) n = std::clamp(n, lo, hi);
  std::sort(nchannels.begin(), nchannels.end());
  nchannels.erase(std::unique(nchannels.begin(), nchannels.end()), nchannels.end());
}

Tuner::Tuner(CostModel model, algorithms::Layout layout, AlgoFilter filter, TunerLimits limits)
    : model_(std::move(model)),
      layout_(std::move(layout)),
      filter_(std::move(filter)),
      limits_(std::move(limits)) {}

const Traffic& Tuner::traffic(const plan::CollArgs& args, Algo algo, int nchannels) {
  const std::size_t rep = representative_count(args, nchannels);
  const auto key = std::make_tuple(static_cast<int>(args.coll), static_cast<int>(algo), nchannels,
                                   args.root, args.count < rep ? args.count : 0);
  auto it = traffic_.find(key);
  if (it == traffic_.end()) {
    Counted c;
    try {
      c.traffic = plan_traffic(model_, layout_, args, algo, nchannels);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::InvalidArgument) throw;
      c.refused = e.what();
    }
    it = traffic_.emplace(key, std::move(c)).first;
  }
  if (!it->second.refused.empty()) throw Error(ErrorCode::InvalidArgument, it->second.refused);
  return it->second.traffic;
}

Candidate Tuner::predict(const plan::CollArgs& args, Algo algo, int nchannels,
                         std::size_t chunk_bytes) {
  Candidate c;
  c.algo = algo;
  c.nchannels = nchannels;
  c.chunk_bytes = chunk_bytes;
  const Traffic& t = traffic(args, algo, nchannels);
  const double vbytes = vector_bytes(args);
  // Pipeline stages: this rank's real Plan has about `stages` times the
  // steps of the one-chunk Plans the traffic was counted on; each further
  // stage adds one hop behind the first chunk, and every step its software cost.
  algorithms::AlgoParams params{nchannels, chunk_bytes, &layout_};
  const plan::Plan mine = algorithms::make_plan(algo, args, 0, params);
  std::size_t steps = 0;
  for (const auto& ch : mine.channels) steps += ch.steps.size();
  const double stages = t.steps > 0 ? std::max(1.0, double(steps) / double(t.steps)) : 1.0;
  const double per_hop =
      t.hops > 0 ? (t.critical_us - double(t.steps) * model_.step_us) / t.hops : 0.0;
  c.latency_us = t.critical_us + (stages - 1) * per_hop +
                 double(steps > t.steps ? steps - t.steps : 0) * model_.step_us;
  const int per_node = layout_.max_per_node();
  const double nic_us = t.nic_bytes * vbytes / (model_.inter.gbytes_per_s * 1e3);
  const double intra_us = t.intra_bytes * vbytes / (model_.intra_rate(per_node) * 1e3);
  const double work_us = t.work_bytes * vbytes / (model_.local_rate(per_node) * 1e3);
  c.bandwidth_us = std::max({nic_us, intra_us, work_us});
  c.predicted_us = c.latency_us + c.bandwidth_us;
  c.bottleneck = bound_of(c.predicted_us, {nic_us, intra_us, work_us});
  return c;
}

Choice Tuner::choose(const plan::CollArgs& args) {
  auto allowed = [&](bool use_filter) {
    std::vector<Algo> algos;
    for (int i = 0; i < algorithms::kNumAlgos; ++i) {
      const Algo a = static_cast<Algo>(i);
      if (!algorithms::supports(a, args.coll) || (use_filter && !filter_.allows(args.coll, a)))
        continue;
      // Hierarchical on one node is the ring plus empty phases: not a distinct choice.
      if (a == Algo::Hierarchical && layout_.nnodes() == 1 &&
          !(use_filter && filter_.restricted(args.coll)))
        continue;
      // Hierarchical all-to-all needs equal nodes (make_plan throws
      // InvalidArgument otherwise): skipped unless named for alltoall
      // ("alltoall:hierarchical"), which then reaches its message.
      if (a == Algo::Hierarchical && args.coll == plan::Collective::AllToAll &&
          !layout_.uniform() && !(use_filter && filter_.named(args.coll)))
        continue;
      algos.push_back(a);
    }
    return algos;
  };
  std::vector<Algo> algos = allowed(true);
  bool unfiltered = false;
  if (algos.empty() && !filter_.named(args.coll)) {  // a global list that misses this collective
    algos = allowed(false);
    unfiltered = true;
  }
  if (algos.empty()) {
    throw Error(ErrorCode::InvalidArgument, "COLOSSUS_ALGO=\"" + filter_.spec() +
                                                "\" leaves no algorithm that implements " +
                                                plan::to_string(args.coll));
  }
  Choice choice;
  choice.forced = algos.size() == 1 && filter_.restricted(args.coll) && !unfiltered;
  // Calls that differ by rank have no one set of Plans to count.
  if (args.coll == plan::Collective::AllToAllv || plan::is_p2p(args.coll))
    return fallback(args, algos, choice);
  for (const Algo a : algos) {
    for (const int nch : limits_.nchannels) {
      for (std::size_t chunk : limits_.chunk_bytes) {
        chunk = std::min(chunk, limits_.max_chunk_bytes);
        // Plans that do not fold above kMaxTrafficRanks, or too many steps
        // to count: the candidate is left out, and the reason kept.
        try {
          choice.candidates.push_back(predict(args, a, nch, chunk));
        } catch (const Error& e) {
          if (e.code() != ErrorCode::InvalidArgument) throw;
          const std::string note = std::string(algorithms::to_string(a)) + ", " +
                                   std::to_string(nch) + " ch: " + e.what();
          if (choice.not_counted.empty() || choice.not_counted.back() != note)
            choice.not_counted.push_back(note);
        }
      }
    }
  }
  if (choice.candidates.empty()) return fallback(args, algos, choice);
  std::stable_sort(
      choice.candidates.begin(), choice.candidates.end(),
      [](const Candidate& x, const Candidate& y) { return x.predicted_us < y.predicted_us; });
  choice.best = choice.candidates.front();
  return choice;
}

std::pair<Algo, std::string> Tuner::rule(const plan::CollArgs& args,
                                         const std::vector<Algo>& algos) const {
  auto has = [&](Algo a) { return std::find(algos.begin(), algos.end(), a) != algos.end(); };
  auto first_of = [&](std::initializer_list<Algo> prefs) {
    for (const Algo a : prefs)
      if (has(a)) return a;
    return algos.front();
  };
  const double n = args.nranks;
  const double block = static_cast<double>(args.count * dtype_size(args.dtype));
  const double nic_bytes_per_us = model_.inter.gbytes_per_s * 1e3;
  std::ostringstream why;
  switch (args.coll) {
    case plan::Collective::Send:
    case plan::Collective::Recv: return {first_of({Algo::Direct}), "point-to-point: direct"};
    case plan::Collective::AllToAllv:
      return {first_of({Algo::Pairwise}), "alltoallv: pairwise (counts differ by rank)"};
    case plan::Collective::AllToAll: {
      // Pairwise posts its n-1 sends at once when blocks are small, so their
      // latencies overlap: one latency, two steps per peer, the buffer once
      // on the NIC. Bruck pays a latency per round (log2 n), packs and
      // unpacks n/2 blocks each round (a step per block copy in a Plan),
      // and sends ~log2(n)/2 buffers. The cheaper one wins.
      const double lg = std::ceil(std::log2(std::max(2.0, n)));
      const double lat = model_.inter.latency_us, step = model_.step_us;
      const double wire = n * block / nic_bytes_per_us;
      const double pairwise_us = lat + 2 * (n - 1) * step + wire;
      const double bruck_us = lg * (lat + (n + 2) * step) + 2 * n * step + lg / 2 * wire;
      const bool small = bruck_us < pairwise_us;
      why << "alltoall (block " << block << " B): Bruck " << fmt_us(bruck_us)
          << (small ? " < " : " >= ") << "pairwise " << fmt_us(pairwise_us)
          << "; hierarchical only when counted (simulated slower at 8192 ranks of the colossus "
             "preset)";
      const Algo pick = small ? first_of({Algo::Bruck, Algo::Pairwise, Algo::Hierarchical})
                              : first_of({Algo::Pairwise, Algo::Hierarchical, Algo::Bruck});
      return {pick, why.str()};
    }
    case plan::Collective::Gather:
    case plan::Collective::Scatter: {
      // Direct: the root pays a step per peer; a tree forwards blocks
      // log2(n) times to spare it those. Worth it while a block moves in
      // less than a step costs.
      const double move_us = block / nic_bytes_per_us;
      const bool small = move_us < model_.step_us;
      why << (small ? "small " : "large ") << plan::to_string(args.coll) << " (block " << block
          << " B moves in " << fmt_us(move_us) << (small ? " < " : " >= ") << "a step's "
          << fmt_us(model_.step_us) << ")";
      return {small ? first_of({Algo::Tree, Algo::Direct}) : first_of({Algo::Direct, Algo::Tree}),
              why.str()};
    }
    default: break;
  }
  // Ring and hierarchical would leave blocks empty (the call is small for
  // this many ranks) or the layout is uneven. Small calls are
  // latency-bound: recursive doubling, else the tree's log-depth.
  const bool small = vector_bytes(args) <= 64 * 1024 ||
                     args.count < representative_count(args, limits_.nchannels.front());
  why << (small ? "small " : "large ") << plan::to_string(args.coll) << " ("
      << static_cast<std::size_t>(vector_bytes(args)) << " B)";
  const Algo pick =
      small ? first_of({Algo::RecursiveDoubling, Algo::Tree, Algo::Ring, Algo::Hierarchical})
            : first_of({Algo::Ring, Algo::Hierarchical});
  return {pick, why.str()};
}

// When no allowed candidate is counted (above kMaxTrafficRanks: trees,
// small calls whose blocks are empty, uneven layouts; calls that differ by
// rank): the fixed rule, said as such in the log.
Choice Tuner::fallback(const plan::CollArgs& args, const std::vector<Algo>& algos,
                       Choice choice) const {
  const auto [pick, why] = rule(args, algos);
  Candidate c;
  c.algo = pick;
  c.nchannels = limits_.nchannels.front();
  c.chunk_bytes = std::min(limits_.chunk_bytes.back(), limits_.max_chunk_bytes);
  c.bottleneck = args.nranks > kMaxTrafficRanks
                     ? "not modeled (> " + std::to_string(kMaxTrafficRanks) + " ranks)"
                     : "not modeled";
  choice.best = c;
  choice.candidates = {c};
  choice.rule = why;
  return choice;
}

std::string summary(const plan::CollArgs& args, const Choice& choice) {
  std::ostringstream os;
  const Candidate& b = choice.best;
  os << plan::to_string(args.coll) << " " << static_cast<std::size_t>(vector_bytes(args)) << " B "
     << to_string(args.dtype) << " on " << args.nranks
     << " ranks: " << algorithms::to_string(b.algo) << ", " << b.nchannels << " ch, chunk "
     << b.chunk_bytes << " B, ";
  if (!choice.rule.empty()) {
    os << b.bottleneck << ", by rule: " << choice.rule;
  } else {
    os << "predicted " << fmt_us(b.predicted_us) << " (" << b.bottleneck << "-bound)";
  }
  if (choice.forced) os << " [COLOSSUS_ALGO]";
  for (const Candidate& c : choice.candidates) {
    if (c.algo != b.algo) {
      os << "; runner-up " << algorithms::to_string(c.algo) << " " << fmt_us(c.predicted_us);
      break;
    }
  }
  return os.str();
}

std::string explain(const plan::CollArgs& args, const Choice& choice) {
  std::ostringstream os;
  os << "# " << plan::to_string(args.coll) << ", " << static_cast<std::size_t>(vector_bytes(args))
     << " bytes, " << to_string(args.dtype) << ", " << args.nranks << " ranks\n";
  os << "# " << std::left << std::setw(20) << "algorithm" << std::right << std::setw(4) << "ch"
     << std::setw(10) << "chunk" << std::setw(14) << "predicted" << std::setw(14) << "latency"
     << std::setw(14) << "bandwidth"
     << "  bound\n";
  for (const Candidate& c : choice.candidates) {
    const bool pick = &c == &choice.candidates.front();
    os << (pick ? "* " : "  ") << std::left << std::setw(20) << algorithms::to_string(c.algo)
       << std::right << std::setw(4) << c.nchannels << std::setw(10) << c.chunk_bytes
       << std::setw(14) << fmt_us(c.predicted_us) << std::setw(14) << fmt_us(c.latency_us)
       << std::setw(14) << fmt_us(c.bandwidth_us) << "  " << c.bottleneck << "\n";
  }
  if (!choice.rule.empty()) os << "# picked by rule: " << choice.rule << "\n";
  for (const std::string& why : choice.not_counted) os << "# not counted: " << why << "\n";
  return os.str();
}

}  // namespace colossus::tune
