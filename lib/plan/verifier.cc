// verifier.cc: verify(): gathers the plans, runs the checks in order and
// compares every output element with what the collective defines.
#include "plan/verifier.hpp"

#include <algorithm>

#include "plan/verifier_internal.hpp"

namespace colossus::plan {

namespace {

using detail::range;

bool rooted(Collective c) { return is_rooted(c); }
bool reducing(Collective c) { return is_reducing(c); }

std::string check_args(const CollArgs& a, const VerifyOptions& o) {
  if (a.nranks < 1) return "nranks must be at least 1";
  if (static_cast<int>(a.coll) >= kNumCollectives) return "unknown collective";
  if (rooted(a.coll) && (a.root < 0 || a.root >= a.nranks)) return "root out of range";
  if (o.fifo_depth == 0) return "fifo_depth must be at least 1";
  return "";
}

// A plan must be for the call and rank it was asked for.
std::string check_header(const CollArgs& a, int rank, const Plan& p) {
  const CollArgs& b = p.args;
  if (p.rank != rank) {
    return "plan_of(" + std::to_string(rank) + ") returned a plan for rank " +
           std::to_string(p.rank);
  }
  if (b.coll != a.coll || b.count != a.count || b.dtype != a.dtype || b.nranks != a.nranks ||
      (reducing(a.coll) && b.op != a.op) || (rooted(a.coll) && b.root != a.root)) {
    return "rank " + std::to_string(rank) + "'s plan was made for different call arguments";
  }
  return "";
}

// What element `pos` of `rank`'s recv buffer must hold, and up to where the
// same expectation continues (allgather changes it at each block boundary).
Value expected(const CollArgs& a, int rank, std::size_t pos, std::size_t* until) {
  const int n = a.nranks;
  *until = recv_count(a);
  switch (a.coll) {
    case Collective::AllReduce:
    case Collective::Reduce: return {RankSet::all(n), 0, true};
    case Collective::ReduceScatter:
      return {RankSet::all(n), static_cast<int64_t>(static_cast<std::size_t>(rank) * a.count),
              true};
    case Collective::Broadcast: return {RankSet::single(n, a.root), 0, false};
    case Collective::AllGather: {
      const std::size_t q = pos / a.count;
      *until = (q + 1) * a.count;
      return {RankSet::single(n, static_cast<int>(q)), -static_cast<int64_t>(q * a.count), false};
    }
    default: break;  // not yet verified here
  }
  return {};
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

std::string check_outputs(const CollArgs& a, int rank, const detail::RankLayout& layout,
                          const detail::RankMemory& memory) {
  if (a.coll == Collective::Reduce && rank != a.root) return "";  // non-roots have no output
  const std::string who = "rank " + std::to_string(rank) + " ";
  Runs runs;
  IntervalMap::Gap gap;
  const detail::Placement& p = layout.recv;
  if (!memory[p.arena].read(p.base, p.size, &runs, &gap)) {
    return who + "recv" + range(gap.begin - p.base, gap.end - p.base) +
           " is never written: output missing";
  }
  for (const Run& r : runs) {
    for (std::size_t pos = r.begin; pos < r.end;) {
      std::size_t until = 0;
      const Value want = expected(a, rank, pos, &until);
      const Run piece{pos, std::min(r.end, until), r.value};
      if (!(piece.value == want)) {
        return who + "recv" + range(piece.begin, piece.end) + " (" + describe(piece) + ") " +
               mismatch(a, piece, want);
      }
      pos = piece.end;
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
  std::vector<detail::RankLayout> layouts;
  plans.reserve(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) {
    plans.push_back(plan_of(r));
    layouts.push_back(detail::make_layout(args, r, plans.back().scratch_count, options.in_place));
    res.error = check_header(args, r, plans.back());
    if (res.error.empty()) res.error = detail::check_steps(args, plans.back(), layouts.back());
    if (res.error.empty()) {
      res.error = detail::check_channel_independence(plans.back(), layouts.back());
    }
    if (!res.error.empty()) return res;
  }

  std::vector<detail::RankMemory> memory(static_cast<std::size_t>(n));
  const detail::ExecResult ex = detail::execute(args, plans, layouts, options, memory);
  res.steps = ex.steps;
  res.messages = ex.messages;
  res.error = ex.error;
  for (int r = 0; r < n && res.error.empty(); ++r) {
    res.error = check_outputs(args, r, layouts[r], memory[r]);
  }
  res.ok = res.error.empty();
  return res;
}

}  // namespace colossus::plan
