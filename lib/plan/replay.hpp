// replay.hpp: the one walker of Plan replay, with in-order matching and folding.
//
// Replaying a collective means running every rank's Plans together: each
// (rank, channel) is a lane that runs its steps in order, and a step that
// receives takes the next message of the stream (sender, receiver, channel)
// in FIFO order, as the executor does. This walker owns exactly that: the
// lanes and their cursors, the streams, in-order matching, and parking a
// lane whose message has not been sent yet until it is. What a message
// carries and when a step may fire is the caller's policy:
//
//   - tune::plan_traffic's critical path: a message carries the time its
//     send ended and the hops behind it; a step fires as soon as its message
//     is there (latency-only virtual time, run_in_order() below);
//   - sim::simulate's discrete-event engine: a message carries its arrival
//     time; the engine decides when a lane is advanced (flows over the
//     Fabric, step costs) and asks the walker for the next message.
//
// Streams are unbounded: the tuner and the simulator model unbounded FIFOs
// (a Plan verified at FIFO depth d cannot deadlock with more slots). The
// symbolic verifier (verifier_exec.cc) runs its own scheduler, which says why.
//
// Folding: the walker holds the Plans of some ranks (slots) only. A slot's
// receive from `peer` reads the stream that the caller's SourceOf names: the
// held slot standing for the sender, and the receiver as that slot's Plan
// names it (algorithms/symmetry.hpp's rep() and unapply()). A sending step
// appends to the stream (its slot, its send_peer, its channel). Unfolded,
// slot s holds rank s and a receive from p reads stream (p, me).
//
// Cost: O(1) per step and message (hash lookups are cached per lane and
// peer); memory: every message sent, until the walker is destroyed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "plan/plan.hpp"

namespace colossus::plan {

// The stream a held rank's receive reads: the slot of the sender's Plan and
// the receiver as that Plan names it.
struct StreamSource {
  int sender_slot = 0;
  int to = 0;
};
// (held rank `me`, its receive's peer) -> the stream it reads.
using SourceOf = std::function<StreamSource(int me, int peer)>;

template <class Msg>
class Replay {
 public:
  struct Lane {
    int slot = 0, channel = 0;
    const Step* steps = nullptr;  // the slot's channel (the Plans outlive the walker)
    std::size_t nsteps = 0;
    std::size_t pc = 0;  // the step to run next
    bool done() const { return pc == nsteps; }
    const Step& step() const { return steps[pc]; }
  };

  // Lanes slot-major: lane id = sum of the channels of the slots before + channel.
  // `plans[s]` is slot s's Plan, of rank plans[s].rank.
  Replay(const std::vector<Plan>& plans, SourceOf source)
      : plans_(plans), source_(std::move(source)) {
    for (std::size_t s = 0; s < plans.size(); ++s) {
      for (std::size_t c = 0; c < plans[s].channels.size(); ++c) {
        const auto& steps = plans[s].channels[c].steps;
        lanes_.push_back(
            Lane{static_cast<int>(s), static_cast<int>(c), steps.data(), steps.size()});
      }
    }
    reads_.resize(lanes_.size());
    sent_.assign(lanes_.size(), SentTo{});
    streams_.reserve(lanes_.size() * 2);
  }

  int num_lanes() const { return static_cast<int>(lanes_.size()); }
  const Lane& lane(int id) const { return lanes_[static_cast<std::size_t>(id)]; }
  int rank_of(int id) const { return plans_[static_cast<std::size_t>(lane(id).slot)].rank; }

  // The message the lane's current (receiving) step matches: the next one of
  // its stream not yet taken. nullptr when it has not been sent: the lane is
  // then recorded as waiting, and send() of that message names it.
  const Msg* incoming(int id) {
    Read& r = read_of(id);
    if (r.taken < r.stream->msgs.size()) return &r.stream->msgs[r.taken];
    r.stream->waiters.emplace_back(id, r.taken);
    return nullptr;
  }
  // Takes the message incoming() returned: the next receive matches the next one.
  void take(int id) { ++read_of(id).taken; }

