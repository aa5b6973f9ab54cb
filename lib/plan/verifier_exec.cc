// verifier_exec.cc: symbolic execution of all ranks' plans under a FIFO scheduler.
//
// Each (rank, channel) is a "lane" that runs its steps in order. A lane runs
// until a step must wait (for a message, or for a slot in a full stream),
// then parks; the step on the other end of that stream wakes it. Lanes are
// served first come, first served, so the run is a fair interleaving and
// costs O(steps), and when no lane is ready but some are unfinished, the
// plans deadlock under this FIFO depth.
//
// Why this is not the shared replay walker (plan/replay.hpp) that the
// tuner's critical path and the simulator use: that walker replays Plans
// assumed well-formed over unbounded streams, and its policies attach
// times to messages. This scheduler exists to find what the walker assumes
// away, so its matching is itself under test:
//   - streams are bounded (VerifyOptions::fifo_depth): a send waits for a
//     free slot and a receive wakes the sender, which is the deadlock the
//     Plan rules forbid (plan.hpp) and the walker cannot have;
//   - with slot_elements a step moves as several messages, one piece at a
//     time, so a lane parks in the middle of a step;
//   - a mismatch is an error to report with where it is (a receive whose
//     size differs from the next message, a peer without that channel,
//     messages left in a stream at the end), not a stall to throw on.
// Folding the walker's streams into a dense (from, to, channel) array with
// depth checks and piece cursors would make it this file; keeping the two
// apart keeps the walker small for the callers that run at 100k ranks.
#include <algorithm>
#include <cstdint>
#include <deque>

#include "plan/verifier_internal.hpp"

namespace colossus::plan::detail {

namespace {

// One message, or with VerifyOptions::slot_elements one piece of a step's message.
struct Message {
  Runs runs;
  std::size_t count = 0;  // elements of the whole step's message, matched by the receiver
  std::size_t step = 0;   // index of the sending step in its channel, for error messages
};

// A (sender, receiver, channel) stream: a FIFO that allocates nothing while
// empty, since most of the n*n*channels possible streams are never used.
class Stream {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  Message& front() { return items_[head_]; }
  const Message& front() const { return items_[head_]; }
  void push_back(Message m) { items_.push_back(std::move(m)); }
  void pop_front() {
    if (++head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    }
  }

 private:
  std::vector<Message> items_;
  std::size_t head_ = 0;
};

struct Lane {
  int rank = 0;
  std::size_t channel = 0;
  std::size_t pc = 0;    // next step
  std::size_t done = 0;  // elements of that step already moved, when it moves in pieces
  bool parked = false;   // waiting for a peer to wake it
};

class Executor {
 public:
  Executor(const CollArgs& args, const std::vector<Plan>& plans,
           const std::vector<RankLayout>& layouts, const VerifyOptions& options,
           std::vector<RankMemory>& memory)
      : args_(args), plans_(plans), layouts_(layouts), options_(options), memory_(memory) {
    for (const Plan& p : plans_) max_channels_ = std::max(max_channels_, p.channels.size());
    const auto n = static_cast<std::size_t>(args_.nranks);
    streams_.resize(n * n * max_channels_);
    for (int r = 0; r < args_.nranks; ++r) {
      first_lane_.push_back(lanes_.size());
      for (std::size_t c = 0; c < plans_[r].channels.size(); ++c) {
        ready_.push_back(lanes_.size());
        lanes_.push_back(Lane{r, c});
      }
      if (has_input(args_, r) && layouts_[r].send.size > 0) {
        const Value input{RankSet::single(args_.nranks, r), 0, false};
        memory_[r][layouts_[r].send.arena].write(layouts_[r].send.base,
                                                 Runs{Run{0, layouts_[r].send.size, input}});
      }
    }
  }

  ExecResult run() {
    while (!ready_.empty()) {
      Lane& lane = lanes_[ready_.front()];
      ready_.pop_front();
      const auto& steps = plans_[lane.rank].channels[lane.channel].steps;
      while (lane.pc < steps.size()) {
        const Step& s = steps[lane.pc];
        const std::size_t total = s.count();
        const std::size_t len = options_.slot_elements == 0
                                    ? total
                                    : std::min(options_.slot_elements, total - lane.done);
        const Outcome o = step(lane, s, lane.done, len);
        if (o == Outcome::Failed) return result_;
        if (o == Outcome::Wait) {
          lane.parked = true;
          break;
        }
        lane.done += len;
        if (lane.done < total) continue;
        lane.done = 0;
        ++lane.pc;
        ++result_.steps;
      }
    }
    result_.error = stuck_report();
    if (result_.error.empty()) result_.error = leftover_report();
    return result_;
  }

