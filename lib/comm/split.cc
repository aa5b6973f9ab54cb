// split.cc: Communicator::split: a communicator per color, on the parent's
// Link (its connections and executor), with a channel space of its own.
//
// Channel spaces: two communicators that share a pair of ranks must never
// share a space, or their messages would meet on one stream. Every rank
// knows which spaces it uses: those below Link::next_space that are not in
// Link::free_spaces (a destroyed split's space goes there). A split gathers
// each member's next_space and its lowest free spaces and takes the
// smallest space free on every member: reused when it can be (and with it
// the connections the executor keeps for it), so that splitting and
// destroying again and again neither runs out of spaces nor opens sockets
// and shared memory without end; a fresh one (the largest next_space)
// otherwise.
#include <algorithm>
#include <cstdint>

#include "base/logging.hpp"
#include "comm/comm_impl.hpp"

namespace colossus::detail {

std::shared_ptr<CommImpl> CommImpl::split(int color, int key) {
  if (group_depth() > 0) {
    throw Error(ErrorCode::InvalidUsage, "split inside a group: call it outside group_start/end");
  }
  if (device_) {
    throw Error(ErrorCode::InvalidUsage,
                "split of a communicator bound to a CUDA device is not implemented yet");
  }
  std::lock_guard split_lock(link_->split_mutex);  // one split at a time per rank's Link
  // Per rank: color, key, next_space, then up to kListed free spaces (-1 pads).
  constexpr std::size_t kListed = 16, kRec = 3 + kListed;
  std::vector<std::int64_t> mine(kRec, -1);
  mine[0] = color;
  mine[1] = key;
  {
    std::lock_guard lock(link_->mutex);
    mine[2] = link_->next_space;
    std::size_t i = 3;
    for (auto it = link_->free_spaces.begin(); it != link_->free_spaces.end() && i < kRec; ++it)
      mine[i++] = *it;
  }
  std::vector<std::int64_t> all(kRec * static_cast<std::size_t>(nranks_));
  collective(
      make_args(plan::Collective::AllGather, kRec, DataType::Int64, ReduceOp::Sum, 0, nranks_),
      mine.data(), all.data());
  if (color < 0) return nullptr;
  auto rec = [&](int r) { return &all[kRec * static_cast<std::size_t>(r)]; };
  std::vector<int> members;
  std::int64_t space = 0;  // fresh: the largest next_space
  std::vector<std::int64_t> candidates;
  for (int r = 0; r < nranks_; ++r) {
    if (rec(r)[0] != color) continue;
    members.push_back(r);
    space = std::max(space, rec(r)[2]);
    for (std::size_t i = 3; i < kRec && rec(r)[i] >= 0; ++i) candidates.push_back(rec(r)[i]);
  }
  auto free_on = [&](int r, std::int64_t s) {
    if (s >= rec(r)[2]) return true;
    for (std::size_t i = 3; i < kRec && rec(r)[i] >= 0; ++i) {
      if (rec(r)[i] == s) return true;
    }
    return false;
  };
  std::sort(candidates.begin(), candidates.end());
  for (const std::int64_t c : candidates) {
    if (std::all_of(members.begin(), members.end(), [&](int r) { return free_on(r, c); })) {
      space = c;
      break;
    }
  }
  std::stable_sort(members.begin(), members.end(),
                   [&](int x, int y) { return rec(x)[1] < rec(y)[1]; });
  if (space >= Link::kMaxSpaces) {
    throw Error(ErrorCode::InvalidUsage, "split: this rank has run out of channel spaces (" +
                                             std::to_string(Link::kMaxSpaces) +
                                             " communicators alive at once)");
  }
  {
    std::lock_guard lock(link_->mutex);
    link_->free_spaces.erase(static_cast<int>(space));
    for (int s = link_->next_space; s < space; ++s) link_->free_spaces.insert(s);
    link_->next_space = std::max(link_->next_space, static_cast<int>(space) + 1);
  }
  const int me =
      static_cast<int>(std::find(members.begin(), members.end(), rank_) - members.begin());
  if (rank_ == 0 || me == 0) {
    CLOG_SUB(Info, Init) << "split color " << color << ": " << members.size()
                         << " ranks, channel space " << space;
  }
  return std::make_shared<CommImpl>(*this, me, members, static_cast<int>(space));
}

}  // namespace colossus::detail
