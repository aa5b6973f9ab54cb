// watch.hpp: the bootstrap's star of connections as the job's failure-notice
// network, so that one rank's failure reaches every rank within about a
// second, with its root cause.
//
// After setup the Bootstrap's connections would sit idle; Watch::start takes
// them over and one thread per process watches them:
//   rank 0    polls every member's connection. A member's Notice (its own
//             failure, or its view that it lost a peer) is logged at INFO,
//             raised in the state, and relayed to every other member if it
//             is the first failure this watch relays (later ones are only
//             logged: rank 0's log is the job's "who failed where"). A
//             connection that closes without a Bye is Exited; one silent for
//             unreachable_after_s is Unreachable; both are raised and
//             relayed like a notice. A PeerLost view (x lost y) waits up to
//             peer_lost_grace_s for y's own root cause (its EOF, its notice),
//             which wins; y gone without a Bye makes it Exited(y), y gone
//             with one makes it Left(y).
//   a member  raises what rank 0 relays; rank 0's connection closing without
//             a Bye is Exited(0), its silence Unreachable(0); rank 0's Bye
//             ends the watch quietly (rank 0 finished).
// Both send a Heartbeat every heartbeat_s. Every send is non-blocking into a
// per-connection queue flushed as the peer reads: a peer that stops reading
// costs dropped heartbeats, never a stalled watch.
//
// Threads: report() and depart() may be called from any thread. The watch
// thread touches only its own data and the FailureState (thread-safe); it
// raises there, so the state's wakers run on it.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/failure.hpp"
#include "bootstrap/bootstrap.hpp"
#include "bootstrap/frame.hpp"

namespace colossus::bootstrap {

struct WatchOptions {
  double heartbeat_s = 1.0;           // how often each side says it is alive
  double unreachable_after_s = 10.0;  // silence that counts as a failure
  double peer_lost_grace_s = 0.5;     // how long a PeerLost waits for the root cause
};

// Largest frame a watched connection takes: notices are small.
constexpr uint64_t kMaxWatchFrame = 1u << 20;

class Watch {
 public:
  // Takes boot's connections (its collectives throw InvalidUsage after
  // this) and starts the thread; nranks == 1 starts nothing. Marks `state`
  // as expecting notices until depart(). Throws Error: InvalidArgument (an
  // option not positive), InvalidUsage (see Bootstrap::hand_over_links),
  // SystemError. `state` must outlive the Watch.
  static std::unique_ptr<Watch> start(Bootstrap& boot, base::FailureState& state,
                                      const WatchOptions& o = {});
  ~Watch();  // depart(); not from a waker of the state (the watch thread)
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  // Spreads this rank's own failure (or its PeerLost view): queued for the
  // thread, which sends it to rank 0; on rank 0 it is logged and relayed to
  // every member if it is the first. Does not raise it here: the caller
  // raises its own state. Never blocks; nothing after depart().
  void report(const base::Failure& f);
  // Sends Bye on every live connection (after any report still queued),
  // stops and joins the thread, closes the connections. Never blocks on a
  // peer. Idempotent. Until then the watch keeps relaying and logging, even
  // after a failure was raised.
  void depart();

 private:
  enum class Status { Live, Departed, Lost };
  struct Link {
    int peer = -1;
    Fd fd;
    std::string who;
    FrameReader reader{kMaxWatchFrame};
    std::string out;  // frames not yet taken by the kernel
    Clock::time_point last_heard;
    Status status = Status::Live;
    std::optional<base::Failure> lost;  // why it is Lost
  };
  struct Held {  // a PeerLost waiting for its root cause
    base::Failure f;
    int from;
    bool raise;
    Clock::time_point until;
  };

  Watch(int rank, int nranks, base::FailureState& state, const WatchOptions& o);
  void run();
  void loop_once();
  void leave();
  void read_link(Link& l);
  void on_frame(Link& l, uint32_t type, const std::string& payload);
  void on_closed(Link& l);
  void lose(Link& l, base::Failure f);
  void on_report(const base::Failure& f, int from, bool raise);
  bool resolve_peer_lost(const base::Failure& f, int from, bool raise);
  void spread(const base::Failure& f, int from, bool raise);
  void learn(const base::Failure& f);
  void send(Link& l, FrameType type, std::string_view payload);
  void flush(Link& l);
  void wake();

  const int rank_;
  const int nranks_;
  base::FailureState& state_;
  const WatchOptions opt_;
  // The thread's own: rank 0 holds links_[r - 1] to member r, a member
  // links_[0] to rank 0.
  std::vector<Link> links_;
  std::vector<Held> held_;
  bool relayed_ = false;
  Clock::time_point next_heartbeat_;
  Fd wake_fd_;  // eventfd: report() and depart() ring it

  std::mutex mu_;  // guards queue_ and stopping_
  std::deque<base::Failure> queue_;
  bool stopping_ = false;
  std::mutex join_mu_;  // one depart() joins; the others wait for it
  std::thread thread_;
};

}  // namespace colossus::bootstrap
