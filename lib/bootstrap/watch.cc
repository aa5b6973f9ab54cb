// watch.cc: see watch.hpp.
#include "bootstrap/watch.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/logging.hpp"

namespace colossus::bootstrap {

namespace {

// The thread's longest sleep: stop and expiries are seen at least this often.
constexpr int kMaxPollMs = 100;
// Unsent bytes one connection may hold; beyond, frames are dropped (the
// peer has not read for long: its silence is the watch's business).
constexpr std::size_t kMaxQueuedBytes = 1u << 20;

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

std::string closed_detail(int rank, const std::string& who) {
  return "its bootstrap connection to rank " + std::to_string(rank) +
         " closed without a goodbye (" + who + ")";
}

}  // namespace

Watch::Watch(int rank, int nranks, base::FailureState& state, const WatchOptions& o)
    : rank_(rank), nranks_(nranks), state_(state), opt_(o) {}

Watch::~Watch() { depart(); }

std::unique_ptr<Watch> Watch::start(Bootstrap& boot, base::FailureState& state,
                                    const WatchOptions& o) {
  if (!(o.heartbeat_s > 0) || !(o.unreachable_after_s > 0) || !(o.peer_lost_grace_s > 0)) {
    throw Error(ErrorCode::InvalidArgument, "watch: every WatchOptions duration must be positive");
  }
  std::unique_ptr<Watch> w(new Watch(boot.rank(), boot.nranks(), state, o));
  Bootstrap::Links handed = boot.hand_over_links();
  if (w->nranks_ == 1) return w;
  const auto now = Clock::now();
  for (std::size_t p = 0; p < handed.links.size(); ++p) {
    if (w->rank_ == 0 && p == 0) continue;  // rank 0 has no link to itself
    Link l;
    l.peer = static_cast<int>(p);
    l.fd = std::move(handed.links[p]);
    l.who = handed.who[p];
    l.last_heard = now;
    w->links_.push_back(std::move(l));
  }
  w->wake_fd_ = Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!w->wake_fd_) throw Error(ErrorCode::SystemError, "watch: eventfd: " + errno_text(errno));
  w->next_heartbeat_ = now;
  state.set_expects_notices(true);
  w->thread_ = std::thread([p = w.get()] { p->run(); });
  return w;
}

void Watch::report(const base::Failure& f) {
  if (nranks_ == 1) return;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    queue_.push_back(f);
  }
  wake();
}

void Watch::depart() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  if (nranks_ == 1) return;
  wake();
  std::lock_guard lock(join_mu_);
  // A waker the watch thread runs (from a raise) may call us: it ends on its own.
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
    state_.set_expects_notices(false);
  }
}

void Watch::wake() {
  const uint64_t one = 1;
  if (wake_fd_) (void)!::write(wake_fd_.get(), &one, sizeof one);  // full: a wake is pending
}

void Watch::run() {
  try {
    for (;;) {
      std::deque<base::Failure> reports;
      bool stop;
      {
        std::lock_guard lock(mu_);
        reports.swap(queue_);
        stop = stopping_;
      }
      for (const base::Failure& f : reports) {
        if (rank_ == 0) {
          on_report(f, 0, /*raise=*/false);
        } else if (links_[0].status == Status::Live) {
          send(links_[0], FrameType::Notice, encode_notice(f));
        }
      }
      if (stop) break;
      loop_once();
    }
  } catch (const std::exception& e) {  // out of memory, say: never terminate the process
    CLOG(Warn) << "watch: rank " << rank_ << " stops watching: " << e.what();
  }
  leave();
}

