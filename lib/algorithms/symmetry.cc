#include "algorithms/symmetry.hpp"

#include <algorithm>
#include <set>

namespace colossus::algorithms {

namespace {

bool power_of_two(int x) { return x > 0 && (x & (x - 1)) == 0; }

// "" when plan `x` is plan `r` carried by g (the element that carries rep(p)
// to p): kinds and peers step by step, elements per channel within rounding.
// Clears *exact when any step's count differs.
std::string compare(const Symmetry& f, int p, const plan::Plan& r, const plan::Plan& x,
                    bool* exact) {
  const std::string where =
      "rank " + std::to_string(x.rank) + " against rank " + std::to_string(r.rank);
  if (r.channels.size() != x.channels.size() || r.channel_base != x.channel_base)
    return where + ": channels differ";
  for (std::size_t c = 0; c < r.channels.size(); ++c) {
    const auto& a = r.channels[c].steps;
    const auto& b = x.channels[c].steps;
    if (a.size() != b.size())
      return where + ": channel " + std::to_string(c) + " step counts differ";
    std::size_t ta = 0, tb = 0;
    const auto mapped = [&](int peer) { return peer < 0 ? peer : f.apply(p, peer); };
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i].kind != b[i].kind || mapped(a[i].send_peer) != b[i].send_peer ||
          mapped(a[i].recv_peer) != b[i].recv_peer) {
        return where + ": step " + std::to_string(i) + " of channel " + std::to_string(c) +
               " is not the image of the representative's";
      }
      ta += a[i].count();
      tb += b[i].count();
      if (a[i].count() != b[i].count()) *exact = false;
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

int Symmetry::apply(int p, int x) const {
  if (!active()) return x;
  const int k = p / per_node, node = x / per_node, local = x % per_node;
  const int to = group == Group::NodeRotation ? (node + k) % nodes : (node ^ k);
  return to * per_node + local;
}

int Symmetry::unapply(int p, int x) const {
  if (!active()) return x;
  const int k = p / per_node, node = x / per_node, local = x % per_node;
  const int to = group == Group::NodeRotation ? (node - k + nodes) % nodes : (node ^ k);
  return to * per_node + local;
}

std::string Symmetry::describe() const {
  if (!active()) return "none";
  return std::string(group == Group::NodeRotation ? "node rotation" : "node xor") + ": " +
         std::to_string(per_node) + " classes of " + std::to_string(nodes) + " ranks" +
         (exact ? " (exact)" : " (block rounding differs)");
}

Symmetry symmetry_of(const Layout& layout, const plan::CollArgs& args, Algo algo,
                     std::string* why) {
  auto none = [&](std::string reason) {
    *why = std::move(reason);
    return Symmetry{};
  };
  if (layout.nnodes() < 2) return none("one node");
  if (!layout.uniform())
    return none("nodes hold different numbers of ranks (" + layout.describe() + ")");
  const int per = layout.max_per_node();
  for (int r = 0; r < layout.nranks(); ++r) {
    if (layout.node_of(r) != r / per)
      return none("ranks are not in consecutive blocks per node (rank " + std::to_string(r) + ")");
  }
  if (plan::is_rooted(args.coll)) return none("the root plays a part no other rank plays");
  if (plan::is_p2p(args.coll)) return none("one side of a point-to-point transfer");
  if (args.coll == plan::Collective::AllToAllv)
    return none("alltoallv's counts differ from rank to rank");
  Symmetry s;
  switch (algo) {
    case Algo::Ring:
    case Algo::Hierarchical:
    case Algo::Pairwise:
    case Algo::Bruck: s.group = Symmetry::Group::NodeRotation; break;
    case Algo::RecursiveDoubling:
      if (!power_of_two(args.nranks) || !power_of_two(layout.nnodes()))
        return none("recursive doubling on " + std::to_string(args.nranks) +
                    " ranks (not a power of two) gives the extra ranks their own part");
      s.group = Symmetry::Group::NodeXor;
      break;
    case Algo::Tree: return none("tree ranks play different parts (leaves, inner nodes)");
    case Algo::Direct: return none("direct plans are not folded");
  }
  s.nodes = layout.nnodes();
  s.per_node = per;
  why->clear();
  return s;
}

std::string check_symmetry(Symmetry* s, const PlansOf& plans_of) {
  if (!s->active()) return "";
  const std::set<int> ks = {1, s->nodes / 2, s->nodes - 1};
  const std::set<int> locals = {0, s->per_node / 2, s->per_node - 1};
  for (const int r : locals) {
    const std::vector<plan::Plan> rep = plans_of(r);
    for (const int k : ks) {
      if (k <= 0 || k >= s->nodes) continue;
      const int p = k * s->per_node;  // a rank of node k: g carries node 0 to node k
      const std::vector<plan::Plan> img = plans_of(s->apply(p, r));
      if (img.size() != rep.size()) {
        return "rank " + std::to_string(s->apply(p, r)) + " holds " + std::to_string(img.size()) +
               " Plans, rank " + std::to_string(r) + " " + std::to_string(rep.size());
      }
      for (std::size_t j = 0; j < rep.size(); ++j) {
        const std::string bad = compare(*s, p, rep[j], img[j], &s->exact);
        if (!bad.empty()) return bad;
      }
    }
  }
  return "";
}

}  // namespace colossus::algorithms
