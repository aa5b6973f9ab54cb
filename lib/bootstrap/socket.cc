#include "bootstrap/socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <thread>

#include "colossus/error.hpp"

namespace colossus::bootstrap {

Deadline::Deadline(double seconds_from_now)
    : when_(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(seconds_from_now))) {}

namespace {
thread_local const base::FailureState* t_cancel = nullptr;
}  // namespace

CancelScope::CancelScope(const base::FailureState& state) : outer_(t_cancel) { t_cancel = &state; }
CancelScope::~CancelScope() { t_cancel = outer_; }
const base::FailureState* CancelScope::current() { return t_cancel; }
bool CancelScope::cancelled() { return t_cancel != nullptr && t_cancel->raised(); }

bool Deadline::passed() const { return Clock::now() >= when_ || CancelScope::cancelled(); }

int Deadline::poll_ms() const {
  const auto left = when_ - Clock::now();
  if (left <= Clock::duration::zero() || CancelScope::cancelled()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  if (t_cancel != nullptr) ms = std::min<long long>(ms, kCancelPollMs);
  return static_cast<int>(std::min<long long>(ms, INT_MAX));
}

Deadline Deadline::sooner(double seconds) const {
  const Deadline other(seconds);
  return other.when_ < when_ ? other : *this;
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.release();
  }
  return *this;
}

int Fd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void Fd::reset() {
  // close() is not retried on EINTR: on Linux the descriptor is gone either way.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string errno_text(int error) {
  char buf[128];
  return strerror_r(error, buf, sizeof buf);  // the GNU variant: returns the text
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", seconds);
  return text;
}

namespace {

void set_nodelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool retryable_connect_error(int error) {
  return error == ECONNREFUSED || error == ETIMEDOUT || error == ENETUNREACH ||
         error == EHOSTUNREACH || error == ECONNRESET || error == ECONNABORTED || error == EAGAIN;
}

}  // namespace