void Watch::loop_once() {
  auto now = Clock::now();
  if (now >= next_heartbeat_) {
    for (Link& l : links_) send(l, FrameType::Heartbeat, {});
    next_heartbeat_ = now + seconds(opt_.heartbeat_s);
  }
  for (Link& l : links_) {
    if (l.status == Status::Live && now - l.last_heard > seconds(opt_.unreachable_after_s)) {
      lose(l, {l.peer, rank_, base::FailureKind::Unreachable, ErrorCode::RemoteError,
               "nothing heard for " + seconds_text(opt_.unreachable_after_s) + " from " + l.who});
    }
  }
  // PeerLost views whose root cause came, or whose grace ran out.
  std::vector<Held> held;
  held.swap(held_);
  for (Held& h : held) {
    if (resolve_peer_lost(h.f, h.from, h.raise)) continue;
    if (now >= h.until)
      spread(h.f, h.from, h.raise);
    else
      held_.push_back(std::move(h));
  }

  std::vector<pollfd> fds{{wake_fd_.get(), POLLIN, 0}};
  std::vector<Link*> polled;
  for (Link& l : links_) {
    if (l.status != Status::Live) continue;
    fds.push_back({l.fd.get(), static_cast<short>(POLLIN | (l.out.empty() ? 0 : POLLOUT)), 0});
    polled.push_back(&l);
  }
  const auto until_beat =
      std::chrono::ceil<std::chrono::milliseconds>(next_heartbeat_ - now).count();
  const int timeout = static_cast<int>(std::clamp<long long>(until_beat, 1, kMaxPollMs));
  const int ready = ::poll(fds.data(), fds.size(), timeout);
  if (ready <= 0) return;  // EINTR or time: the next round sees to it
  if (fds[0].revents) {
    uint64_t count;
    (void)!::read(wake_fd_.get(), &count, sizeof count);
  }
  for (std::size_t i = 0; i < polled.size(); ++i) {
    const short ev = fds[i + 1].revents;
    if (ev & POLLOUT) flush(*polled[i]);
    if (ev & (POLLIN | POLLHUP | POLLERR)) read_link(*polled[i]);
  }
}

void Watch::leave() {
  for (Link& l : links_) {
    if (l.status != Status::Live) continue;
    send(l, FrameType::Bye, {});  // behind any notice still queued
    // Read what the peer sent, so close() sends a FIN, not a reset that
    // could overtake our goodbye.
    char scratch[4096];
    for (int i = 0; i < 64 && ::recv(l.fd.get(), scratch, sizeof scratch, MSG_DONTWAIT) > 0; ++i) {
    }
    l.fd.reset();
    l.status = Status::Departed;
  }
}

void Watch::read_link(Link& l) {
  while (l.status == Status::Live) {
    const FrameReader::State st = l.reader.pump(l.fd.get());
    switch (st) {
      case FrameReader::State::NeedMore:
      case FrameReader::State::TimedOut: return;
      case FrameReader::State::Complete: {
        l.last_heard = Clock::now();
        const uint32_t type = l.reader.type();
        on_frame(l, type, l.reader.take_payload());
        break;
      }
      case FrameReader::State::Closed:
      case FrameReader::State::Failed: on_closed(l); return;
      case FrameReader::State::Malformed:
        lose(l, {l.peer, rank_, base::FailureKind::Error, ErrorCode::RemoteError,
                 l.who + " sent a malformed frame: " + l.reader.problem()});
        return;
    }
  }
}

void Watch::on_frame(Link& l, uint32_t type, const std::string& payload) {
  base::Failure f;
  std::string why;
  switch (static_cast<FrameType>(type)) {
    case FrameType::Heartbeat: return;
    case FrameType::Bye:
      l.status = Status::Departed;
      l.fd.reset();
      return;
    case FrameType::Notice:
      if (!decode_notice(payload, &f, &why) || f.rank >= nranks_ || f.reporter >= nranks_) {
        if (why.empty())
          why = "a notice naming rank " + std::to_string(f.rank) + " of " + std::to_string(nranks_);
        lose(l, {l.peer, rank_, base::FailureKind::Error, ErrorCode::RemoteError,
                 l.who + " sent a malformed failure notice: " + why});
        return;
      }
      break;
    case FrameType::Abort:  // a Bootstrap that failed before its watch began
      f.rank = f.reporter = l.peer;
      decode_failure(payload, &f.code, &f.detail);
      break;
    default:
      lose(l, {l.peer, rank_, base::FailureKind::Error, ErrorCode::InvalidUsage,
               l.who + " sent '" + frame_type_name(type) +
                   "' to a watched connection (a collective after Watch::start?)"});
      return;
  }
  if (rank_ == 0)
    on_report(f, l.peer, /*raise=*/true);
  else
    learn(f);
}

