// split.cc: Communicator::split: a communicator per color, on the parent's
// Link (its connections and executor), with a channel space of its own.
//
// Channel spaces: every rank hands out spaces in increasing order (Link::
// next_space). A split gathers each member's next free space and takes the
// largest, so on every member it is larger than any space that member has
// handed out before: two communicators that share a pair of ranks never
// share a space, and their messages never meet on one stream.
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
  int proposal = 0;
  {
    std::lock_guard lock(link_->mutex);
    proposal = link_->next_space;
  }
  const std::int64_t mine[3] = {color, key, proposal};
  std::vector<std::int64_t> all(3 * static_cast<std::size_t>(nranks_));
  collective(make_args(plan::Collective::AllGather, 3, DataType::Int64, ReduceOp::Sum, 0, nranks_),
             mine, all.data());
  if (color < 0) return nullptr;
  std::vector<int> members;
  std::int64_t space = 0;
  for (int r = 0; r < nranks_; ++r) {
    const std::int64_t* e = &all[3 * static_cast<std::size_t>(r)];
    if (e[0] != color) continue;
    members.push_back(r);
    space = std::max(space, e[2]);
  }
  std::stable_sort(members.begin(), members.end(), [&](int x, int y) {
    return all[3 * static_cast<std::size_t>(x) + 1] < all[3 * static_cast<std::size_t>(y) + 1];
  });
  if (space >= Link::kMaxSpaces) {
    throw Error(ErrorCode::InvalidUsage, "split: this rank has run out of channel spaces (" +
                                             std::to_string(space) + " communicators)");
  }
  {
    std::lock_guard lock(link_->mutex);
    link_->next_space = std::max(link_->next_space, static_cast<int>(space) + 1);
  }
  const int me =
      static_cast<int>(std::find(members.begin(), members.end(), rank_) - members.begin());
  if (rank_ == 0 || me == 0) {
    CLOG(Info) << "split color " << color << ": " << members.size() << " ranks, channel space "
               << space;
  }
  return std::make_shared<CommImpl>(*this, me, members, static_cast<int>(space));
}

}  // namespace colossus::detail
