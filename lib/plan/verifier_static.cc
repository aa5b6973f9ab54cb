// verifier_static.cc: the checks that need no execution: each step on its own,
// and the independence of one rank's channels.
#include <algorithm>
#include <utility>

#include "plan/verifier_internal.hpp"

namespace colossus::plan::detail {

RankLayout make_layout(const CollArgs& args, int rank, std::size_t scratch_count, bool in_place) {
  RankLayout l;
  const std::size_t sc = send_count(args), rc = recv_count(args);
  l.scratch = {2, 0, scratch_count};
  l.arena_size[2] = scratch_count;
  if (!in_place) {
    l.send = {0, 0, sc};
    l.recv = {1, 0, rc};
    l.arena_size[0] = sc;
    l.arena_size[1] = rc;
    return l;
  }
  // allgather: send == recv + rank*count, gather's root: send == recv +
  // root*count; reduce_scatter: recv == send + rank*count, scatter's root:
  // recv == send + root*count. (Non-roots of gather and scatter have one
  // buffer only, which the static checks hold them to.)
  const std::size_t own_block = static_cast<std::size_t>(rank) * args.count;
  const bool root = rank == args.root;
  const bool send_inside =
      args.coll == Collective::AllGather || (args.coll == Collective::Gather && root);
  const bool recv_inside =
      args.coll == Collective::ReduceScatter || (args.coll == Collective::Scatter && root);
  l.send = {0, send_inside ? own_block : 0, sc};
  l.recv = {0, recv_inside ? own_block : 0, rc};
  l.arena_size[0] = std::max(sc, rc);
  return l;
}

bool has_input(const CollArgs& args, int rank) {
  if (args.coll == Collective::Recv) return false;
  const bool rooted_input = args.coll == Collective::Broadcast || args.coll == Collective::Scatter;
  return !rooted_input || rank == args.root;
}

std::string rank_name(int rank) { return "rank " + std::to_string(rank); }

std::string range(std::size_t b, std::size_t e) {
  return "[" + std::to_string(b) + "," + std::to_string(e) + ")";
}

std::string name(const Slice& s) {
  return std::string(to_string(s.buffer)) + "[" + std::to_string(s.offset) + ",+" +
         std::to_string(s.count) + ")";
}

std::string where(const std::string& who, std::size_t channel, std::size_t step, const Step& s) {
  return who + " channel " + std::to_string(channel) + " step " + std::to_string(step) + " (" +
         describe(s) + ")";
}

namespace {

bool valid_kind(StepKind k) { return static_cast<int>(k) <= static_cast<int>(StepKind::Reduce); }
bool valid_buffer(Buffer b) { return static_cast<int>(b) <= static_cast<int>(Buffer::Scratch); }

std::string check_slice(const Slice& s, const RankLayout& layout, const char* role) {
  if (!valid_buffer(s.buffer)) {
    return std::string(role) + " names buffer " + std::to_string(static_cast<int>(s.buffer)) +
           ", which does not exist";
  }
  const std::size_t size = layout.of(s.buffer).size;
  if (s.offset > size || s.count > size - s.offset) {
    return std::string(role) + " " + name(s) + " is out of bounds: " + to_string(s.buffer) +
           " has " + std::to_string(size) + " elements";
  }
  return "";
}

std::string check_peer(int peer, int rank, int nranks, const char* role) {
  if (peer < 0 || peer >= nranks) {
    return std::string(role) + " rank " + std::to_string(peer) + " is not a rank of the " +
           std::to_string(nranks) + "-rank world";
  }
  if (peer == rank) return std::string(role) + " rank is the rank itself";
  return "";
}

// Point-to-point Plans talk to their peer only: the pairing of sends and
// recvs is by peer.
std::string check_p2p_peer(const CollArgs& args, const Step& s) {
  const int peer = args.root;
  auto other = [&](const char* verb, int r) {
    return std::string(verb) + " rank " + std::to_string(r) + ", but the " + to_string(args.coll) +
           "'s peer is rank " + std::to_string(peer);
  };
  if (receives(s.kind) && s.recv_peer != peer) return other("receives from", s.recv_peer);
  if (sends(s.kind) && s.send_peer != peer) return other("sends to", s.send_peer);
  return "";
}

std::string check_step(const CollArgs& args, int rank, const Step& s, const RankLayout& layout) {
  if (!valid_kind(s.kind)) return "unknown step kind";
  std::string e;
  if (receives(s.kind) && !(e = check_peer(s.recv_peer, rank, args.nranks, "source")).empty()) {
    return e;
  }
  if (sends(s.kind) && !(e = check_peer(s.send_peer, rank, args.nranks, "destination")).empty()) {
    return e;
  }
  if (is_p2p(args.coll) && !(e = check_p2p_peer(args, s)).empty()) return e;
  const char* coll = to_string(args.coll);
  const bool non_root = is_rooted(args.coll) && rank != args.root;
  // Reduce and gather non-roots have no recv buffer.
  const bool no_recv =
      non_root && (args.coll == Collective::Reduce || args.coll == Collective::Gather);
  if (reads_src(s.kind)) {
    if (!(e = check_slice(s.src, layout, "src")).empty()) return e;
    if (non_root && !has_input(args, rank) && s.src.buffer == Buffer::Send) {
      return std::string("a ") + coll + " non-root reads its send buffer, which holds no input";
    }
    if (no_recv && s.src.buffer == Buffer::Recv) {
      return std::string("a ") + coll + " non-root reads recv, but non-roots have no recv buffer";
    }
  }
  if (writes_dst(s.kind)) {
    if (!(e = check_slice(s.dst, layout, "dst")).empty()) return e;
    if (s.dst.buffer == Buffer::Send) return "writes the send buffer, the caller's read-only input";
    if (no_recv && s.dst.buffer == Buffer::Recv) {
      return std::string("a ") + coll + " non-root writes recv, but non-roots have no recv buffer";
    }
  }
  if (reads_src(s.kind) && writes_dst(s.kind)) {
    if (s.src.count != s.dst.count) {
      return "src has " + std::to_string(s.src.count) + " elements but dst has " +
             std::to_string(s.dst.count);
    }
    // A fused pass over exactly aliased src and dst is fine (e.g. a copy that
    // is a no-op in place); a partial overlap reads what it has just written.
    const Placement& ps = layout.of(s.src.buffer);
    const Placement& pd = layout.of(s.dst.buffer);
    const std::size_t sb = ps.base + s.src.offset, db = pd.base + s.dst.offset;
    if (ps.arena == pd.arena && sb != db && sb < db + s.dst.count && db < sb + s.src.count) {
      return "src and dst overlap partially";
    }
  }
  if (s.finalize && !is_reducing(args.coll)) {
    return std::string("finalize in ") + coll + ", which does not reduce";
  }
  return "";
}

using Intervals = std::vector<std::pair<std::size_t, std::size_t>>;

void normalize(Intervals& v) {
  std::sort(v.begin(), v.end());
  Intervals out;
  for (const auto& iv : v) {
    if (!out.empty() && iv.first <= out.back().second) {
      out.back().second = std::max(out.back().second, iv.second);
    } else {
      out.push_back(iv);
    }
  }
  v = std::move(out);
}

bool first_overlap(const Intervals& a, const Intervals& b,
                   std::pair<std::size_t, std::size_t>* out) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const std::size_t lo = std::max(a[i].first, b[j].first);
    const std::size_t hi = std::min(a[i].second, b[j].second);
    if (lo < hi) {
      *out = {lo, hi};
      return true;
    }
    (a[i].second < b[j].second) ? ++i : ++j;
  }
  return false;
}

