// group.cc: group calls. Between group_start() and group_end() a thread's
// calls are validated and recorded; group_end() runs them together: the
// calls on communicators that share a Link (a communicator and its splits,
// on this rank) as one set of jobs of that Link's executor, and different
// Links on threads of their own, so that one thread can drive several ranks
// of a loopback group in one group.
#include <algorithm>
#include <cstring>
#include <exception>
#include <new>
#include <thread>

#include "colossus/colossus.hpp"
#include "comm/comm_impl.hpp"

namespace colossus {
namespace detail {

namespace {

struct GroupState {
  int depth = 0;
  std::vector<std::pair<std::shared_ptr<CommImpl>, Call>> calls;
};
thread_local GroupState group_state;

std::string nth(std::size_t k) { return "#" + std::to_string(k + 1); }

// Sends of `comm` to itself against its receives from itself, in order.
void copy_self(const CommImpl& comm, const std::vector<const Call*>& sends,
               const std::vector<const Call*>& recvs) {
  if (sends.size() != recvs.size()) {
    throw Error(ErrorCode::InvalidUsage, "group: rank " + std::to_string(comm.rank()) + " posts " +
                                             std::to_string(sends.size()) +
                                             " send(s) to itself but " +
                                             std::to_string(recvs.size()) + " recv(s) from itself");
  }
  for (std::size_t k = 0; k < sends.size(); ++k) {
    const plan::CollArgs &s = sends[k]->args, &r = recvs[k]->args;
    const std::size_t bytes = s.count * dtype_size(s.dtype);
    if (bytes != r.count * dtype_size(r.dtype)) {
      throw Error(ErrorCode::InvalidArgument,
                  "group: rank " + std::to_string(comm.rank()) + "'s send " + nth(k) +
                      " to itself has " + std::to_string(bytes) + " bytes, its recv " + nth(k) +
                      " from itself " + std::to_string(r.count * dtype_size(r.dtype)));
    }
    std::memmove(recvs[k]->recv, sends[k]->send, bytes);
  }
}

}  // namespace

int group_depth() { return group_state.depth; }

void group_record(std::shared_ptr<CommImpl> comm, Call call) {
  group_state.calls.emplace_back(std::move(comm), std::move(call));
}

void CommImpl::run_calls(const std::vector<std::pair<CommImpl*, Call>>& calls) {
  if (calls.empty()) return;
  Link& link = *calls.front().first->link_;
  link.check_usable("group_end");
  std::lock_guard lock(link.mutex);
  link.check_usable("group_end");
  // Self transfers first, per communicator.
  std::vector<CommImpl*> comms;
  for (const auto& [c, call] : calls) {
    if (std::find(comms.begin(), comms.end(), c) == comms.end()) comms.push_back(c);
  }
  for (CommImpl* c : comms) {
    std::vector<const Call*> sends, recvs;
    for (const auto& [owner, call] : calls) {
      if (owner != c || !plan::is_p2p(call.args.coll) || call.args.root != c->rank_ ||
          call.args.count == 0)
        continue;
      (call.args.coll == plan::Collective::Send ? sends : recvs).push_back(&call);
    }
    copy_self(*c, sends, recvs);
  }
  // The rest as jobs. Plans are copied when several calls run: planning a
  // later call may evict an earlier one from its communicator's cache.
  std::vector<plan::Plan> owned;
  std::vector<const plan::Plan*> plans;
  std::vector<const std::pair<CommImpl*, Call>*> runs;
  owned.reserve(calls.size());
  try {
    for (const auto& entry : calls) {
      const auto& [c, call] = entry;
      if (plan::moves_nothing(call.args) ||
          (plan::is_p2p(call.args.coll) && call.args.root == c->rank_))
        continue;
      const plan::Plan& p = c->plan_for(call.args);
      if (calls.size() == 1) {
        plans.push_back(&p);
      } else {
        owned.push_back(p);
        plans.push_back(&owned.back());
      }
      runs.push_back(&entry);
    }
    // Scratch: each job its own region of its communicator's scratch.
    std::vector<std::size_t> offset(runs.size());
    for (CommImpl* c : comms) {
      std::size_t total = 0;
      for (std::size_t j = 0; j < runs.size(); ++j) {
        if (runs[j]->first != c) continue;
        offset[j] = total;
        total += (plans[j]->scratch_count * dtype_size(plans[j]->args.dtype) + 63) / 64 * 64;
      }
      if (c->scratch_.size() < total) c->scratch_.resize(total);
    }
    for (const auto& [c, call] : calls) {
      if (call.pre) run_prescale(*call.pre);  // before any job reads its input
    }
    std::vector<exec::Job> jobs;
    for (std::size_t j = 0; j < runs.size(); ++j) {
      const auto& [c, call] = *runs[j];
      jobs.push_back(
          {plans[j], exec::Buffers{call.send, call.recv, c->scratch_.data() + offset[j]}});
    }
    if (!jobs.empty()) link.executor->run(jobs);
  } catch (const Error& e) {
    link.note_failure(e);
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::SystemError,
                std::string(to_string(calls.front().second.args.coll)) + ": out of memory");
  }
}

double CommImpl::predict_us(const plan::CollArgs& a) {
  if (plan::moves_nothing(a)) return 0;
  std::lock_guard lock(link_->mutex);  // the tuner's caches are the Link's callers'
  if (plan::is_p2p(a.coll)) {
    if (a.root == rank_) return 0;  // to itself: a copy at group end
    const tune::CostModel& m = tuner_.model();
    const bool same_node = layout_.node_of(a.root) == layout_.node_of(rank_);
    const int per_node = layout_.max_per_node();
    const tune::LinkCost& link = same_node ? m.intra : m.inter;
    const double latency = same_node ? m.intra_latency_us(per_node) : link.latency_us;
    return latency + double(a.count * dtype_size(a.dtype)) / (link.gbytes_per_s * 1e3);
  }
  if (a.coll == plan::Collective::AllToAllv) {
    const plan::Plan& p = plan_for(a);  // pairwise: as many dependent steps as it has
    return double(p.num_steps()) * tuner_.model().step_us;
  }
  const tune::Choice choice = tuner_.choose(a);
  if (choice.best.predicted_us > 0) return choice.best.predicted_us;
  // Picked by a fixed rule: the model's time for that pick.
  return tuner_.predict(a, choice.best.algo, choice.best.nchannels, choice.best.chunk_bytes)
      .predicted_us;
}

}  // namespace detail

