#include "exec/executor.hpp"

#include <sched.h>

#include <algorithm>

#include "colossus/error.hpp"
#include "exec/lanes.hpp"
#include "reduce/reduce.hpp"

namespace colossus::exec {

using plan::Buffer;
using plan::Step;
using transport::Clock;
using transport::Status;

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

std::byte* address(const Buffers& b, Buffer which, std::size_t element, std::size_t esize) {
  std::byte* base = nullptr;
  switch (which) {
    case Buffer::Send: base = static_cast<std::byte*>(const_cast<void*>(b.send)); break;
    case Buffer::Recv: base = static_cast<std::byte*>(b.recv); break;
    case Buffer::Scratch: base = static_cast<std::byte*>(b.scratch); break;
  }
  return base + element * esize;
}

}  // namespace

void reduce_copy_piece(const plan::PieceOperands& ops, DataType dtype, ReduceOp op,
                       std::size_t count, int divisor) {
  if (ops.out[0] == nullptr || ops.nothing_to_do(divisor)) return;  // (no such kind)
  reduce::ReduceCopyArgs r;
  r.dtype = dtype;
  r.op = op;
  r.in0 = ops.in[0];
  r.in1 = ops.in[1];
  r.out0 = ops.out[0];
  r.out1 = ops.out[1];
  r.count = count;
  r.divisor = divisor;
  reduce::reduce_copy(r);
}

Executor::Executor(transport::Transport& transport, double timeout_s)
    : transport_(transport), timeout_s_(timeout_s), piece_bytes_(transport.slot_bytes()) {}

Executor::~Executor() = default;

Executor::Endpoints& Executor::endpoints(int channel) {
  auto& slot = endpoints_[channel];
  if (!slot) slot = std::make_unique<Endpoints>();
  return *slot;
}

transport::SendEndpoint& Executor::send_endpoint(Endpoints& eps, int peer, int channel) {
  for (auto& [p, ep] : eps.send) {
    if (p == peer) return *ep;
  }
  eps.send.emplace_back(peer, transport_.connect_send(peer, channel));
  return *eps.send.back().second;
}

transport::RecvEndpoint& Executor::recv_endpoint(Endpoints& eps, int peer, int channel) {
  for (auto& [p, ep] : eps.recv) {
    if (p == peer) return *ep;
  }
  eps.recv.emplace_back(peer, transport_.connect_recv(peer, channel));
  return *eps.recv.back().second;
}

// Lazily connects every (peer, channel) the plan talks to, before any data moves.
void Executor::connect(const plan::Plan& plan) {
  for (std::size_t c = 0; c < plan.channels.size(); ++c) {
    const int conn = plan.channel_base + static_cast<int>(c);
    Endpoints& eps = endpoints(conn);
    for (const Step& s : plan.channels[c].steps) {
      if (plan::sends(s.kind)) send_endpoint(eps, s.send_peer, conn);
      if (plan::receives(s.kind)) recv_endpoint(eps, s.recv_peer, conn);
    }
  }
}

// A Send step from the send buffer posts up to this many pieces as one
// message where the transport reads it from the sender: fewer, longer
// reads where a step's chunk spans several slots.
constexpr std::size_t kPostPieces = 8;

// Moves one piece of the channel's current step if its message and slot are
// ready. Returns false when it must wait.
bool Executor::advance(ChannelRun& ch) {
  const Step& s = (*ch.steps)[ch.step];
  const plan::Plan& p = *ch.plan;
  const std::size_t es = ch.esize;
  const int divisor = (s.finalize && p.args.op == ReduceOp::Avg) ? p.args.nranks : 1;
  const std::size_t total = s.count();
  const std::size_t k = std::min(ch.piece, total - ch.done);
  std::byte* src = address(*ch.buffers, s.src.buffer, s.src.offset + ch.done, es);
  std::byte* dst = address(*ch.buffers, s.dst.buffer, s.dst.offset + ch.done, es);

  auto check = [&](Status st, int peer) {
    if (st == Status::PeerFailed) {
      fail_peer(peer,
                where(p, ch.channel, ch.step) + ": peer rank " + std::to_string(peer) + " failed");
    }
    if (st == Status::Error) {
      throw Error(
          ErrorCode::SystemError,
          where(p, ch.channel, ch.step) + ": transport error with rank " + std::to_string(peer));
    }
  };

  auto check_size = [&](std::size_t bytes) {
    if (bytes != k * es) {
      throw Error(ErrorCode::InternalError,
                  where(p, ch.channel, ch.step) + ": expected " + std::to_string(k * es) +
                      " bytes from rank " + std::to_string(s.recv_peer) + ", got " +
                      std::to_string(bytes) + " (ranks disagree on the plan)");
    }
  };
  auto next_piece = [&](std::size_t moved) {
    ch.done += moved;
    if (ch.done == total) {
      ++ch.step;
      ch.done = 0;
    }
    return true;
  };

  // A plain receive is a copy the transport may do itself (straight from
  // the sender's memory, with single copy); a plain send from the send
  // buffer, which stays put for the whole call, may go by reference.
  if (s.kind == plan::StepKind::Recv && divisor == 1) {
    transport::RecvEndpoint& in = recv_endpoint(*ch.eps, s.recv_peer, ch.conn);
    std::size_t bytes = 0;
    const Status st = in.try_take(dst, k * es, (total - ch.done) * es, &bytes);
    if (st == Status::Pending) {
      ch.blocked_on_send = false;
      return false;
    }
    if (st == Status::Error && bytes != 0) check_size(bytes);
    check(st, s.recv_peer);
    if (bytes == 0 || bytes % es != 0 || bytes > (total - ch.done) * es) check_size(bytes);
    return next_piece(bytes / es);
  }
  if (s.kind == plan::StepKind::Send && ch.post_sends && s.src.buffer == plan::Buffer::Send) {
    // Up to kPostPieces pieces in one message: fewer, longer reads.
    const std::size_t n = std::min(total - ch.done, ch.piece * kPostPieces);
    transport::SendEndpoint& out = send_endpoint(*ch.eps, s.send_peer, ch.conn);
    if (out.can_post(n * es)) {
      const Status st = out.try_post(src, n * es, ch.piece * es);
      if (st == Status::Pending) {
        ch.blocked_on_send = true;
        return false;
      }
      check(st, s.send_peer);
      if (std::find(posted_.begin(), posted_.end(), std::pair{s.send_peer, &out}) == posted_.end())
        posted_.emplace_back(s.send_peer, &out);
      return next_piece(n);
    }
  }

  const void* msg = nullptr;
  transport::RecvEndpoint* in = nullptr;
  if (plan::receives(s.kind)) {
    in = &recv_endpoint(*ch.eps, s.recv_peer, ch.conn);
    std::size_t bytes = 0;
    const Status st = in->try_peek(&msg, &bytes);
    if (st == Status::Pending) {
      ch.blocked_on_send = false;
      return false;
    }
    check(st, s.recv_peer);
    check_size(bytes);
  }
  void* slot = nullptr;
  transport::SendEndpoint* out = nullptr;
  if (plan::sends(s.kind)) {
    out = &send_endpoint(*ch.eps, s.send_peer, ch.conn);
    const Status st = out->try_acquire(&slot);
    if (st == Status::Pending) {  // the peeked message stays for the retry
      ch.blocked_on_send = true;
      return false;
    }
    check(st, s.send_peer);
  }

  plan::PiecePointers at;
  at.msg = msg;
  at.src = src;
  at.dst = dst;
  at.slot = slot;
  // Avg reduces as Sum; `divisor` finalizes.
  reduce_copy_piece(plan::bind(s.kind, at), p.args.dtype, p.args.op, k, divisor);

  if (out) check(out->commit(k * es), s.send_peer);
  if (in) check(in->release(), s.recv_peer);
  return next_piece(k);
}