Fd listen_on(const Endpoint& at, bool or_wildcard, std::string_view who) {
  const std::string prefix = std::string(who) + ": ";
  Fd fd(::socket(at.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw Error(ErrorCode::SystemError, prefix + "socket(): " + errno_text(errno));
  // A restarted job reuses its port while the last run's sockets sit in TIME_WAIT.
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc = ::bind(fd.get(), at.addr(), at.len);
  if (rc != 0 && errno == EADDRNOTAVAIL && or_wildcard) {
    const Endpoint any = at.wildcard();
    rc = ::bind(fd.get(), any.addr(), any.len);  // a failed bind leaves the socket unbound
  }
  if (rc != 0) {
    throw Error(ErrorCode::SystemError,
                prefix + "cannot bind a listener to " + at.str() + ": " + errno_text(errno));
  }
  // The kernel clamps the backlog to net.core.somaxconn; ask for plenty so
  // hundreds of ranks (or every peer's sockets) arriving at once are queued,
  // not refused.
  if (::listen(fd.get(), 65535) != 0) {
    throw Error(ErrorCode::SystemError,
                prefix + "cannot listen on " + at.str() + ": " + errno_text(errno));
  }
  return fd;
}

Fd start_connect(const Endpoint& to, int* error) {
  Fd fd(::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    *error = errno;
    return {};
  }
  set_nodelay(fd.get());
  int rc;
  while ((rc = ::connect(fd.get(), to.addr(), to.len)) != 0 && errno == EINTR) {
  }
  // EINTR above cannot recur: a retried connect reports EALREADY or EISCONN instead.
  if (rc != 0 && errno != EINPROGRESS && errno != EALREADY && errno != EISCONN) {
    *error = errno;
    return {};
  }
  *error = 0;
  return fd;
}

int connect_result(int fd) {
  int error = 0;
  socklen_t len = sizeof error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) return errno;
  return error;
}

Fd connect_with_retry(const Endpoint& to, const Deadline& deadline, std::string* last_error) {
  auto backoff = std::chrono::milliseconds(10);
  for (;;) {
    int error = 0;
    Fd fd = start_connect(to, &error);
    if (fd) {
      pollfd p{fd.get(), POLLOUT, 0};
      int ready;
      // poll_ms() is capped under a CancelScope: only passed() ends the wait.
      while (((ready = ::poll(&p, 1, deadline.poll_ms())) < 0 && errno == EINTR) ||
             (ready == 0 && !deadline.passed())) {
      }
      if (ready == 0) {
        if (last_error->empty()) *last_error = "no answer";
        return {};
      }
      error = ready < 0 ? errno : connect_result(fd.get());
      if (error == 0) return fd;
    }
    *last_error = errno_text(error);
    if (!retryable_connect_error(error)) {
      throw Error(ErrorCode::SystemError,
                  "bootstrap: cannot connect to " + to.str() + ": " + *last_error);
    }
    // The backoff sleeps in slices of poll_ms(), so a cancel ends it too.
    const auto until = std::min(Clock::now() + backoff, deadline.when());
    while (!deadline.passed() && Clock::now() < until) {
      std::this_thread::sleep_for(std::min<Clock::duration>(
          until - Clock::now(), std::chrono::milliseconds(deadline.poll_ms())));
    }
    if (deadline.passed()) return {};
    backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
  }
}

Fd accept_pending(int listen_fd, Endpoint* peer, int* error) {
  for (;;) {
    peer->len = sizeof peer->ss;
    const int fd = ::accept4(listen_fd, peer->addr(), &peer->len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      set_nodelay(fd);
      *error = 0;
      return Fd(fd);
    }
    // A client that gave up between SYN and accept is no error of ours.
    if (errno == EINTR || errno == ECONNABORTED) continue;
    *error = (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : errno;
    return {};
  }
}

IoResult send_all(int fd, std::string_view head, std::string_view body, const Deadline& deadline) {
  iovec parts[2] = {{const_cast<char*>(head.data()), head.size()},
                    {const_cast<char*>(body.data()), body.size()}};
  int first = 0;
  while (first < 2) {
    if (parts[first].iov_len == 0) {
      ++first;
      continue;
    }
    msghdr msg{};
    msg.msg_iov = parts + first;
    msg.msg_iovlen = static_cast<std::size_t>(2 - first);
    // MSG_NOSIGNAL: a vanished peer is an error to report, not a SIGPIPE.
    const ssize_t sent = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (sent >= 0) {
      auto left = static_cast<std::size_t>(sent);
      for (int i = first; i < 2 && left > 0; ++i) {
        const std::size_t take = std::min(left, parts[i].iov_len);
        parts[i].iov_base = static_cast<char*>(parts[i].iov_base) + take;
        parts[i].iov_len -= take;
        left -= take;
      }
      continue;
    }
    const int error = errno;
    if (error == EINTR) continue;
    if (error == EPIPE || error == ECONNRESET) return {Io::Closed, error};
    if (error != EAGAIN && error != EWOULDBLOCK) return {Io::Failed, error};
    pollfd p{fd, POLLOUT, 0};
    const int ready = ::poll(&p, 1, deadline.poll_ms());
    if (ready == 0 && deadline.passed()) return {Io::TimedOut, 0};
    if (ready < 0 && errno != EINTR) return {Io::Failed, errno};
  }
  return {};
}

bool send_now(int fd, std::string_view bytes) {
  const ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  return sent == static_cast<ssize_t>(bytes.size());
}

IoResult wait_readable(int fd, const Deadline& deadline) {
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, deadline.poll_ms());
    if (ready > 0) return {};
    if (ready == 0) {
      if (deadline.passed()) return {Io::TimedOut, 0};
      continue;  // a capped poll_ms() (CancelScope), not the deadline
    }
    if (errno != EINTR) return {Io::Failed, errno};
  }
}

}  // namespace colossus::bootstrap
