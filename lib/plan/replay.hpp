// replay.hpp: the one walker of Plan replay, with in-order matching and folding.
//
// Replaying a call means running every rank's Plans together: each
// (Plan, channel) is a lane that runs its steps in order, and a step that
// receives takes the next message of the stream (sender, receiver,
// transport channel) in FIFO order, as the executor does. A Plan's channel c
// travels on transport channel channel_base + c (plan.hpp), so a
// point-to-point Plan never matches a collective's messages between the
// same two ranks. This walker owns exactly that: the lanes and their
// cursors, the streams, in-order matching, and parking a lane whose message
// has not been sent yet until it is. What a message carries and when a step
// may fire is the caller's policy:
//
//   - tune::plan_traffic's critical path: a message carries the time its
//     send ended and the hops behind it; a step fires as soon as its message
//     is there (latency-only virtual time, run_in_order() below);
//   - sim::simulate's discrete-event engine: a message carries its arrival
//     time; the engine decides when a lane is advanced (flows over the
//     Fabric, step costs) and asks the walker for the next message.
//
// Groups: a rank may hold several Plans (the operations of one group, in
// job order: Executor::run(jobs)). As the executor does, a lane whose
// streams (direction, peer, transport channel) meet a lane of an earlier
// Plan of the same rank starts once that lane is done (ready() and the
// callback of next()), so every stream carries its messages in job order;
// lanes sharing no stream run at once.
//
// Streams are unbounded: the tuner and the simulator model unbounded FIFOs
// (a Plan verified at FIFO depth d cannot deadlock with more slots). The
// symbolic verifier (verifier_exec.cc) runs its own scheduler, which says why.
//
// Folding: the walker holds the Plans of some ranks only. A held rank's
// receive from `peer` reads the stream that the caller's SourceOf names: the
// held rank standing for the sender, and the receiver as that rank's Plans
// name it (algorithms/symmetry.hpp's rep() and unapply()). A sending step
// appends to the stream (its rank, its send_peer, its transport channel).
// Unfolded, a receive from p reads stream (p, me).
//
// Cost: O(1) per step and message (hash lookups are cached per lane and
// peer); memory: every message sent, until the walker is destroyed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "plan/plan.hpp"

namespace colossus::plan {

// The stream a held rank's receive reads: the held rank whose Plans stand
// for the sender, and the receiver as those Plans name it.
struct StreamSource {
  int sender = 0;
  int to = 0;
};
// (held rank `me`, its receive's peer) -> the stream it reads.
using SourceOf = std::function<StreamSource(int me, int peer)>;

template <class Msg>
class Replay {
 public:
  struct Lane {
    int slot = 0, channel = 0;    // the Plan (index in `plans`) and its channel
    int wire = 0;                 // transport channel: the Plan's channel_base + channel
    const Step* steps = nullptr;  // the Plan's channel (the Plans outlive the walker)
    std::size_t nsteps = 0;
    std::size_t pc = 0;  // the step to run next
    bool done() const { return pc == nsteps; }
    const Step& step() const { return steps[pc]; }
  };

  // Lanes Plan-major: lane id = sum of the channels of the Plans before + channel.
  // `plans[s]` is a Plan of rank plans[s].rank; a rank's Plans in job order.
  Replay(const std::vector<Plan>& plans, SourceOf source)
      : plans_(plans), source_(std::move(source)) {
    for (std::size_t s = 0; s < plans.size(); ++s) {
      for (std::size_t c = 0; c < plans[s].channels.size(); ++c) {
        const auto& steps = plans[s].channels[c].steps;
        const int ch = static_cast<int>(c);
        lanes_.push_back(
            Lane{static_cast<int>(s), ch, plans[s].channel_base + ch, steps.data(), steps.size()});
      }
    }
    last_read_.assign(lanes_.size(), kNone);
    sent_.assign(lanes_.size(), SentTo{});
    waits_.assign(lanes_.size(), 0);
    dependents_.resize(lanes_.size());
    streams_.reserve(lanes_.size() * 2);
    order_groups();
  }

