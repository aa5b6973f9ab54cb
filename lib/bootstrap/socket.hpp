// socket.hpp: the one socket layer of the library, all waits with deadlines.
//
// The bootstrap and the tcp transport both use it. Every socket is
// non-blocking and close-on-exec, and every connection has TCP_NODELAY:
// bootstrap frames are small and latency-bound, and the tcp transport
// writes a frame by one sendmsg, so Nagle would only delay the tail of each
// message. SO_SNDBUF/SO_RCVBUF are left to the kernel's autotuning (setting
// them would switch it off). Every wait is a poll() bounded by a Deadline;
// EINTR and partial transfers are retried here so callers never see them.
// Results are plain values (Io, errno), not exceptions: the caller knows
// which rank and which phase failed and builds the Error.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "base/failure.hpp"
#include "bootstrap/address.hpp"

namespace colossus::bootstrap {

using Clock = std::chrono::steady_clock;

// When a wait gives up. Copyable; compare against the one steady clock.
// Under a CancelScope it also counts as passed once the scope's state is
// raised, so every wait of this layer ends early on another thread's word.
class Deadline {
 public:
  explicit Deadline(double seconds_from_now);
  explicit Deadline(Clock::time_point when) : when_(when) {}
  bool passed() const;
  // Milliseconds left for poll(), rounded up so we never wake just before it;
  // at most kCancelPollMs under a CancelScope, so a raise is seen that soon.
  // A poll that times out is therefore no proof of passed(): check it.
  int poll_ms() const;
  // The earlier of this deadline and `seconds` from now.
  Deadline sooner(double seconds) const;
  Clock::time_point when() const { return when_; }

 private:
  Clock::time_point when_;
};

// While alive, every Deadline on this thread also passes once `state` is
// raised: another thread aborts a setup in progress by raising the state
// the setup's thread scoped. Thread-local; a nested scope hides the outer
// one until it ends. The state must outlive the scope.
class CancelScope {
 public:
  explicit CancelScope(const base::FailureState& state);
  ~CancelScope();
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;

  // The innermost scope's state on this thread, or null.
  static const base::FailureState* current();
  // Whether this thread's scope has been raised.
  static bool cancelled();

 private:
  const base::FailureState* outer_;
};
constexpr int kCancelPollMs = 50;

// Owns one file descriptor; closes it when destroyed or reset.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release();
  void reset();

 private:
  int fd_ = -1;
};

enum class Io {
  Ok,
  TimedOut,
  Closed,  // the peer closed or reset the connection
  Failed,  // another OS error; see the errno that comes with it
};

struct IoResult {
  Io io = Io::Ok;
  int error = 0;  // errno for Closed (reset) and Failed
};

std::string errno_text(int error);
// "0.5 s", "300 s": durations in messages.
std::string seconds_text(double seconds);

// A listener on `at` (SO_REUSEADDR, non-blocking; port 0: the kernel picks
// one, see local_endpoint). With or_wildcard, an address this host does not
// have (a name resolved through NAT, say) falls back to all of the host's
// addresses on that port. Throws Error(SystemError) naming `who` ("bootstrap",
// "tcp") and the address when the OS refuses.
Fd listen_on(const Endpoint& at, bool or_wildcard = false, std::string_view who = "bootstrap");

// Starts a non-blocking connect (TCP_NODELAY set). Returns the socket,
// connected or still connecting (wait for POLLOUT, then connect_result), or
// an empty Fd with *error set to the errno.
Fd start_connect(const Endpoint& to, int* error);
// 0 once a connect finished well, else its errno (SO_ERROR).
int connect_result(int fd);

// Connects to `to`, retrying refused or unreachable attempts with backoff
// until `deadline` (or the CancelScope's raise): the listener may not exist yet. Returns an empty
// Fd on timeout, with the last OS complaint in *last_error. Throws Error(SystemError) on an error
// that retrying cannot cure.
Fd connect_with_retry(const Endpoint& to, const Deadline& deadline, std::string* last_error);

// One pending connection from a non-blocking listener (non-blocking,
// TCP_NODELAY), or an empty Fd when none is waiting (*error = 0) or accept
// failed (*error = errno).
Fd accept_pending(int listen_fd, Endpoint* peer, int* error);

// Writes all of head then body, waiting for room until the deadline.
IoResult send_all(int fd, std::string_view head, std::string_view body, const Deadline& deadline);

// One attempt that never waits: for parting words (a rejection reason, an
// abort notice) to a peer that may not be reading. True if all was sent.
bool send_now(int fd, std::string_view bytes);

// Waits until fd is readable (or hung up). Ok, TimedOut, or Failed.
IoResult wait_readable(int fd, const Deadline& deadline);

}  // namespace colossus::bootstrap
