// verifier_p2p.cc: verify_p2p(): pairs a group's sends with its recvs, runs
// every rank's Plans together and checks that each recv got its send.
//
// Each Plan (an "op") is a job with buffers of its own, and each Send op's
// input is a symbol of its own (source = the job's index), so that a recv
// holding another send's data, or a mix, shows which send it came from.
#include <map>
#include <utility>

#include "plan/verifier.hpp"
#include "plan/verifier_internal.hpp"

namespace colossus::plan {

namespace {

using detail::Job;
using detail::range;

// "rank 2 op 1 (send of 7 float32 to rank 0)"
std::string describe_op(const Job& job) {
  const CollArgs& a = job.plan->args;
  const bool send = a.coll == Collective::Send;
  return job.who + " (" + (send ? "send" : "recv") + " of " + std::to_string(a.count) + " " +
         std::string(to_string(a.dtype)) + (send ? " to rank " : " from rank ") +
         std::to_string(a.root) + ")";
}

// A Plan must be one side of a transfer this rank makes with another rank.
std::string check_header(int nranks, int rank, std::size_t op, const Plan& p) {
  const std::string who = "rank " + std::to_string(rank) + " op " + std::to_string(op);
  if (p.rank != rank) {
    return "plans_of(" + std::to_string(rank) + ") returned, as op " + std::to_string(op) +
           ", a plan for rank " + std::to_string(p.rank);
  }
  if (!is_p2p(p.args.coll)) {
    return who + " is a Plan for " + std::string(to_string(p.args.coll)) +
           ": verify_p2p takes send and recv Plans (verify() takes collectives)";
  }
  if (p.args.nranks != nranks) {
    return who + " was made for " + std::to_string(p.args.nranks) + " ranks, not " +
           std::to_string(nranks);
  }
  const int peer = p.args.root;
  if (peer < 0 || peer >= nranks) {
    return who + " names peer " + std::to_string(peer) + ", which is not a rank of the " +
           std::to_string(nranks) + "-rank world";
  }
  if (peer == rank) {
    return who +
           " names its own rank as its peer: a transfer to oneself is a local copy, "
           "not a Plan";
  }
  return "";
}

// Pairs the k-th send from r to p with p's k-th recv from r. Fills
// `paired_send` (per job: for a recv, the job index of its send).
std::string pair_ops(const std::vector<Job>& jobs, std::vector<std::size_t>& paired_send) {
  std::map<std::pair<int, int>, std::vector<std::size_t>> sends, recvs;  // (from, to) -> jobs
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const Plan& p = *jobs[j].plan;
    if (p.args.coll == Collective::Send) {
      sends[{p.rank, p.args.root}].push_back(j);
    } else {
      recvs[{p.args.root, p.rank}].push_back(j);
    }
  }
  for (const auto& [from_to, ss] : sends) {
    const auto it = recvs.find(from_to);
    const std::size_t nr = it == recvs.end() ? 0 : it->second.size();
    const std::string edge =
        "rank " + std::to_string(from_to.first) + " to rank " + std::to_string(from_to.second);
    for (std::size_t k = 0; k < ss.size() && k < nr; ++k) {
      const Job& s = jobs[ss[k]];
      const Job& r = jobs[it->second[k]];
      if (s.plan->args.count != r.plan->args.count || s.plan->args.dtype != r.plan->args.dtype) {
        return describe_op(s) + " and " + describe_op(r) + " are transfer #" +
               std::to_string(k + 1) + " from " + edge + ", so they pair, but their " +
               (s.plan->args.count != r.plan->args.count ? "element counts" : "data types") +
               " differ";
      }
      paired_send[it->second[k]] = ss[k];
    }
    if (ss.size() > nr) {
      return describe_op(jobs[ss[nr]]) + " is unmatched: rank " + std::to_string(from_to.second) +
             " posts " + std::to_string(nr) + " recv(s) from rank " +
             std::to_string(from_to.first) + " for its " + std::to_string(ss.size()) + " send(s)";
    }
  }
  for (const auto& [from_to, rs] : recvs) {
    const auto it = sends.find(from_to);
    const std::size_t ns = it == sends.end() ? 0 : it->second.size();
    if (rs.size() > ns) {
      return describe_op(jobs[rs[ns]]) + " is unmatched: rank " + std::to_string(from_to.first) +
             " posts " + std::to_string(ns) + " send(s) to rank " + std::to_string(from_to.second) +
             " for its " + std::to_string(rs.size()) + " recv(s)";
    }
  }
  return "";
}

// "rank 0 op 2's send[4,8)", or what a run holds when it is no one send's data.
std::string describe_source(const std::vector<Job>& jobs, const Run& r) {
  const auto b = static_cast<int64_t>(r.begin) + r.value.shift;
  const auto e = static_cast<int64_t>(r.end) + r.value.shift;
  const std::string elements = "[" + std::to_string(b) + "," + std::to_string(e) + ")";
  std::string s;
  if (r.value.ranks.size() == 1) {
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      if (r.value.ranks.contains(static_cast<int>(j))) s = jobs[j].who + "'s send" + elements;
    }
  } else {
    s = "a reduction of " + std::to_string(r.value.ranks.size()) + " sends' elements " + elements;
  }
  return r.value.finalized ? s + ", finalized" : s;
}