void group_start() { ++detail::group_state.depth; }

double group_simulate_end() {
  auto& g = detail::group_state;
  if (g.depth == 0) {
    throw Error(ErrorCode::InvalidUsage, "group_simulate_end without a matching group_start");
  }
  if (g.depth > 1) {
    throw Error(ErrorCode::InvalidUsage,
                "group_simulate_end: " + std::to_string(g.depth - 1) +
                    " inner group(s) still open; close them with group_end first");
  }
  g.depth = 0;
  auto recorded = std::move(g.calls);
  g.calls.clear();
  // A group's calls share the ranks' links and loops: their times add up.
  double total_us = 0;
  for (auto& [comm, call] : recorded) total_us += comm->predict_us(call.args);
  return total_us;
}

void group_end() {
  auto& g = detail::group_state;
  if (g.depth == 0) {
    throw Error(ErrorCode::InvalidUsage, "group_end without a matching group_start");
  }
  if (--g.depth > 0) return;
  auto recorded = std::move(g.calls);
  g.calls.clear();
  if (recorded.empty()) return;
  // Per Link, in call order.
  std::vector<std::vector<std::pair<detail::CommImpl*, detail::Call>>> per_link;
  std::vector<const detail::Link*> links;
  for (auto& [comm, call] : recorded) {
    const detail::Link* l = &comm->link();
    std::size_t i = 0;
    while (i < links.size() && links[i] != l) ++i;
    if (i == links.size()) {
      links.push_back(l);
      per_link.emplace_back();
    }
    per_link[i].emplace_back(comm.get(), std::move(call));
  }
  if (per_link.size() == 1) {
    detail::CommImpl::run_calls(per_link.front());
    return;
  }
  std::vector<std::exception_ptr> errors(per_link.size());
  std::vector<std::thread> threads;
  threads.reserve(per_link.size() - 1);
  for (std::size_t i = 1; i < per_link.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        detail::CommImpl::run_calls(per_link[i]);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
  try {
    detail::CommImpl::run_calls(per_link[0]);
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace colossus