  int num_lanes() const { return static_cast<int>(lanes_.size()); }
  const Lane& lane(int id) const { return lanes_[static_cast<std::size_t>(id)]; }
  int rank_of(int id) const { return plans_[static_cast<std::size_t>(lane(id).slot)].rank; }
  // Whether the lane may start: no lane of an earlier Plan of its rank that
  // shares one of its streams is left unfinished.
  bool ready(int id) const { return waits_[static_cast<std::size_t>(id)] == 0; }

  // The message the lane's current (receiving) step matches: the next one of
  // its stream not yet taken. nullptr when it has not been sent: the lane is
  // then recorded as waiting, and send() of that message names it.
  const Msg* incoming(int id) {
    Stream& st = *read_of(id).stream;
    if (st.taken < st.msgs.size()) return &st.msgs[st.taken];
    st.waiters.emplace_back(id, st.taken);
    return nullptr;
  }
  // Takes the message incoming() returned: the next receive matches the next one.
  void take(int id) { ++read_of(id).stream->taken; }

  // Appends the current step's message to its stream (rank, send_peer,
  // transport channel) and calls on_sent(lane, msg) for each lane that was
  // waiting for it.
  template <class OnSent>
  void send(int id, Msg m, OnSent&& on_sent) {
    const Lane& l = lane(id);
    SentTo& out = sent_[static_cast<std::size_t>(id)];
    const int to = l.step().send_peer;
    if (out.stream == nullptr || out.to != to)
      out = SentTo{to, &streams_[StreamKey{rank_of(id), to, l.wire}]};
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

  // The lane's step is done: the next one is current. When that was its
  // last, on_ready(lane) is called for each lane of a later Plan that
  // waited for it alone.
  template <class OnReady>
  void next(int id, OnReady&& on_ready) {
    Lane& l = lanes_[static_cast<std::size_t>(id)];
    ++l.pc;
    if (!l.done()) return;
    for (const int d : dependents_[static_cast<std::size_t>(id)]) {
      if (--waits_[static_cast<std::size_t>(d)] == 0) on_ready(d);
    }
  }
  void next(int id) {
    next(id, [](int) {});
  }

  // Lanes with steps left.
  std::size_t unfinished() const {
    std::size_t n = 0;
    for (const Lane& l : lanes_) n += l.done() ? 0 : 1;
    return n;
  }

 private:
  // One receiver reads a stream (folded too: a held rank's receives from
  // different peers never name the same stream), its lanes one after the
  // other (a group's Plans sharing it are ordered): one cursor.
  struct Stream {
    std::vector<Msg> msgs;
    std::size_t taken = 0;                             // messages matched so far
    std::vector<std::pair<int, std::size_t>> waiters;  // (lane, message index)
  };
  struct Read {
    int peer;
    Stream* stream;  // stable: the map is node-based
  };
  struct SentTo {
    int to = -1;
    Stream* stream = nullptr;
  };
  // (sender, receiver, transport channel); in the held frame when folded.
  struct StreamKey {
    int from, to, wire;
    bool operator==(const StreamKey&) const = default;
  };
  struct StreamHash {
    std::size_t operator()(const StreamKey& k) const {
      std::uint64_t h = (std::uint64_t(std::uint32_t(k.from)) << 32) | std::uint32_t(k.to);
      h ^= std::uint64_t(std::uint32_t(k.wire)) * 0x9E3779B97F4A7C15ull;
      h ^= h >> 29;
      return static_cast<std::size_t>(h * 0xBF58476D1CE4E5B9ull);
    }
  };

  // The lane's read of its current step's peer: the last one used (chunks
  // of one message in a row), else found by (lane, peer), else a new one.
  Read& read_of(int id) {
    const Lane& l = lane(id);
    const int peer = l.step().recv_peer;
    std::size_t& last = last_read_[static_cast<std::size_t>(id)];
    if (last != kNone && reads_[last].peer == peer) return reads_[last];
    const std::uint64_t key = (std::uint64_t(std::uint32_t(id)) << 32) | std::uint32_t(peer);
    auto [it, fresh] = read_index_.try_emplace(key, reads_.size());
    if (fresh) {
      const StreamSource src = source_(rank_of(id), peer);
      reads_.push_back(Read{peer, &streams_[StreamKey{src.sender, src.to, l.wire}]});
    }
    last = it->second;
    return reads_[last];
  }

  // The executor's rule for a group (exec/executor.cc, lanes_of): per rank,
  // a lane waits for the last lane of an earlier Plan that used one of its
  // streams. Ranks holding one Plan (every collective) skip the scan.
  void order_groups() {
    std::unordered_map<int, int> plans_of_rank;
    bool groups = false;
    for (const Plan& p : plans_) groups |= ++plans_of_rank[p.rank] > 1;
    if (!groups) return;
    // (rank, sends?, peer, wire) -> the last lane of an earlier Plan using it.
    using Use = std::tuple<int, bool, int, int>;
    std::map<Use, int> last;
    std::size_t first = 0;
    for (std::size_t s = 0; s < plans_.size(); ++s) {
      const std::size_t end = first + plans_[s].channels.size();
      std::map<Use, int> mine;
      for (std::size_t id = first; id < end; ++id) {
        const Lane& l = lanes_[id];
        std::vector<int> before;
        for (std::size_t i = 0; i < l.nsteps; ++i) {
          const Step& st = l.steps[i];
          for (const bool out : {true, false}) {
            if (out ? !sends(st.kind) : !receives(st.kind)) continue;
            const Use u{plans_[s].rank, out, out ? st.send_peer : st.recv_peer, l.wire};
            mine[u] = static_cast<int>(id);
            if (const auto it = last.find(u); it != last.end()) before.push_back(it->second);
          }
        }
        std::sort(before.begin(), before.end());
        before.erase(std::unique(before.begin(), before.end()), before.end());
        for (const int b : before) dependents_[static_cast<std::size_t>(b)].push_back(int(id));
        waits_[id] = static_cast<int>(before.size());
      }
      for (const auto& [u, id] : mine) last[u] = id;
      first = end;
    }
  }

  const std::vector<Plan>& plans_;
  SourceOf source_;
  std::vector<Lane> lanes_;
  static constexpr std::size_t kNone = ~std::size_t{0};
  std::vector<Read> reads_;  // one per (lane, peer it receives from)
  std::unordered_map<std::uint64_t, std::size_t> read_index_;  // (lane, peer) -> reads_ index
  std::vector<std::size_t> last_read_;                         // per lane, its last read
  std::vector<SentTo> sent_;                  // per lane, the stream it last sent on
  std::vector<int> waits_;                    // per lane, unfinished lanes it waits for
  std::vector<std::vector<int>> dependents_;  // per lane, lanes that wait for it
  std::unordered_map<StreamKey, Stream, StreamHash> streams_;
};

// Unfolded: a receive from p reads what p sent to this rank.
inline SourceOf unfolded_source() {
  return [](int me, int peer) { return StreamSource{peer, me}; };
}

// Runs every lane to its end, lanes served first come, first served: a lane
// runs until its step's message has not been sent, parks, and resumes when
// it is (a lane of a group that is not ready() starts when it becomes so). fire(lane id, step,
// const Msg* in) is called once per step, in each lane's order (in: the matched message, null for a
// step that does not receive) and returns the message the step sends (ignored if it sends none).
// For a policy where a message's contents depend only on the steps before it (latency-only time,
// symbolic values), the result does not depend on the interleaving. Returns the number of lanes
// left unfinished: a receive whose message is never sent.
template <class Msg, class Fire>
std::size_t run_in_order(Replay<Msg>& replay, Fire&& fire) {
  std::vector<int> ready;
  for (int id = replay.num_lanes() - 1; id >= 0; --id)
    if (replay.ready(id)) ready.push_back(id);
  auto wake = [&](int waiter, const Msg&) { ready.push_back(waiter); };
  auto start = [&](int lane) { ready.push_back(lane); };
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
      replay.next(id, start);
    }
  }
  return replay.unfinished();
}

}  // namespace colossus::plan