// The recv job `j`'s buffer must hold exactly its paired send's buffer.
std::string check_recv(const std::vector<Job>& jobs, std::size_t j, std::size_t send,
                       const detail::RankMemory& memory) {
  const Job& job = jobs[j];
  const detail::Placement& p = job.layout.recv;
  Runs runs;
  IntervalMap::Gap gap;
  if (!memory[p.arena].read(p.base, p.size, &runs, &gap)) {
    return describe_op(job) + ": recv" + range(gap.begin - p.base, gap.end - p.base) +
           " is never written";
  }
  const Value want{RankSet::single(static_cast<int>(jobs.size()), static_cast<int>(send)), 0,
                   false};
  for (const Run& r : runs) {
    if (r.value == want) continue;
    return describe_op(job) + ": recv" + range(r.begin, r.end) + " holds " +
           describe_source(jobs, r) + " but must hold send" + range(r.begin, r.end) +
           " of its paired " + describe_op(jobs[send]);
  }
  return "";
}

}  // namespace

VerifyResult verify_p2p(int nranks, const std::function<std::vector<Plan>(int rank)>& plans_of,
                        const VerifyOptions& options) {
  VerifyResult res;
  if (nranks < 1) {
    res.error = "nranks must be at least 1";
  } else if (options.fifo_depth == 0) {
    res.error = "fifo_depth must be at least 1";
  } else if (options.in_place) {
    res.error = "in_place has no meaning for send and recv";
  }
  if (!res.error.empty()) return res;

  std::vector<Plan> plans;
  std::vector<Job> jobs;
  for (int r = 0; r < nranks; ++r) {
    std::vector<Plan> mine = plans_of(r);
    for (std::size_t k = 0; k < mine.size(); ++k) {
      res.error = check_header(nranks, r, k, mine[k]);
      if (!res.error.empty()) return res;
      const std::string who = "rank " + std::to_string(r) + " op " + std::to_string(k);
      const Plan& p = mine[k];
      detail::RankLayout layout = detail::make_layout(p.args, r, p.scratch_count, false);
      res.error = detail::check_steps(p, layout, who);
      if (res.error.empty()) res.error = detail::check_channel_independence(p, layout, who);
      if (!res.error.empty()) return res;
      // Each send's input is a symbol of its own: the job's index.
      const int source = p.args.coll == Collective::Send ? static_cast<int>(jobs.size()) : -1;
      jobs.push_back({nullptr, layout, source, who});
      plans.push_back(std::move(mine[k]));
    }
  }
  for (std::size_t j = 0; j < jobs.size(); ++j) jobs[j].plan = &plans[j];

  std::vector<std::size_t> paired_send(jobs.size(), 0);
  res.error = pair_ops(jobs, paired_send);
  if (!res.error.empty()) return res;

  std::vector<detail::RankMemory> memory(jobs.size());
  const detail::ExecResult ex =
      detail::execute(jobs, nranks, static_cast<int>(jobs.size()), options, memory);
  res.steps = ex.steps;
  res.messages = ex.messages;
  res.error = ex.error;
  for (std::size_t j = 0; j < jobs.size() && res.error.empty(); ++j) {
    if (plans[j].args.coll == Collective::Recv) {
      res.error = check_recv(jobs, j, paired_send[j], memory[j]);
    }
  }
  res.ok = res.error.empty();
  return res;
}

}  // namespace colossus::plan
