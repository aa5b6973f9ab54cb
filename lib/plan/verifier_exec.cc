// verifier_exec.cc: symbolic execution of all ranks' plans under a FIFO scheduler.
//
// Each non-empty channel of each job (a rank's Plan; in a point-to-point
// group, one of its operations) is a "lane" that runs its steps in order. A
// lane runs until a step must wait (for a message, or for a slot in a full
// stream), then parks on that stream; the step on the other end of the
// stream wakes it. As in exec::Executor::run, a lane that shares a stream
// (direction, peer, transport channel) with a lane of the same rank's
// earlier job starts only once that lane has finished. Lanes are served
// first come, first served, so the run is a fair interleaving and costs
// O(steps), and when no lane is ready but some are unfinished, the plans
// deadlock under this FIFO depth.
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
#include <limits>
#include <map>
#include <tuple>

#include "plan/verifier_internal.hpp"

namespace colossus::plan::detail {

namespace {

constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

// One message, or with VerifyOptions::slot_elements one piece of a step's message.
struct Message {
  Runs runs;
  std::size_t count = 0;  // elements of the whole step's message, matched by the receiver
  std::size_t lane = 0;   // the sending lane and its step, for error messages
  std::size_t step = 0;
};

// A (sender, receiver, transport channel) stream: a FIFO that allocates
// nothing while empty, since most of the possible streams are never used.
// At most one lane per end is running at a time (a group's lanes sharing a
// stream run one after another), so one waiter per end suffices.
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
  std::size_t waiting_sender = kNone;    // lane parked for a free slot
  std::size_t waiting_receiver = kNone;  // lane parked for a message

 private:
  std::vector<Message> items_;
  std::size_t head_ = 0;
};

struct Lane {
  std::size_t job = 0;
  int rank = 0;
  std::size_t channel = 0;  // in its Plan
  int conn = 0;             // transport channel: channel_base + channel
  std::size_t conn_index = 0;
  std::size_t pc = 0;    // next step
  std::size_t done = 0;  // elements of that step already moved, when it moves in pieces
  int waits = 0;         // unfinished earlier lanes it must wait for
  std::vector<std::size_t> before, dependents;
};

class Executor {
 public:
  Executor(const std::vector<Job>& jobs, int nranks, int world, const VerifyOptions& options,
           std::vector<RankMemory>& memory)
      : jobs_(jobs), nranks_(nranks), world_(world), options_(options), memory_(memory) {
    make_lanes();
    const auto n = static_cast<std::size_t>(nranks_);
    streams_.resize(n * n * std::max<std::size_t>(1, conns_.size()));
    for (std::size_t j = 0; j < jobs_.size(); ++j) {
      const Job& job = jobs_[j];
      if (job.source >= 0 && job.layout.send.size > 0) {
        const Value input{RankSet::single(world_, job.source), 0, false};
        memory_[j][job.layout.send.arena].write(job.layout.send.base,
                                                Runs{Run{0, job.layout.send.size, input}});
      }
    }
    for (std::size_t l = 0; l < lanes_.size(); ++l) {
      if (lanes_[l].waits == 0) ready_.push_back(l);
    }
  }

  ExecResult run() {
    while (!ready_.empty()) {
      const std::size_t li = ready_.front();
      ready_.pop_front();
      Lane& lane = lanes_[li];
      const auto& steps = steps_of(lane);
      while (lane.pc < steps.size()) {
        const Step& s = steps[lane.pc];
        const std::size_t total = s.count();
        const std::size_t len = options_.slot_elements == 0
                                    ? total
                                    : std::min(options_.slot_elements, total - lane.done);
        const Outcome o = step(li, s, lane.done, len);
        if (o == Outcome::Failed) return result_;
        if (o == Outcome::Wait) break;
        lane.done += len;
        if (lane.done < total) continue;
        lane.done = 0;
        ++lane.pc;
        ++result_.steps;
      }
      if (lane.pc == steps.size()) {
        for (const std::size_t d : lane.dependents) {
          if (--lanes_[d].waits == 0) ready_.push_back(d);
        }
      }
    }
    result_.error = stuck_report();
    if (result_.error.empty()) result_.error = leftover_report();
    return result_;
  }

 private:
  enum class Outcome { Done, Wait, Failed };

  const std::vector<Step>& steps_of(const Lane& l) const {
    return jobs_[l.job].plan->channels[l.channel].steps;
  }
  std::string where_in(const Lane& l, std::size_t step) const {
    return where(jobs_[l.job].who, l.channel, step, steps_of(l)[step]);
  }

