// verifier.cc: verify(): gathers the plans, runs the checks in order and
// compares every output element with what the collective defines.
#include "plan/verifier.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "plan/verifier_internal.hpp"

namespace colossus::plan {

namespace {

using detail::range;

bool rooted(Collective c) { return is_rooted(c); }
bool reducing(Collective c) { return is_reducing(c); }

std::string check_args(const CollArgs& a, const VerifyOptions& o) {
  if (a.nranks < 1) return "nranks must be at least 1";
  if (static_cast<int>(a.coll) >= kNumCollectives) return "unknown collective";
  if (is_p2p(a.coll)) return "send and recv Plans are verified as a group, with verify_p2p";
  if (rooted(a.coll) && (a.root < 0 || a.root >= a.nranks)) return "root out of range";
  if (o.fifo_depth == 0) return "fifo_depth must be at least 1";
  if (o.in_place && (a.coll == Collective::AllToAll || a.coll == Collective::AllToAllv)) {
    return std::string(to_string(a.coll)) + " has no in-place form";
  }
  return "";
}

// An alltoallv Plan carries its own rank's counts (they differ per rank).
std::string check_vector_header(int rank, const CollArgs& b) {
  const std::string who = "rank " + std::to_string(rank) + "'s alltoallv plan ";
  if (!b.v) return who + "carries no counts (args.v is null)";
  const auto n = static_cast<std::size_t>(b.nranks);
  const std::pair<const char*, const std::vector<std::size_t>*> arrays[] = {
      {"send_counts", &b.v->send_counts},
      {"send_displs", &b.v->send_displs},
      {"recv_counts", &b.v->recv_counts},
      {"recv_displs", &b.v->recv_displs}};
  for (const auto& [what, values] : arrays) {
    if (values->size() != n) {
      return who + "has " + std::to_string(values->size()) + " " + what + " for " +
             std::to_string(n) + " ranks";
    }
  }
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  for (std::size_t q = 0; q < n; ++q) {
    if (b.v->send_displs[q] > kMax - b.v->send_counts[q] ||
        b.v->recv_displs[q] > kMax - b.v->recv_counts[q]) {
      return who + "has a block for rank " + std::to_string(q) + " that overflows the buffer size";
    }
  }
  return "";
}

// A plan must be for the call and rank it was asked for.
std::string check_header(const CollArgs& a, int rank, const Plan& p) {
  const CollArgs& b = p.args;
  if (p.rank != rank) {
    return "plan_of(" + std::to_string(rank) + ") returned a plan for rank " +
           std::to_string(p.rank);
  }
  const bool differs = a.coll == Collective::AllToAllv
                           ? b.coll != a.coll || b.dtype != a.dtype || b.nranks != a.nranks
                           : b.coll != a.coll || b.count != a.count || b.dtype != a.dtype ||
                                 b.nranks != a.nranks || (reducing(a.coll) && b.op != a.op) ||
                                 (rooted(a.coll) && b.root != a.root);
  if (differs)
    return "rank " + std::to_string(rank) + "'s plan was made for different call arguments";
  return a.coll == Collective::AllToAllv ? check_vector_header(rank, b) : "";
}

// The ranks' alltoallv counts must agree pairwise (rank r receives from q
// what q sends to r), and one rank's recv blocks must not overlap.
std::string check_vector_counts(const std::vector<Plan>& plans) {
  const std::size_t n = plans.size();
  for (std::size_t r = 0; r < n; ++r) {
    const VectorArgs& vr = *plans[r].args.v;
    for (std::size_t q = 0; q < n; ++q) {
      const std::size_t sent = plans[q].args.v->send_counts[r];
      if (vr.recv_counts[q] != sent) {
        return "alltoallv counts disagree: rank " + std::to_string(r) + " expects recv_counts[" +
               std::to_string(q) + "] = " + std::to_string(vr.recv_counts[q]) +
               " elements from rank " + std::to_string(q) + ", but rank " + std::to_string(q) +
               " sends send_counts[" + std::to_string(r) + "] = " + std::to_string(sent);
      }
    }
    std::vector<std::pair<std::size_t, std::size_t>> blocks;  // (displ, q)
    for (std::size_t q = 0; q < n; ++q) {
      if (vr.recv_counts[q] > 0) blocks.emplace_back(vr.recv_displs[q], q);
    }
    std::sort(blocks.begin(), blocks.end());
    for (std::size_t i = 1; i < blocks.size(); ++i) {
      const std::size_t p = blocks[i - 1].second, q = blocks[i].second;
      if (vr.recv_displs[p] + vr.recv_counts[p] <= vr.recv_displs[q]) continue;
      return "rank " + std::to_string(r) + "'s alltoallv recv blocks from ranks " +
             std::to_string(p) + " and " + std::to_string(q) + " overlap (recv" +
             range(vr.recv_displs[p], vr.recv_displs[p] + vr.recv_counts[p]) + " and recv" +
             range(vr.recv_displs[q], vr.recv_displs[q] + vr.recv_counts[q]) + ")";
    }
  }
  return "";
}

// What [begin, end) of a rank's recv buffer must hold at the end; `value`
// absent: it must stay unwritten (an alltoallv's gaps between blocks).
struct Expect {
  std::size_t begin = 0, end = 0;
  std::optional<Value> value;
};

// Block q of `rank`'s recv buffer holds rank q's input shifted by `shift`.
void per_rank_blocks(const CollArgs& a, const std::function<int64_t(std::size_t q)>& shift,
                     std::vector<Expect>& out) {
  for (std::size_t q = 0; q < static_cast<std::size_t>(a.nranks); ++q) {
    out.push_back({q * a.count, (q + 1) * a.count,
                   Value{RankSet::single(a.nranks, static_cast<int>(q)), shift(q), false}});
  }
}

void alltoallv_blocks(const std::vector<Plan>& plans, int rank, std::vector<Expect>& out) {
  const int n = static_cast<int>(plans.size());
  const VectorArgs& v = *plans[static_cast<std::size_t>(rank)].args.v;
  std::vector<std::pair<std::size_t, int>> blocks;  // (displ, q), non-empty ones
  for (int q = 0; q < n; ++q) {
    if (v.recv_counts[static_cast<std::size_t>(q)] > 0) {
      blocks.emplace_back(v.recv_displs[static_cast<std::size_t>(q)], q);
    }
  }
  std::sort(blocks.begin(), blocks.end());
  std::size_t pos = 0;
  for (const auto& [displ, q] : blocks) {
    if (displ > pos) out.push_back({pos, displ, std::nullopt});
    const std::size_t sdispl =
        plans[static_cast<std::size_t>(q)].args.v->send_displs[static_cast<std::size_t>(rank)];
    const auto shift = static_cast<int64_t>(sdispl) - static_cast<int64_t>(displ);
    pos = displ + v.recv_counts[static_cast<std::size_t>(q)];
    out.push_back({displ, pos, Value{RankSet::single(n, q), shift, false}});
  }
}

// What each element of `rank`'s recv buffer must hold, in order. Empty for
// ranks without output (reduce and gather non-roots).
std::vector<Expect> expected(const CollArgs& a, const std::vector<Plan>& plans, int rank) {
  const int n = a.nranks;
  const auto count = static_cast<int64_t>(a.count);
  const auto own = static_cast<int64_t>(rank) * count;
  std::vector<Expect> out;
  const std::size_t rc = recv_count(a);
  switch (a.coll) {
    case Collective::AllReduce: out.push_back({0, rc, Value{RankSet::all(n), 0, true}}); break;
    case Collective::Reduce:
      if (rank == a.root) out.push_back({0, rc, Value{RankSet::all(n), 0, true}});
      break;
    case Collective::ReduceScatter:
      out.push_back({0, rc, Value{RankSet::all(n), own, true}});
      break;
    case Collective::Broadcast:
      out.push_back({0, rc, Value{RankSet::single(n, a.root), 0, false}});
      break;
    case Collective::Scatter:
      out.push_back({0, rc, Value{RankSet::single(n, a.root), own, false}});
      break;
    case Collective::AllGather:
      per_rank_blocks(
          a, [&](std::size_t q) { return -static_cast<int64_t>(q) * count; }, out);
      break;
    case Collective::Gather:
      if (rank != a.root) break;
      per_rank_blocks(
          a, [&](std::size_t q) { return -static_cast<int64_t>(q) * count; }, out);
      break;
    case Collective::AllToAll:  // recv block q = rank q's send block `rank`
      per_rank_blocks(
          a, [&](std::size_t q) { return own - static_cast<int64_t>(q) * count; }, out);
      break;
    case Collective::AllToAllv: alltoallv_blocks(plans, rank, out); break;
    case Collective::Send:
    case Collective::Recv: break;  // verify_p2p
  }
  return out;
}

// Why `got` is not `want`, most telling difference first.
std::string mismatch(const CollArgs& a, const Run& got, const Value& want) {
  const int n = a.nranks;
  const Value& v = got.value;
  if (!(v.ranks == want.ranks)) {
    RankSet extra(n), lacking(n);
    for (int r = 0; r < n; ++r) {
      if (v.ranks.contains(r) && !want.ranks.contains(r)) extra.insert(r);
      if (!v.ranks.contains(r) && want.ranks.contains(r)) lacking.insert(r);
    }
    std::string s = "holds ranks " + v.ranks.to_string() + " but needs " + want.ranks.to_string();
    if (lacking.size() > 0) s += "; missing contribution of rank(s) " + lacking.to_string();
    if (extra.size() > 0) s += "; unexpected contribution of rank(s) " + extra.to_string();
    return s;
  }
  if (v.shift != want.shift) {
    return "holds input element " + std::to_string(static_cast<int64_t>(got.begin) + v.shift) +
           " at its first element where input element " +
           std::to_string(static_cast<int64_t>(got.begin) + want.shift) + " belongs";
  }
  return v.finalized ? "is finalized, but this collective does not reduce"
                     : "is never finalized: no step on its path applied finalize";
}

std::string check_outputs(const CollArgs& a, const std::vector<Plan>& plans, int rank,
                          const detail::RankLayout& layout, const detail::RankMemory& memory) {
  const std::string who = "rank " + std::to_string(rank) + " ";
  const detail::Placement& p = layout.recv;
  const IntervalMap& mem = memory[p.arena];
  Runs runs;
  IntervalMap::Gap gap;
  for (const Expect& e : expected(a, plans, rank)) {
    if (e.begin == e.end) continue;
    if (!e.value) {
      if (!mem.written(p.base + e.begin, e.end - e.begin, &gap)) continue;
      return who + "recv" + range(gap.begin - p.base, gap.end - p.base) +
             " is written, but lies outside every block the rank receives (between " +
             range(e.begin, e.end) + " nothing may be stored)";
    }
    if (!mem.read(p.base + e.begin, e.end - e.begin, &runs, &gap)) {
      return who + "recv" + range(gap.begin - p.base, gap.end - p.base) +
             " is never written: output missing";
    }
    for (const Run& r : runs) {
      // Back to positions in the recv buffer (the read is relative to e.begin).
      Run got{e.begin + r.begin, e.begin + r.end, r.value};
      got.value.shift -= static_cast<int64_t>(e.begin);
      if (got.value == *e.value) continue;
      return who + "recv" + range(got.begin, got.end) + " (" + describe(got) + ") " +
             mismatch(a, got, *e.value);
    }
  }
  return "";
}

}  // namespace

VerifyResult verify(const CollArgs& args, const std::function<Plan(int rank)>& plan_of,
                    const VerifyOptions& options) {
  VerifyResult res;
  res.error = check_args(args, options);
  if (!res.error.empty()) return res;

  const int n = args.nranks;
  std::vector<Plan> plans;
  std::vector<detail::Job> jobs;
  plans.reserve(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) {
    plans.push_back(plan_of(r));
    const Plan& p = plans.back();
    res.error = check_header(args, r, p);
    if (!res.error.empty()) return res;
    const std::string who = detail::rank_name(r);
    // The plan's own args: an alltoallv's counts are per rank.
    detail::RankLayout layout = detail::make_layout(p.args, r, p.scratch_count, options.in_place);
    res.error = detail::check_steps(p, layout, who);
    if (res.error.empty()) res.error = detail::check_channel_independence(p, layout, who);
    if (!res.error.empty()) return res;
    jobs.push_back({nullptr, layout, detail::has_input(p.args, r) ? r : -1, who});
  }
  for (int r = 0; r < n; ++r)
    jobs[static_cast<std::size_t>(r)].plan = &plans[static_cast<std::size_t>(r)];
  if (args.coll == Collective::AllToAllv) {
    res.error = check_vector_counts(plans);
    if (!res.error.empty()) return res;
  }

  std::vector<detail::RankMemory> memory(static_cast<std::size_t>(n));
  const detail::ExecResult ex = detail::execute(jobs, n, n, options, memory);
  res.steps = ex.steps;
  res.messages = ex.messages;
  res.error = ex.error;
  for (int r = 0; r < n && res.error.empty(); ++r) {
    const auto i = static_cast<std::size_t>(r);
    res.error = check_outputs(args, plans, r, jobs[i].layout, memory[i]);
  }
  res.ok = res.error.empty();
  return res;
}

}  // namespace colossus::plan