  // Appends the current step's message to its stream (slot, send_peer,
  // channel) and calls on_sent(lane, msg) for each lane that was waiting for it.
  template <class OnSent>
  void send(int id, Msg m, OnSent&& on_sent) {
    const Lane& l = lane(id);
    SentTo& out = sent_[static_cast<std::size_t>(id)];
    const int to = l.step().send_peer;
    if (out.stream == nullptr || out.to != to)
      out = SentTo{to, &streams_[key(l.slot, to, l.channel)]};
    Stream& st = *out.stream;
    st.msgs.push_back(std::move(m));
    const std::size_t k = st.msgs.size() - 1;
    for (std::size_t w = 0; w < st.waiters.size();) {
      if (st.waiters[w].second == k) {
        const int waiter = st.waiters[w].first;
        st.waiters[w] = st.waiters.back();
        st.waiters.pop_back();
        on_sent(waiter, st.msgs[k]);
      } else {
        ++w;
      }
    }
  }

  // The lane's step is done: the next one is current.
  void next(int id) { ++lanes_[static_cast<std::size_t>(id)].pc; }

  // Lanes with steps left.
  std::size_t unfinished() const {
    std::size_t n = 0;
    for (const Lane& l : lanes_) n += l.done() ? 0 : 1;
    return n;
  }

 private:
  struct Stream {
    std::vector<Msg> msgs;
    std::vector<std::pair<int, std::size_t>> waiters;  // (lane, message index)
  };
  struct Read {
    int peer;
    std::size_t taken;  // messages matched so far
    Stream* stream;     // stable: the map is node-based
  };
  struct SentTo {
    int to = -1;
    Stream* stream = nullptr;
  };

  static std::uint64_t key(int slot, int to, int channel) {
    return (std::uint64_t(slot) << 40) | (std::uint64_t(to) << 8) | std::uint64_t(channel);
  }
  Read& read_of(int id) {
    const Lane& l = lane(id);
    const int peer = l.step().recv_peer;
    auto& reads = reads_[static_cast<std::size_t>(id)];
    for (Read& r : reads) {
      if (r.peer == peer) return r;
    }
    const StreamSource src = source_(rank_of(id), peer);
    return reads.emplace_back(Read{peer, 0, &streams_[key(src.sender_slot, src.to, l.channel)]});
  }

  const std::vector<Plan>& plans_;
  SourceOf source_;
  std::vector<Lane> lanes_;
  std::vector<std::vector<Read>> reads_;  // per lane, one per peer it receives from
  std::vector<SentTo> sent_;              // per lane, the stream it last sent on
  std::unordered_map<std::uint64_t, Stream> streams_;
};

// Unfolded: slot s holds rank s.
inline SourceOf unfolded_source() {
  return [](int me, int peer) { return StreamSource{peer, me}; };
}

// Runs every lane to its end, lanes served first come, first served: a lane
// runs until its step's message has not been sent, parks, and resumes when
// it is. fire(lane id, step, const Msg* in) is called once per step, in each
// lane's order (in: the matched message, null for a step that does not
// receive) and returns the message the step sends (ignored if it sends
// none). For a policy where a message's contents depend only on the steps
// before it (latency-only time, symbolic values), the result does not depend
// on the interleaving. Returns the number of lanes left unfinished: a
// receive whose message is never sent.
template <class Msg, class Fire>
std::size_t run_in_order(Replay<Msg>& replay, Fire&& fire) {
  std::vector<int> ready;
  for (int id = replay.num_lanes() - 1; id >= 0; --id) ready.push_back(id);
  auto wake = [&](int waiter, const Msg&) { ready.push_back(waiter); };
  while (!ready.empty()) {
    const int id = ready.back();
    ready.pop_back();
    while (!replay.lane(id).done()) {
      const Step& s = replay.lane(id).step();
      const Msg* in = nullptr;
      if (receives(s.kind)) {
        if ((in = replay.incoming(id)) == nullptr) break;  // parked until sent
        replay.take(id);
      }
      Msg out = fire(id, s, in);
      if (sends(s.kind)) replay.send(id, std::move(out), wake);
      replay.next(id);
    }
  }
  return replay.unfinished();
}

}  // namespace colossus::plan