// Drops the endpoints whose receivers have read every posted message;
// true if any did.
bool Executor::flush_posted() {
  const std::size_t before = posted_.size();
  std::erase_if(posted_, [this](const std::pair<int, transport::SendEndpoint*>& e) {
    const Status st = e.second->try_flush();
    if (st == Status::Pending) return false;
    if (st != Status::Ok) {
      fail_peer(e.first, "rank " + std::to_string(e.first) +
                             " failed before it read the data this rank sent it by reference");
    }
    return true;
  });
  return posted_.size() != before;
}

void Executor::run(const plan::Plan& plan, const Buffers& buffers) {
  single_.assign(1, Job{&plan, buffers});  // kept: no allocation per call
  run(single_);
}

void Executor::run(const std::vector<Job>& jobs) {
  lost_peer_ = -1;
  if (failure_ && failure_->raised()) fail_interrupted({});
  std::vector<ChannelRun> channels = lanes_of(jobs);

  transport::Doorbell& bell = transport_.doorbell();
  const auto timeout =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s_));
  // The lanes that may move: unfinished, waiting for no earlier lane. A
  // pass visits only these, so a group of many operations chained on one
  // stream costs a pass per runnable lane, not per lane of the group.
  std::vector<std::size_t>& active = active_;
  std::vector<std::size_t>& next = next_;
  active.clear();
  for (std::size_t l = 0; l < channels.size(); ++l) {
    if (channels[l].waits == 0) active.push_back(l);
  }
  int idle = 0;
  Clock::time_point stalled_since{};
  posted_.clear();
  // Done when every lane is, and every receiver has read what was posted
  // to it by reference (the caller may reuse its send buffer after).
  while (!active.empty() || !posted_.empty()) {
    if (failure_ && failure_->raised()) fail_interrupted(channels);
    const uint32_t seen = bell.epoch();
    bool progressed = false;
    next.clear();
    for (const std::size_t l : active) {
      ChannelRun& ch = channels[l];
      while (!ch.finished() && advance(ch)) progressed = true;
      if (!ch.finished()) {
        next.push_back(l);
        continue;
      }
      for (const std::size_t d : ch.dependents) {
        if (--channels[d].waits == 0) next.push_back(d);
      }
    }
    active.swap(next);
    if (active.empty() && !posted_.empty()) progressed |= flush_posted();
    if (progressed) {
      idle = 0;
      continue;
    }
    // Back off: spin (32 pauses, and for up to spin_for_), then yield (32
    // times, and for up to yield_for_: a peer on another core finishing its
    // step, where waking from the futex would cost more than the wait),
    // then sleep until a peer rings.
    if (++idle < 32) {
      cpu_relax();
      continue;
    }
    const auto now = Clock::now();
    if (idle == 32) stalled_since = now;
    if (now - stalled_since < spin_for_) {  // polling, no system call: a peer mid-step
      for (int i = 0; i < 16; ++i) cpu_relax();
      continue;
    }
    if (idle < 64 || now - stalled_since < yield_for_) {
      sched_yield();
      continue;
    }
    if (now - stalled_since > timeout) fail_timeout(channels);
    bell.wait(seen, std::min(stalled_since + timeout, now + std::chrono::milliseconds(100)));
  }
}

}  // namespace colossus::exec