// Whether `s` (in `layout`) covers any of arena elements [lo,hi) of `arena`.
bool touches(const Slice& s, const RankLayout& layout, int arena, std::size_t lo, std::size_t hi) {
  const Placement& p = layout.of(s.buffer);
  const std::size_t b = p.base + s.offset;
  return s.count > 0 && p.arena == arena && b < hi && lo < b + s.count;
}

const char* arena_name(int arena, const RankLayout& layout) {
  if (arena == 2) return "scratch";
  if (arena == 1) return "recv";
  return layout.recv.arena == 0 ? "the send/recv memory aliased in place" : "send";
}

}  // namespace

std::string check_steps(const Plan& plan, const RankLayout& layout, const std::string& who) {
  for (std::size_t c = 0; c < plan.channels.size(); ++c) {
    const auto& steps = plan.channels[c].steps;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const std::string e = check_step(plan.args, plan.rank, steps[i], layout);
      if (!e.empty()) return where(who, c, i, steps[i]) + ": " + e;
    }
  }
  return "";
}

std::string check_channel_independence(const Plan& plan, const RankLayout& layout,
                                       const std::string& who) {
  const std::size_t nch = plan.channels.size();
  if (nch < 2) return "";
  // Per channel and arena: what it writes, and everything it touches.
  std::vector<std::array<Intervals, kNumArenas>> writes(nch), touched(nch);
  auto add = [&](std::vector<std::array<Intervals, kNumArenas>>& to, std::size_t c,
                 const Slice& s) {
    if (s.count == 0) return;
    const Placement& p = layout.of(s.buffer);
    to[c][p.arena].emplace_back(p.base + s.offset, p.base + s.offset + s.count);
  };
  for (std::size_t c = 0; c < nch; ++c) {
    for (const Step& s : plan.channels[c].steps) {
      if (reads_src(s.kind)) add(touched, c, s.src);
      if (writes_dst(s.kind)) {
        add(touched, c, s.dst);
        add(writes, c, s.dst);
      }
    }
    for (int a = 0; a < kNumArenas; ++a) {
      normalize(writes[c][a]);
      normalize(touched[c][a]);
    }
  }
  for (int a = 0; a < kNumArenas; ++a) {
    for (std::size_t c = 0; c < nch; ++c) {
      for (std::size_t d = 0; d < nch; ++d) {
        std::pair<std::size_t, std::size_t> hit;
        if (d == c || !first_overlap(writes[c][a], touched[d][a], &hit)) continue;
        // Name one step on each side for the message.
        const auto& cs = plan.channels[c].steps;
        const auto& ds = plan.channels[d].steps;
        std::size_t i = 0, j = 0;
        while (i < cs.size() &&
               !(writes_dst(cs[i].kind) && touches(cs[i].dst, layout, a, hit.first, hit.second))) {
          ++i;
        }
        auto d_touches = [&](const Step& s) {
          return (reads_src(s.kind) && touches(s.src, layout, a, hit.first, hit.second)) ||
                 (writes_dst(s.kind) && touches(s.dst, layout, a, hit.first, hit.second));
        };
        while (j < ds.size() && !d_touches(ds[j])) ++j;
        return where(who, c, i, cs[i]) + " writes memory that " + where(who, d, j, ds[j]) +
               " also uses (elements " + range(hit.first, hit.second) + " of " +
               arena_name(a, layout) +
               "); channels run concurrently, so one channel must not write what another uses";
      }
    }
  }
  return "";
}

}  // namespace colossus::plan::detail