 private:
  enum class Outcome { Done, Wait, Failed };

  std::size_t stream_index(int from, int to, std::size_t channel) const {
    const auto n = static_cast<std::size_t>(args_.nranks);
    return (static_cast<std::size_t>(from) * n + static_cast<std::size_t>(to)) * max_channels_ +
           channel;
  }
  Stream& stream(int from, int to, std::size_t channel) {
    return streams_[stream_index(from, to, channel)];
  }
  Lane* lane_of(int rank, std::size_t channel) {
    if (channel >= plans_[rank].channels.size()) return nullptr;
    return &lanes_[first_lane_[rank] + channel];
  }
  void wake(int rank, std::size_t channel) {
    Lane* l = lane_of(rank, channel);
    if (l == nullptr || !l->parked) return;
    l->parked = false;
    ready_.push_back(first_lane_[rank] + channel);
  }
  Outcome fail(const Lane& lane, const Step& s, const std::string& what) {
    result_.error = where(lane.rank, lane.channel, lane.pc, s) + ": " + what;
    if (piece_len_ != s.count()) {
      result_.error += " (in the piece of elements " +
                       range(piece_first_, piece_first_ + piece_len_) + " of the step)";
    }
    return Outcome::Failed;
  }

  // Reads a slice of this rank's memory; checks that it was written and, for
  // the send buffer, that it still holds the input (in place, recv writes can
  // clobber it).
  std::string read(int rank, const Slice& s, Runs* out) {
    const Placement& p = layouts_[rank].of(s.buffer);
    IntervalMap::Gap gap;
    if (!memory_[rank][p.arena].read(p.base + s.offset, s.count, out, &gap)) {
      return "reads " + std::string(to_string(s.buffer)) +
             range(gap.begin - p.base, gap.end - p.base) + " before it is written";
    }
    if (s.buffer != Buffer::Send) return "";
    const Value input{RankSet::single(args_.nranks, rank), static_cast<int64_t>(s.offset), false};
    for (const Run& r : *out) {
      if (r.value == input) continue;
      return "reads send" + range(s.offset + r.begin, s.offset + r.end) +
             " after it was overwritten through the recv buffer it aliases in place (it holds " +
             describe(r) + ")";
    }
    return "";
  }

  // Moves elements [first, first+len) of step `s`: all of it, or one piece.
  Outcome step(const Lane& lane, const Step& s, std::size_t first, std::size_t len) {
    const int rank = lane.rank;
    piece_first_ = first;
    piece_len_ = len;
    Slice src_slice = s.src, dst_slice = s.dst;
    src_slice.offset += first;
    src_slice.count = len;
    dst_slice.offset += first;
    dst_slice.count = len;
    Stream* in = receives(s.kind) ? &stream(s.recv_peer, rank, lane.channel) : nullptr;
    Stream* out = sends(s.kind) ? &stream(rank, s.send_peer, lane.channel) : nullptr;
    if ((in != nullptr && in->empty()) || (out != nullptr && out->size() >= options_.fifo_depth)) {
      return Outcome::Wait;
    }
    // Member buffers keep their capacity from step to step.
    Runs& msg = msg_;
    Runs& src = src_;
    Runs& result = result_runs_;
    if (in != nullptr) {
      if (in->front().count != s.count()) {
        const Step& sent = plans_[s.recv_peer].channels[lane.channel].steps[in->front().step];
        return fail(lane, s,
                    "expects " + std::to_string(s.count()) +
                        " elements but the next message from rank " + std::to_string(s.recv_peer) +
                        " on this channel has " + std::to_string(in->front().count) +
                        " (sent by its step " + std::to_string(in->front().step) + " (" +
                        describe(sent) + "))");
      }
      msg.swap(in->front().runs);
      in->pop_front();
      wake(s.recv_peer, lane.channel);  // its send may have waited for this slot
    }
    std::string e;
    if (reads_src(s.kind) && !(e = read(rank, src_slice, &src)).empty()) return fail(lane, s, e);
    // What the step reads and how it combines it: the one step table
    // (step_io.hpp), as the executors use it. A step that reads its dst
    // (Reduce) receives no message, so dst's runs reuse the message buffer.
    const StepIO io = step_io(s.kind);
    if (io.reads(StepOperand::Dst) && !(e = read(rank, dst_slice, &msg)).empty()) {
      return fail(lane, s, e);
    }
    auto runs = [&](StepOperand o) -> Runs& { return o == StepOperand::Src ? src : msg; };
    auto operand = [&](StepOperand o) -> Operand {
      if (o == StepOperand::Msg) {
        return {&msg, [&] { return "the message from rank " + std::to_string(s.recv_peer); }};
      }
      if (o == StepOperand::Dst) return {&msg, [&] { return "dst " + name(dst_slice); }};
      return {&src, [&] { return "src " + name(src_slice); }};
    };
    if (io.in[1] == StepOperand::None) {
      result.swap(runs(io.in[0]));
    } else {
      e = reduce(operand(io.in[0]), operand(io.in[1]), &result);
    }
    if (!e.empty()) return fail(lane, s, e);
    if (s.finalize && !(e = finalize(result, args_.nranks)).empty()) return fail(lane, s, e);
    if (writes_dst(s.kind)) {
      const Placement& p = layouts_[rank].of(s.dst.buffer);
      memory_[rank][p.arena].write(p.base + dst_slice.offset, result);
    }
    if (out != nullptr) {
      out->push_back(Message{result, s.count(), lane.pc});
      ++result_.messages;
      wake(s.send_peer, lane.channel);  // its receive may have waited for this message
    }
    return Outcome::Done;
  }