  // The lanes, in job order, with exec::Executor's gating: a lane waits for
  // the last lane of the same rank's earlier jobs on each of its streams.
  void make_lanes() {
    using Key = std::tuple<int, bool, int, int>;  // rank, sends, peer, transport channel
    std::map<Key, std::size_t> last_user;
    // A rank with one job (every collective) has no lane to wait for.
    std::vector<int> jobs_of_rank(static_cast<std::size_t>(nranks_), 0);
    std::size_t nlanes = 0;
    for (const Job& job : jobs_) {
      ++jobs_of_rank[static_cast<std::size_t>(job.plan->rank)];
      nlanes += job.plan->channels.size();
    }
    lanes_.reserve(nlanes);
    for (std::size_t j = 0; j < jobs_.size(); ++j) {
      const Plan& plan = *jobs_[j].plan;
      const bool grouped = jobs_of_rank[static_cast<std::size_t>(plan.rank)] > 1;
      std::map<Key, std::size_t> mine;
      for (std::size_t c = 0; c < plan.channels.size(); ++c) {
        if (plan.channels[c].steps.empty()) continue;
        const std::size_t l = lanes_.size();
        Lane lane;
        lane.job = j;
        lane.rank = plan.rank;
        lane.channel = c;
        lane.conn = plan.channel_base + static_cast<int>(c);
        conns_.push_back(lane.conn);
        for (const Step& s : plan.channels[c].steps) {
          if (!grouped) break;
          for (const bool out : {true, false}) {
            if (out ? !sends(s.kind) : !receives(s.kind)) continue;
            const Key key{plan.rank, out, out ? s.send_peer : s.recv_peer, lane.conn};
            mine[key] = l;
            if (auto it = last_user.find(key); it != last_user.end())
              lane.before.push_back(it->second);
          }
        }
        std::sort(lane.before.begin(), lane.before.end());
        lane.before.erase(std::unique(lane.before.begin(), lane.before.end()), lane.before.end());
        lane.waits = static_cast<int>(lane.before.size());
        for (const std::size_t b : lane.before) lanes_[b].dependents.push_back(l);
        lanes_.push_back(std::move(lane));
      }
      for (const auto& [key, l] : mine) last_user[key] = l;
    }
    std::sort(conns_.begin(), conns_.end());
    conns_.erase(std::unique(conns_.begin(), conns_.end()), conns_.end());
    for (Lane& l : lanes_) {
      l.conn_index = static_cast<std::size_t>(
          std::lower_bound(conns_.begin(), conns_.end(), l.conn) - conns_.begin());
    }
  }

  std::size_t stream_index(int from, int to, std::size_t conn_index) const {
    const auto n = static_cast<std::size_t>(nranks_);
    return (static_cast<std::size_t>(from) * n + static_cast<std::size_t>(to)) * conns_.size() +
           conn_index;
  }
  Stream& stream(int from, int to, std::size_t conn_index) {
    return streams_[stream_index(from, to, conn_index)];
  }
  void wake(std::size_t& waiter) {
    if (waiter == kNone) return;
    ready_.push_back(waiter);
    waiter = kNone;
  }
  Outcome fail(const Lane& lane, const Step& s, const std::string& what) {
    result_.error = where_in(lane, lane.pc) + ": " + what;
    if (piece_len_ != s.count()) {
      result_.error += " (in the piece of elements " +
                       range(piece_first_, piece_first_ + piece_len_) + " of the step)";
    }
    return Outcome::Failed;
  }

  // Reads a slice of the job's memory; checks that it was written and, for
  // the send buffer, that it still holds the input (in place, recv writes can
  // clobber it).
  std::string read(const Job& job, std::size_t j, const Slice& s, Runs* out) {
    const Placement& p = job.layout.of(s.buffer);
    IntervalMap::Gap gap;
    if (!memory_[j][p.arena].read(p.base + s.offset, s.count, out, &gap)) {
      return "reads " + std::string(to_string(s.buffer)) +
             range(gap.begin - p.base, gap.end - p.base) + " before it is written";
    }
    if (s.buffer != Buffer::Send || job.source < 0) return "";
    const Value input{RankSet::single(world_, job.source), static_cast<int64_t>(s.offset), false};
    for (const Run& r : *out) {
      if (r.value == input) continue;
      return "reads send" + range(s.offset + r.begin, s.offset + r.end) +
             " after it was overwritten through the recv buffer it aliases in place (it holds " +
             describe(r) + ")";
    }
    return "";
  }