void Watch::on_closed(Link& l) {
  const int failed = rank_ == 0 ? l.peer : 0;
  lose(l, {failed, rank_, base::FailureKind::Exited, ErrorCode::RemoteError,
           closed_detail(rank_, l.who)});
}

// A connection that failed: closed for good, its failure detected here.
void Watch::lose(Link& l, base::Failure f) {
  l.fd.reset();
  l.status = Status::Lost;
  l.lost = f;
  if (rank_ != 0) {
    learn(f);
    return;
  }
  CLOG(Info) << "watch: rank 0 noticed: " << base::describe(f);
  spread(f, -1, /*raise=*/true);
}

void Watch::on_report(const base::Failure& f, int from, bool raise) {
  CLOG(Info) << "watch: rank " << from << " reports: " << base::describe(f);
  if (f.kind == base::FailureKind::Stopped) return;  // for the log only: not a failure
  if (f.kind != base::FailureKind::PeerLost || f.rank <= 0 || f.rank >= nranks_ || f.rank == from) {
    spread(f, from, raise);
  } else if (!resolve_peer_lost(f, from, raise)) {
    held_.push_back({f, from, raise, Clock::now() + seconds(opt_.peer_lost_grace_s)});
  }
}

// Rank 0: a PeerLost about a member whose own fate is known becomes that
// fate. False while the member still looks alive.
bool Watch::resolve_peer_lost(const base::Failure& f, int from, bool raise) {
  const Link& y = links_[static_cast<std::size_t>(f.rank - 1)];
  if (y.status == Status::Live) return false;
  if (y.status == Status::Lost) {
    spread(*y.lost, from, raise);  // already spread when it was lost: a raise that is a no-op
  } else {
    spread(
        {f.rank, f.reporter, base::FailureKind::Left, f.code,
         "rank " + std::to_string(f.reporter) + " lost its connection to it after it said goodbye" +
             (f.detail.empty() ? "" : ": " + f.detail)},
        from, raise);
  }
  return true;
}

// Rank 0: raise (unless it is our own report) and relay the first failure.
void Watch::spread(const base::Failure& f, int from, bool raise) {
  if (raise) state_.raise(f);
  if (relayed_) return;
  relayed_ = true;
  const std::string notice = encode_notice(f);
  for (Link& l : links_) {
    if (l.peer != from) send(l, FrameType::Notice, notice);
  }
}

// A member: what rank 0 relayed, or what we saw of rank 0 itself.
void Watch::learn(const base::Failure& f) {
  if (state_.raise(f)) {
    CLOG(Info) << "watch: rank " << rank_ << " learned: " << base::describe(f);
  }
}

void Watch::send(Link& l, FrameType type, std::string_view payload) {
  if (l.status != Status::Live) return;
  // A heartbeat behind unsent bytes says nothing new; drop it.
  if (type == FrameType::Heartbeat && !l.out.empty()) return;
  if (l.out.size() > kMaxQueuedBytes) return;
  l.out += whole_frame(type, payload);
  flush(l);
}

void Watch::flush(Link& l) {
  while (!l.out.empty()) {
    const ssize_t n = ::send(l.fd.get(), l.out.data(), l.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      l.out.erase(0, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return;  // full (POLLOUT resumes it) or broken (the read side reports it)
    }
  }
}

}  // namespace colossus::bootstrap
