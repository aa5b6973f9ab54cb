// gather_tree.cc: binomial-tree gather and scatter.
//
// Over relative ranks v = (rank - root) mod n: v != 0 hangs below v - low(v)
// (low(v): v's lowest set bit), and v's children are v + 2^k for each 2^k
// below low(v) (for the root, below n), so v's subtree is the contiguous
// range [v, min(n, v + low(v))) of relative ranks. The tree is ceil(log2 n)
// deep: a small gather or scatter takes log2 n message latencies, where the
// direct algorithm has the root handle n-1 messages one after the other.
//
// Message space (units.hpp): the n blocks in relative order, [0, n*count);
// a transfer between v and its parent is the range of v's subtree.
// Gather: a leaf sends its block from the send buffer; an inner rank copies
// its block and receives its children's subtrees (ascending, the smallest
// and so the earliest first) into scratch, in relative order, and forwards
// the whole range as one transfer; the root receives straight into the recv
// buffer. Scatter is the mirror image: the root sends each child its
// subtree's blocks from the send buffer, largest subtree first, so that the
// deepest forwarding starts earliest; an inner rank receives its range into
// scratch, forwards the children's parts and copies its own block out.
//
// At the root, relative block w is absolute block (root + w) mod n: a range
// that passes relative rank n - root wraps around the buffer's end and is two
// ranges there. Every transfer is therefore also cut at that point, at both
// ends (each rank knows root and n), so that both cut it alike.
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/patterns.hpp"
#include "algorithms/units.hpp"
#include "colossus/error.hpp"

namespace colossus::algorithms {

using plan::Buffer;
using plan::ChannelBuilder;
using plan::Collective;
using plan::Slice;

namespace {

// Relative rank v's place in the binomial tree over n ranks.
struct Binomial {
  int parent = -1;            // relative; -1 at the root
  int end = 0;                // v's subtree is [v, end)
  std::vector<int> children;  // relative, ascending (subtree sizes 1, 2, 4, ...)
};

Binomial binomial(int n, int v) {
  Binomial t;
  const long low = v == 0 ? 2L * n : static_cast<long>(v & -v);
  if (v != 0) t.parent = v - static_cast<int>(low);
  for (long bit = 1; bit < low && v + bit < n; bit <<= 1)
    t.children.push_back(v + static_cast<int>(bit));
  t.end = static_cast<int>(std::min<long>(n, v + low));
  return t;
}

}  // namespace

plan::Plan tree_gather_plan(const plan::CollArgs& args, int rank, const AlgoParams& params) {
  const bool gather = args.coll == Collective::Gather;
  if (!gather && args.coll != Collective::Scatter) {
    throw Error(ErrorCode::InvalidArgument,
                std::string("tree gather/scatter called for ") + plan::to_string(args.coll));
  }
  const int n = args.nranks, root = args.root;
  if (root < 0 || root >= n) {
    throw Error(ErrorCode::InvalidArgument, std::string("tree ") + plan::to_string(args.coll) +
                                                ": root " + std::to_string(root) +
                                                " out of range [0, " + std::to_string(n) + ")");
  }
  const Sizing s = sizing(args, params);
  plan::Plan p = plan_header(args, rank, "tree", s.nch);
  const std::size_t count = args.count;
  auto pos = [&](int w) { return static_cast<std::size_t>(w) * count; };  // relative block w
  const int v = (rank - root + n) % n;
  const Binomial t = binomial(n, v);
  const bool inner = v != 0 && !t.children.empty();
  if (inner) p.scratch_count = pos(t.end - v);
  auto absolute = [&](int w) { return (w + root) % n; };
  // The wrap point: relative rank n - root is absolute rank 0.
  const std::vector<std::size_t> cuts =
      root == 0 ? std::vector<std::size_t>{} : std::vector<std::size_t>{pos(n - root)};
  // Where position x of the space lives on this rank, for a piece [x, x+m)
  // (never across the wrap point): the root's user buffer (recv for gather,
  // send for scatter) at absolute block positions, an inner rank's scratch
  // relative to its subtree, a leaf's own block buffer.
  const Buffer user = gather ? Buffer::Recv : Buffer::Send;
  auto place = [&](std::size_t x, std::size_t m) -> Slice {
    if (v == 0) {
      return {user, pos(absolute(static_cast<int>(x / count))) + x % count, m};
    }
    if (inner) return {Buffer::Scratch, x - pos(v), m};
    return {gather ? Buffer::Send : Buffer::Recv, x - pos(v), m};
  };
  const Units units(pos(n), s.nch, s.chunk, s.align);

  for (int c = 0; c < s.nch; ++c) {
    ChannelBuilder b(p.channels[static_cast<std::size_t>(c)]);
    // This rank's own block: from the send buffer to where the tree holds it
    // (gather), or from where the tree left it to the recv buffer (scatter).
    auto own = [&] {
      if (v != 0 && !inner) return;  // a leaf sends or receives its block in place
      units.each(pos(v), pos(v + 1), c, cuts, [&](std::size_t x0, std::size_t x1) {
        const std::size_t y = x0 - pos(v), m = x1 - x0;
        if (gather) {
          b.copy({Buffer::Send, y, m}, v == 0 ? place(x0, m) : Slice{Buffer::Scratch, y, m}, false);
        } else {
          b.copy(v == 0 ? place(x0, m) : Slice{Buffer::Scratch, y, m}, {Buffer::Recv, y, m}, false);
        }
      });
    };
    // The subtree range of relative rank w, moved between this rank and `peer`.
    auto transfer = [&](int w, int w_end, bool send, int peer) {
      units.each(pos(w), pos(w_end), c, cuts, [&](std::size_t x0, std::size_t x1) {
        if (send) {
          b.send(peer, place(x0, x1 - x0));
        } else {
          b.recv(peer, place(x0, x1 - x0));
        }
      });
    };
    auto end_of = [&](int w) { return binomial(n, w).end; };
    if (gather) {
      own();
      for (const int ch : t.children) transfer(ch, end_of(ch), false, absolute(ch));
      if (v != 0) transfer(v, t.end, true, absolute(t.parent));
    } else {
      if (v != 0) transfer(v, t.end, false, absolute(t.parent));
      for (auto it = t.children.rbegin(); it != t.children.rend(); ++it)
        transfer(*it, end_of(*it), true, absolute(*it));
      own();
    }
  }
  return p;
}

}  // namespace colossus::algorithms
