#include "sim/folding.hpp"

#include <algorithm>
#include <set>
#include <utility>

namespace colossus::sim {

using algorithms::Algo;

namespace {

// Counts of one step as the engine sees them: what it moves.
std::size_t moved(const plan::Step& s) { return s.count(); }

// "" when plan `x` is plan `r` carried by g: kinds and peers step by step,
// bytes per channel within rounding. Sets *exact false when any step's
// count differs (uneven blocks: the short block comes at another step).
std::string compare(const Folding& f, int p, const plan::Plan& r, const plan::Plan& x,
                    bool* exact) {
  const std::string where =
      "rank " + std::to_string(x.rank) + " against rank " + std::to_string(r.rank);
  if (r.channels.size() != x.channels.size()) return where + ": channel counts differ";
  for (std::size_t c = 0; c < r.channels.size(); ++c) {
    const auto& a = r.channels[c].steps;
    const auto& b = x.channels[c].steps;
    if (a.size() != b.size())
      return where + ": channel " + std::to_string(c) + " step counts differ";
    std::size_t ta = 0, tb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const auto mapped = [&](int peer) { return peer < 0 ? peer : f.apply(p, peer); };
      if (a[i].kind != b[i].kind || mapped(a[i].send_peer) != b[i].send_peer ||
          mapped(a[i].recv_peer) != b[i].recv_peer) {
        return where + ": step " + std::to_string(i) + " of channel " + std::to_string(c) +
               " is not the image of the representative's";
      }
      ta += moved(a[i]);
      tb += moved(b[i]);
      if (moved(a[i]) != moved(b[i])) *exact = false;
    }
    // Uneven blocks move the short ones to other steps on other ranks; a
    // channel's total may differ by a block or two, never more.
    const std::size_t hi = std::max(ta, tb), lo = std::min(ta, tb);
    if (hi - lo > std::max<std::size_t>(64 * 4, hi / 100)) {
      return where + ": channel " + std::to_string(c) + " moves " + std::to_string(tb) +
             " elements, the representative's " + std::to_string(ta);
    }
  }
  return "";
}

}  // namespace

Folding choose_folding(const Fabric& fabric, const plan::CollArgs& args, Algo algo,
                       const algorithms::AlgoParams& params, std::string* why) {
  if (!fabric.asymmetry().empty()) {
    *why = fabric.asymmetry();
    return Folding{};
  }
  Folding f = algorithms::symmetry_of(fabric.layout(), args, algo, why);
  if (!f.active()) return f;
  auto refuse = [&](std::string reason) {
    *why = std::move(reason);
    return Folding{};
  };

  // Sampled images: a neighbour node, the farthest, the last; the first,
  // middle and last local index.
  std::set<int> ks = {1, f.nodes / 2, f.nodes - 1};
  std::set<int> locals = {0, f.per_node / 2, f.per_node - 1};
  for (const int r : locals) {
    const plan::Plan rep = algorithms::make_plan(algo, args, r, params);
    for (const int k : ks) {
      if (k <= 0 || k >= f.nodes) continue;
      const int p = k * f.per_node;  // a rank of node k: g carries node 0 to node k
      const plan::Plan img = algorithms::make_plan(algo, args, f.apply(p, r), params);
      const std::string bad = compare(f, p, rep, img, &f.exact);
      if (!bad.empty())
        return refuse(std::string(algorithms::to_string(algo)) +
                      " plans are not symmetric: " + bad);
    }
  }
  why->clear();
  return f;
}

}  // namespace colossus::sim