  // Moves elements [first, first+len) of step `s` of lane `li`: all of it, or one piece.
  Outcome step(std::size_t li, const Step& s, std::size_t first, std::size_t len) {
    const Lane& lane = lanes_[li];
    const Job& job = jobs_[lane.job];
    const int rank = lane.rank;
    piece_first_ = first;
    piece_len_ = len;
    Slice src_slice = s.src, dst_slice = s.dst;
    src_slice.offset += first;
    src_slice.count = len;
    dst_slice.offset += first;
    dst_slice.count = len;
    // What the step reads and writes, and how it combines its inputs: the one
    // step table (step_io.hpp), as the executors use it.
    const StepIO io = step_io(s.kind);
    Stream* in = io.reads(StepOperand::Msg) ? &stream(s.recv_peer, rank, lane.conn_index) : nullptr;
    Stream* out =
        io.writes(StepOperand::Slot) ? &stream(rank, s.send_peer, lane.conn_index) : nullptr;
    if (in != nullptr && in->empty()) {
      in->waiting_receiver = li;
      return Outcome::Wait;
    }
    if (out != nullptr && out->size() >= options_.fifo_depth) {
      out->waiting_sender = li;
      return Outcome::Wait;
    }
    // Member buffers keep their capacity from step to step.
    Runs& msg = msg_;
    Runs& src = src_;
    Runs& result = result_runs_;
    if (in != nullptr) {
      if (in->front().count != s.count()) {
        const Message& m = in->front();
        return fail(lane, s,
                    "expects " + std::to_string(s.count()) +
                        " elements but the next message from rank " + std::to_string(s.recv_peer) +
                        " on this channel has " + std::to_string(m.count) + " (sent by " +
                        where_in(lanes_[m.lane], m.step) + ")");
      }
      msg.swap(in->front().runs);
      in->pop_front();
      wake(in->waiting_sender);  // its send may have waited for this slot
    }
    std::string e;
    if (io.reads(StepOperand::Src) && !(e = read(job, lane.job, src_slice, &src)).empty()) {
      return fail(lane, s, e);
    }
    // A step that reads its dst (Reduce) receives no message, so dst's runs
    // reuse the message buffer.
    if (io.reads(StepOperand::Dst) && !(e = read(job, lane.job, dst_slice, &msg)).empty()) {
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
    if (s.finalize && !(e = finalize(result, world_)).empty()) return fail(lane, s, e);
    if (io.writes(StepOperand::Dst)) {
      const Placement& p = job.layout.of(s.dst.buffer);
      memory_[lane.job][p.arena].write(p.base + dst_slice.offset, result);
    }
    if (out != nullptr) {
      out->push_back(Message{result, s.count(), li, lane.pc});
      ++result_.messages;
      wake(out->waiting_receiver);  // its receive may have waited for this message
    }
    return Outcome::Done;
  }

  // Why lane `l`, unfinished, cannot go on.
  std::string why_stuck(const Lane& l) {
    const Step& s = steps_of(l)[l.pc];
    for (const std::size_t b : l.before) {
      const Lane& first = lanes_[b];
      if (first.pc == steps_of(first).size()) continue;
      return "waits for " + jobs_[first.job].who + " channel " + std::to_string(first.channel) +
             ", an earlier operation of its group on a stream it shares, to finish";
    }
    std::string why;
    const std::string tc = "transport channel " + std::to_string(l.conn);
    if (receives(s.kind) && stream(s.recv_peer, l.rank, l.conn_index).empty()) {
      why = "waits for a message from rank " + std::to_string(s.recv_peer) + " on " + tc;
      bool any = false, running = false;
      for (const Lane& o : lanes_) {
        if (o.rank != s.recv_peer || o.conn != l.conn) continue;
        any = true;
        running = running || o.pc < steps_of(o).size();
      }
      if (!any)
        why += ", which has no lane on it";
      else if (!running)
        why += ", whose lanes on it have finished";
    } else {
      why = "waits for a free slot in its stream to rank " + std::to_string(s.send_peer) + " on " +
            tc + " (fifo_depth " + std::to_string(options_.fifo_depth) + ")";
    }
    if (l.done > 0) {
      why += " after moving " + std::to_string(l.done) + " of its " + std::to_string(s.count()) +
             " elements";
    }
    return why;
  }

  // Unfinished lanes when nothing can run: a deadlock, with what each waits for.
  std::string stuck_report() {
    std::string lines;
    std::size_t stuck = 0;
    constexpr std::size_t kShown = 8;
    for (const Lane& l : lanes_) {
      if (l.pc == steps_of(l).size()) continue;
      if (++stuck > kShown) continue;
      lines += "\n  " + where_in(l, l.pc) + ": " + why_stuck(l);
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
    const auto n = static_cast<std::size_t>(nranks_);
    const std::size_t nconns = conns_.size();
    const int to = static_cast<int>(best / nconns % n);
    const Stream& st = streams_[best];
    const Lane& sender = lanes_[st.front().lane];
    return where_in(sender, st.front().step) + ": sends a message that rank " + std::to_string(to) +
           " never receives (" + std::to_string(st.size()) +
           " message(s) left in the stream on transport channel " + std::to_string(sender.conn) +
           ")";
  }

  const std::vector<Job>& jobs_;
  const int nranks_, world_;
  const VerifyOptions& options_;
  std::vector<RankMemory>& memory_;
  std::vector<int> conns_;  // the transport channels in use, sorted: streams' third index
  std::vector<Lane> lanes_;
  std::deque<std::size_t> ready_;
  std::vector<Stream> streams_;  // by stream_index()
  Runs msg_, src_, result_runs_;
  std::size_t piece_first_ = 0, piece_len_ = 0;  // of the step being moved, for messages
  ExecResult result_;
};

}  // namespace

ExecResult execute(const std::vector<Job>& jobs, int nranks, int world,
                   const VerifyOptions& options, std::vector<RankMemory>& memory) {
  return Executor(jobs, nranks, world, options, memory).run();
}

}  // namespace colossus::plan::detail
