#include "sim/workload.hpp"

#include <memory>
#include <utility>

#include "colossus/error.hpp"

namespace colossus::sim {

using algorithms::Algo;
using plan::Collective;

namespace {

[[noreturn]] void bad(const std::string& what) {
  throw Error(ErrorCode::InvalidArgument, "simulator: " + what);
}

}  // namespace

Workload collective(const plan::CollArgs& args, Algo algo, const algorithms::AlgoParams& params) {
  Workload w;
  w.name = std::string(algorithms::to_string(algo)) + " " + plan::to_string(args.coll);
  w.nranks = args.nranks;
  w.plans_of = [args, algo, params](int rank) {
    return std::vector<plan::Plan>{algorithms::make_plan(algo, args, rank, params)};
  };
  w.symmetry = [args, algo](const algorithms::Layout& layout, std::string* why) {
    return algorithms::symmetry_of(layout, args, algo, why);
  };
  return w;
}

Workload alltoallv(int nranks, DataType dtype, PairCounts counts, Algo algo,
                   const algorithms::AlgoParams& params) {
  if (!algorithms::supports(algo, Collective::AllToAllv))
    bad(std::string(algorithms::to_string(algo)) + " does not implement alltoallv");
  Workload w;
  w.name = std::string(algorithms::to_string(algo)) + " alltoallv";
  w.nranks = nranks;
  w.plans_of = [nranks, dtype, counts = std::move(counts), algo, params](int rank) {
    auto v = std::make_shared<plan::VectorArgs>();
    const auto n = static_cast<std::size_t>(nranks);
    v->send_counts.resize(n);
    v->recv_counts.resize(n);
    v->send_displs.resize(n);
    v->recv_displs.resize(n);
    std::size_t out = 0, in = 0;
    for (int q = 0; q < nranks; ++q) {
      const auto i = static_cast<std::size_t>(q);
      v->send_counts[i] = counts(rank, q);
      v->recv_counts[i] = counts(q, rank);
      v->send_displs[i] = out;
      v->recv_displs[i] = in;
      out += v->send_counts[i];
      in += v->recv_counts[i];
    }
    plan::CollArgs a;
    a.coll = Collective::AllToAllv;
    a.dtype = dtype;
    a.nranks = nranks;
    a.v = std::move(v);
    return std::vector<plan::Plan>{algorithms::make_plan(algo, a, rank, params)};
  };
  // No symmetry: every rank's counts are its own (symmetry_of says so).
  return w;
}

Workload transfers(std::string name, int nranks, std::size_t count, DataType dtype,
                   const std::function<int(int)>& send_to,
                   const std::function<int(int)>& recv_from) {
  if (nranks < 2) bad(name + " needs at least 2 ranks, got " + std::to_string(nranks));
  auto peers = std::make_shared<std::vector<std::pair<int, int>>>();  // (to, from) per rank
  peers->reserve(static_cast<std::size_t>(nranks));
  for (int r = 0; r < nranks; ++r) peers->emplace_back(send_to(r), recv_from(r));
  for (int r = 0; r < nranks; ++r) {
    const auto [to, from] = (*peers)[static_cast<std::size_t>(r)];
    for (const int p : {to, from}) {
      if (p < -1 || p >= nranks || p == r)
        bad(name + ": rank " + std::to_string(r) + " names peer " + std::to_string(p));
    }
    if (to >= 0 && (*peers)[static_cast<std::size_t>(to)].second != r)
      bad(name + ": rank " + std::to_string(r) + " sends to " + std::to_string(to) +
          ", which does not receive from it");
    if (from >= 0 && (*peers)[static_cast<std::size_t>(from)].first != r)
      bad(name + ": rank " + std::to_string(r) + " receives from " + std::to_string(from) +
          ", which does not send to it");
  }
  Workload w;
  w.name = std::move(name);
  w.nranks = nranks;
  w.plans_of = [peers, nranks, count, dtype](int rank) {
    std::vector<plan::Plan> plans;
    const auto [to, from] = (*peers)[static_cast<std::size_t>(rank)];
    const std::pair<Collective, int> ops[] = {{Collective::Send, to}, {Collective::Recv, from}};
    for (const auto& [coll, peer] : ops) {
      if (peer < 0) continue;
      plan::CollArgs a;
      a.coll = coll;
      a.count = count;
      a.dtype = dtype;
      a.root = peer;
      a.nranks = nranks;
      plans.push_back(algorithms::direct_plan(a, rank, {}));
    }
    return plans;
  };
  return w;
}

Workload pipeline(int nranks, int stages, std::size_t count, DataType dtype) {
  if (stages < 2 || nranks % stages != 0) {
    bad("a pipeline of " + std::to_string(stages) + " stages on " + std::to_string(nranks) +
        " ranks: stages must be >= 2 and divide the ranks");
  }
  const int per = nranks / stages;
  return transfers(
      "pipeline of " + std::to_string(stages) + " stages", nranks, count, dtype,
      [=](int r) { return r / per < stages - 1 ? r + per : -1; },
      [=](int r) { return r / per > 0 ? r - per : -1; });
}

Workload shift(int nranks, int k, std::size_t count, DataType dtype) {
  if (k <= 0 || k >= nranks)
    bad("a shift by " + std::to_string(k) + " on " + std::to_string(nranks) + " ranks");
  return transfers(
      "shift by " + std::to_string(k), nranks, count, dtype,
      [=](int r) { return (r + k) % nranks; }, [=](int r) { return (r - k + nranks) % nranks; });
}

}  // namespace colossus::sim