  // Unfinished lanes when nothing can run: a deadlock, with what each waits for.
  std::string stuck_report() {
    std::string lines;
    std::size_t stuck = 0;
    constexpr std::size_t kShown = 8;
    for (const Lane& l : lanes_) {
      const auto& steps = plans_[l.rank].channels[l.channel].steps;
      if (l.pc == steps.size()) continue;
      if (++stuck > kShown) continue;
      const Step& s = steps[l.pc];
      std::string why;
      if (receives(s.kind) && stream(s.recv_peer, l.rank, l.channel).empty()) {
        const Lane* peer = lane_of(s.recv_peer, l.channel);
        why = "waits for a message from rank " + std::to_string(s.recv_peer);
        if (peer == nullptr)
          why += ", which has no such channel";
        else if (peer->pc == plans_[s.recv_peer].channels[l.channel].steps.size())
          why += ", whose channel has finished";
      } else {
        why = "waits for a free slot in its stream to rank " + std::to_string(s.send_peer) +
              " (fifo_depth " + std::to_string(options_.fifo_depth) + ")";
      }
      if (l.done > 0) {
        why += " after moving " + std::to_string(l.done) + " of its " + std::to_string(s.count()) +
               " elements";
      }
      lines += "\n  " + where(l.rank, l.channel, l.pc, s) + ": " + why;
    }
    if (stuck == 0) return "";
    if (stuck > kShown) lines += "\n  ... and " + std::to_string(stuck - kShown) + " more";
    return "deadlock: no step can proceed and " + std::to_string(stuck) +
           " channel(s) have steps left:" + lines;
  }

  // Messages sent and never received, reported for the lowest (from, to, channel).
  std::string leftover_report() {
    std::size_t best = 0;
    while (best < streams_.size() && streams_[best].empty()) ++best;
    if (best == streams_.size()) return "";
    const auto n = static_cast<std::size_t>(args_.nranks);
    const std::size_t channel = best % max_channels_;
    const int to = static_cast<int>(best / max_channels_ % n);
    const int from = static_cast<int>(best / max_channels_ / n);
    const Stream& st = streams_[best];
    const Step& s = plans_[from].channels[channel].steps[st.front().step];
    return where(from, channel, st.front().step, s) + ": sends a message that rank " +
           std::to_string(to) + " never receives (" + std::to_string(st.size()) +
           " message(s) left in the stream on channel " + std::to_string(channel) + ")";
  }

  const CollArgs& args_;
  const std::vector<Plan>& plans_;
  const std::vector<RankLayout>& layouts_;
  const VerifyOptions& options_;
  std::vector<RankMemory>& memory_;
  std::size_t max_channels_ = 1;
  std::vector<std::size_t> first_lane_;  // rank -> index of its channel 0 in lanes_
  std::vector<Lane> lanes_;
  std::deque<std::size_t> ready_;
  std::vector<Stream> streams_;  // by stream_index()
  Runs msg_, src_, result_runs_;
  std::size_t piece_first_ = 0, piece_len_ = 0;  // of the step being moved, for messages
  ExecResult result_;
};

}  // namespace

ExecResult execute(const CollArgs& args, const std::vector<Plan>& plans,
                   const std::vector<RankLayout>& layouts, const VerifyOptions& options,
                   std::vector<RankMemory>& memory) {
  return Executor(args, plans, layouts, options, memory).run();
}

}  // namespace colossus::plan::detail
