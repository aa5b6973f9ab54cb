// lanes.cc: a group's lanes and what blocks them (see lanes.hpp).
#include "exec/lanes.hpp"

#include <algorithm>
#include <map>
#include <sstream>
#include <thread>
#include <tuple>

#include "colossus/error.hpp"

namespace colossus::exec {

using plan::Step;

std::string where(const plan::Plan& p, int channel, std::size_t step) {
  std::ostringstream os;
  os << "rank " << p.rank << " " << to_string(p.args.coll) << " (" << p.algorithm << ") channel "
     << channel << " step " << step << " (";
  if (step < p.channels[static_cast<std::size_t>(channel)].steps.size()) {
    os << describe(p.channels[static_cast<std::size_t>(channel)].steps[step]);
  }
  os << ")";
  return os.str();
}

// Every non-empty channel of every job, with the lanes of earlier jobs each
// must wait for: per stream (direction, peer, transport channel), the last
// earlier lane that used it.
std::vector<Executor::ChannelRun> Executor::lanes_of(const std::vector<Job>& jobs) {
  std::vector<ChannelRun> lanes;
  std::map<std::tuple<bool, int, int>, std::size_t> last_user;  // stream -> lane
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const plan::Plan& plan = *jobs[j].plan;
    connect(plan);
    const std::size_t esize = dtype_size(plan.args.dtype);
    const std::size_t first = lanes.size();
    for (std::size_t c = 0; c < plan.channels.size(); ++c) {
      if (plan.channels[c].steps.empty()) continue;
      ChannelRun ch;
      ch.channel = static_cast<int>(c);
      ch.conn = plan.channel_base + static_cast<int>(c);
      ch.eps = &endpoints(ch.conn);
      ch.steps = &plan.channels[c].steps;
      ch.plan = &plan;
      ch.buffers = &jobs[j].buffers;
      // Posting pays where the receiver copies the message once, straight
      // into place: the exchanges. A receiver that reduces or forwards would
      // read it into a staging piece, and the kernel's read is slower than
      // a memcpy from cache (2x slower 2-process allreduce, measured). In
      // place, the send buffer is also written: only copies leave it.
      ch.post_sends =
          plan::is_exchange(plan.args.coll) && jobs[j].buffers.send != jobs[j].buffers.recv;
      ch.esize = esize;
      ch.piece = std::max<std::size_t>(1, piece_bytes_ / esize);
      lanes.push_back(std::move(ch));
    }
    if (jobs.size() == 1) break;  // one job: no lane waits for another
    std::map<std::tuple<bool, int, int>, std::size_t> mine;
    for (std::size_t l = first; l < lanes.size(); ++l) {
      std::vector<std::size_t> before;
      for (const Step& s : *lanes[l].steps) {
        std::tuple<bool, int, int> keys[2] = {{true, s.send_peer, lanes[l].conn},
                                              {false, s.recv_peer, lanes[l].conn}};
        for (int d = 0; d < 2; ++d) {
          if (d == 0 ? !plan::sends(s.kind) : !plan::receives(s.kind)) continue;
          mine[keys[d]] = l;
          if (auto it = last_user.find(keys[d]); it != last_user.end())
            before.push_back(it->second);
        }
      }
      std::sort(before.begin(), before.end());
      before.erase(std::unique(before.begin(), before.end()), before.end());
      for (const std::size_t b : before) lanes[b].dependents.push_back(l);
      lanes[l].waits = static_cast<int>(before.size());
    }
    for (const auto& [key, lane] : mine) last_user[key] = lane;
  }
  return lanes;
}

void Executor::fail_timeout(const std::vector<ChannelRun>& channels) const {
  std::ostringstream os;
  os << "no progress for " << timeout_s_ << " s (COLOSSUS_TIMEOUT_S):";
  for (const auto& [peer, ep] : posted_) {
    os << "\n  every step done, waiting for rank " << peer
       << " to read the data this rank sent it by reference";
  }
  for (const ChannelRun& ch : channels) {
    if (ch.finished()) continue;
    const Step& s = (*ch.steps)[ch.step];
    os << "\n  " << where(*ch.plan, ch.channel, ch.step) << ", " << ch.done << "/" << s.count()
       << " elements done, waiting for ";
    if (ch.waits > 0) {
      os << "an earlier operation of its group to finish with the same peer";
    } else if (ch.blocked_on_send) {
      os << "a free slot towards rank " << s.send_peer << " (it is not receiving)";
    } else {
      os << "a message from rank " << s.recv_peer;
    }
  }
  throw Error(ErrorCode::Timeout, os.str());
}

}  // namespace colossus::exec

namespace colossus::exec {

void Executor::fail_interrupted(const std::vector<ChannelRun>& channels) const {
  std::string at = "rank " + std::to_string(transport_.rank());
  for (const ChannelRun& ch : channels) {
    if (ch.finished()) continue;
    at = where(*ch.plan, ch.channel, ch.step) + ", " + std::to_string(ch.done) + "/" +
         std::to_string((*ch.steps)[ch.step].count()) + " elements done";
    break;
  }
  throw failure_->error_for(transport_.rank(), at);
}

// The rank whose connection dropped is often not the one that failed: a
// neighbour that stopped because its own neighbour died, say. Where a watch
// spreads notices, the root cause usually arrives within milliseconds of
// the drop (the dead process's bootstrap connection closes at the same
// moment), so wait for it a little before blaming the neighbour.
void Executor::fail_peer(int peer, const std::string& what) {
  if (failure_ && failure_->expects_notices()) {
    const auto until = transport::Clock::now() + std::chrono::seconds(1);
    while (!failure_->raised() && transport::Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (failure_ && failure_->raised()) throw failure_->error_for(transport_.rank(), what);
  lost_peer_ = peer;
  throw Error(ErrorCode::RemoteError, what);
}

}  // namespace colossus::exec
