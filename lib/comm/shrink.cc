// shrink.cc: Communicator::shrink: the survivors of a communicator, as a
// new one, without the excluded ranks and without a new unique id.
//
// The new communicator is built from scratch, as init() builds one: a
// fresh bootstrap, fresh transports, a fresh watch. Nothing of the old
// connections is reused: after a failure their streams may hold the halves
// of interrupted messages, and the dead ranks' ends are gone.
//
// Where the survivors meet: every rank of a job in processes opened a
// spare listener at init and every rank knows every rank's (Link::spares).
// The lowest surviving rank is the new rank 0; its spare, with a secret
// derived from the job's, the shrink's sequence number and the survivors,
// is the new unique id, which every survivor computes alike. Ranks of a
// loopback group meet in a process-wide table instead.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include "base/logging.hpp"
#include "comm/comm_impl.hpp"
#include "transports/loopback/loopback.hpp"

namespace colossus {
namespace detail {

namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

// Loopback groups: the survivors' new transports, made by the first to
// arrive and taken by each by its new rank.
struct LocalMeeting {
  std::vector<std::unique_ptr<transport::Transport>> transports;
  std::shared_ptr<base::FailureState> failure = std::make_shared<base::FailureState>();
  int taken = 0;
};
std::mutex meetings_mu;
std::map<std::pair<uint64_t, uint64_t>, LocalMeeting> meetings;

}  // namespace

std::shared_ptr<CommImpl> CommImpl::shrink(const std::vector<int>& exclude, ShrinkMode mode) {
  if (group_depth() > 0) {
    throw Error(ErrorCode::InvalidUsage, "shrink inside a group: call it outside group_start/end");
  }
  std::vector<bool> out(static_cast<std::size_t>(nranks_), false);
  for (const int r : exclude) {
    if (r < 0 || r >= nranks_) {
      throw Error(ErrorCode::InvalidArgument, "shrink: rank " + std::to_string(r) +
                                                  " to exclude is not a rank of this " +
                                                  std::to_string(nranks_) + "-rank communicator");
    }
    out[static_cast<std::size_t>(r)] = true;
  }
  if (out[static_cast<std::size_t>(rank_)]) {
    throw Error(ErrorCode::InvalidArgument, "shrink: rank " + std::to_string(rank_) +
                                                " is excluded, so it must not call shrink");
  }
  std::vector<int> survivors;
  for (int r = 0; r < nranks_; ++r)
    if (!out[static_cast<std::size_t>(r)]) survivors.push_back(r);
  const int me =
      static_cast<int>(std::find(survivors.begin(), survivors.end(), rank_) - survivors.begin());
  const int m = static_cast<int>(survivors.size());
  auto root_of = [&](int r) {
    return to_root_.empty() ? r : to_root_[static_cast<std::size_t>(r)];
  };

  if (mode == ShrinkMode::Abort) abort();
  const int epoch = ++shrinks_;
  uint64_t key = mix(static_cast<uint64_t>(epoch), static_cast<uint64_t>(channel_base_));
  for (const int r : survivors) key = mix(key, static_cast<uint64_t>(root_of(r)));
  if (me == 0) {
    CLOG_SUB(Info, Init) << "shrink #" << epoch << ": " << m << " of " << nranks_
                         << " ranks go on (" << exclude.size() << " excluded)"
                         << (mode == ShrinkMode::Abort ? ", parent aborted" : "");
  }

  Settings settings = settings_;
  settings.blocking = true;  // the caller's thread builds it (shrink is blocking)
  if (!link_->spares.empty()) {
    const bootstrap::UniqueId& spare =
        link_->spares[static_cast<std::size_t>(root_of(survivors[0]))];
    const bootstrap::UniqueId id = bootstrap::with_secret(spare, mix(spare.secret, key));
    return build_comm(id, me, m, settings);
  }
  if (link_->local_group == 0) {
    throw Error(ErrorCode::InvalidUsage,
                "shrink: this communicator's ranks were not made by init() or loopback_group(): "
                "they have no place to meet");
  }
  std::unique_ptr<transport::Transport> t;
  std::shared_ptr<base::FailureState> failure;
  {
    std::lock_guard lock(meetings_mu);
    LocalMeeting& meet = meetings[{link_->local_group, key}];
    if (meet.transports.empty())
      meet.transports =
          transport::make_loopback_transports(m, settings.slot_bytes, settings.fifo_depth);
    t = std::move(meet.transports[static_cast<std::size_t>(me)]);
    failure = meet.failure;
    if (++meet.taken == m) meetings.erase({link_->local_group, key});
  }
  auto impl = std::make_shared<CommImpl>(std::move(t), settings, restrict_layout(survivors),
                                         tuner_.model());
  impl->link_->local_group = new_local_group();
  impl->link_->use_failure_state(std::move(failure));
  return impl;
}

}  // namespace detail

Communicator Communicator::shrink(const std::vector<int>& exclude, ShrinkMode mode) const {
  return detail::CommAccess::wrap(impl("shrink").shrink(exclude, mode));
}

}  // namespace colossus
