// progress.cc: the progress thread's loop, its sleep, and shutting down.
#include "transports/ucx/progress.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/logging.hpp"
#include "colossus/error.hpp"

namespace colossus::transport {

using ucx::Stream;

namespace {
std::chrono::duration<double> seconds(double s) { return std::chrono::duration<double>(s); }
}  // namespace

UcxProgress::UcxProgress(int rank, int nranks, Doorbell& bell, UcxOptions options,
                         std::unique_ptr<ucx::Worker> worker, std::vector<std::string> addresses)
    : rank_(rank),
      nranks_(nranks),
      bell_(bell),
      options_(std::move(options)),
      worker_(std::move(worker)),
      addresses_(std::move(addresses)),
      peers_(static_cast<std::size_t>(nranks)),
      handle_errors_(!ucx::shared_memory_only(options_.tls)) {
  for (int p = 0; p < nranks_; ++p) {
    peers_[static_cast<std::size_t>(p)].self = this;
    peers_[static_cast<std::size_t>(p)].rank = p;
  }
  wake_fd_ = bootstrap::Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd_) {
    throw Error(ErrorCode::SystemError, "ucx: eventfd: " + bootstrap::errno_text(errno));
  }
  thread_ = std::thread([this] { run(); });
}

UcxProgress::~UcxProgress() {
  stop_.store(true);
  wake();
  thread_.join();
  // The streams' memory was unmapped by the thread; no UCX call is left.
  worker_.reset();
}

void UcxProgress::wake() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
}

Stream& UcxProgress::send_stream(int peer, int channel) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& s = send_map_[{peer, channel}];
  if (!s) {
    s = std::make_unique<Stream>(true, peer, channel, options_.slot_bytes, options_.depth);
    if (dead_) s->ring.failed.store(true);
    new_sends_.push_back(s.get());
    news_.store(true);
    wake();
  }
  return *s;
}

Stream& UcxProgress::recv_stream(int peer, int channel) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& r = recv_map_[{peer, channel}];
  if (!r) {
    r = std::make_unique<Stream>(false, peer, channel, options_.slot_bytes,
                                 options_.depth * kRecvDepthFactor);
    if (dead_) r->ring.failed.store(true);
    new_recvs_.push_back(r.get());
    news_.store(true);
    wake();
  }
  return *r;
}

std::string UcxProgress::first_lane() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_lane_;
}

void UcxProgress::run() {
  pthread_setname_np(pthread_self(), "colossus-ucx");
  try {
    post_goodbye_recv();
    post_control_recv(credit_in_, &credit_buf_, sizeof credit_buf_, ucx::kCredit);
    loop();
  } catch (const std::exception& e) {
    // Nothing can make progress any more: fail every stream, so executors
    // see PeerFailed now instead of a timeout later.
    CLOG(Warn) << "ucx rank " << rank_ << ": progress thread stopped: " << e.what();
    std::lock_guard<std::mutex> lock(mu_);
    dead_ = true;
    for (auto& [key, s] : send_map_) s->ring.failed.store(true, std::memory_order_release);
    for (auto& [key, r] : recv_map_) r->ring.failed.store(true, std::memory_order_release);
    bell_.ring();
  }
  shut_down();
}

void UcxProgress::loop() {
  const auto idle_limit = seconds(std::min(options_.timeout_s, kLingerIdleS));
  for (;;) {
    bool moved = adopt_new_streams();
    for (Stream* s : sends_) moved |= post_sends(*s);
    for (Stream* r : recvs_) moved |= post_recvs(*r) | announce(*r);
    while (ucp_worker_progress(worker_->worker) != 0) moved = true;
    moved |= check_credits();
    for (Stream* s : sends_) moved |= post_sends(*s);  // credits that just came
    for (Stream* s : sends_) moved |= complete_sends(*s);
    for (Stream* r : recvs_) moved |= complete_recvs(*r);
    moved |= check_goodbye();
    apply_peer_states();
    if (ring_bell_) {
      ring_bell_ = false;
      bell_.ring();
    }
    const auto now = Clock::now();
    if (stop_.load()) {
      if (!stopping_) {
        stopping_ = true;
        last_progress_ = now;
      }
      if (!unflushed()) return;
      if (now - last_progress_ >= idle_limit) {
        CLOG(Warn) << "ucx rank " << rank_ << ": closing with unsent messages: peers took "
                   << "nothing for " << std::min(options_.timeout_s, kLingerIdleS) << " s";
        return;
      }
    }
    // Nothing moved: sleep at once. A spin before it cost more than it
    // saved where ranks outnumber cores (8 B allreduce, 2 processes on 2
    // cores: 90 us with a 20 us spin, 55 us without).
    if (!moved) sleep();
  }
}

bool UcxProgress::has_work() const {
  if (news_.load() || stop_.load()) return true;
  for (const Stream* s : sends_) {
    if (!s->ring.failed.load(std::memory_order_relaxed) &&
        std::min(s->ring.head.load(std::memory_order_acquire), s->credit) > s->posted)
      return true;
  }
  for (const Stream* r : recvs_) {
    if (!r->ring.failed.load(std::memory_order_relaxed) &&
        r->ring.tail.load(std::memory_order_acquire) + r->ring.depth != r->posted)
      return true;
  }
  return false;
}

bool UcxProgress::unflushed() const {
  for (const Stream* s : sends_) {
    if (!s->ring.failed.load(std::memory_order_relaxed) &&
        s->ring.tail.load(std::memory_order_relaxed) !=
            s->ring.head.load(std::memory_order_acquire))
      return true;
  }
  return false;
}

void UcxProgress::sleep() {
  // Announce the sleep before looking for work: an executor that publishes
  // after this fence sees the flag and writes the eventfd; one that
  // published before is seen by has_work(). No wake-up is lost.
  sleeping_.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (has_work()) {
    sleeping_.store(false, std::memory_order_relaxed);
    return;
  }
  int timeout_ms = -1;
  if (worker_->event_fd < 0) {
    timeout_ms = 1;  // UCX cannot wake us: poll
  } else {
    const ucs_status_t st = ucp_worker_arm(worker_->worker);
    if (st == UCS_ERR_BUSY) {  // events arrived meanwhile: progress them
      sleeping_.store(false, std::memory_order_relaxed);
      return;
    }
    if (st != UCS_OK) timeout_ms = 1;
  }
  if (stopping_ || closing_peers_) timeout_ms = timeout_ms < 0 ? 10 : std::min(timeout_ms, 10);
  pollfd pfds[2] = {{wake_fd_.get(), POLLIN, 0}, {worker_->event_fd, POLLIN, 0}};
  const int ready = ::poll(pfds, worker_->event_fd < 0 ? 1 : 2, timeout_ms);
  sleeping_.store(false, std::memory_order_relaxed);
  if (ready < 0 && errno != EINTR) {
    throw Error(ErrorCode::SystemError, "ucx: poll: " + bootstrap::errno_text(errno));
  }
  if (ready > 0 && (pfds[0].revents & POLLIN)) {
    uint64_t count = 0;
    [[maybe_unused]] const ssize_t n = ::read(wake_fd_.get(), &count, sizeof count);
  }
}

}  // namespace colossus::transport
