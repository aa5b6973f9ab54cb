// failure.cc: abort, revoke, state, and how a call's error becomes the
// job's failure (see "Failures" in colossus.hpp and comm_impl.hpp), and the
// communicators a non-blocking init or split is still building.
#include <chrono>
#include <thread>

#include "base/logging.hpp"
#include "bootstrap/watch.hpp"
#include "comm/comm_impl.hpp"

namespace colossus {
namespace detail {

Link::~Link() {
  // The watch says goodbye last, once the connections are closed: a peer
  // that still waits on this rank then hears "it left", not "it died".
  {
    std::lock_guard lock(bell->mu);
    bell->bell = nullptr;
  }
  executor.reset();
  transport.reset();
  if (watch) watch->depart();
  watch.reset();
  if (own_spare) bootstrap::discard_unique_id(*own_spare);
}

void Link::check_usable(const char* call) const {
  if (failure->raised()) throw failure->error_for(root_rank, call);
}

void Link::spread(const base::Failure& f) {
  failure->raise(f);
  if (watch) watch->report(f);
}

void Link::note_failure(const Error& e) {
  switch (e.code()) {
    case ErrorCode::InvalidArgument:
    case ErrorCode::InvalidUsage:
    case ErrorCode::Aborted: return;  // the caller's mistake, or the failure's own error
    default: break;
  }
  base::Failure f;
  if (failure->raised()) {
    // This error is the failure's consequence: where this rank stopped goes
    // to rank 0's log, which so shows where every rank of the job was.
    if (watch)
      watch->report({root_rank, root_rank, base::FailureKind::Stopped, e.code(), e.what()});
    return;
  }
  f.rank = root_rank;
  f.reporter = root_rank;
  f.code = e.code();
  f.detail = e.what();
  const int lost = executor ? executor->lost_peer() : -1;
  if (lost >= 0) {
    f.rank = lost;
    f.kind = base::FailureKind::PeerLost;
  }
  spread(f);
}

void Link::use_failure_state(std::shared_ptr<base::FailureState> state) {
  failure = std::move(state);
  executor->set_failure_state(failure.get());
  {
    std::lock_guard lock(bell->mu);
    bell->bell = &transport->doorbell();
  }
  // The executor may sleep on its doorbell: a raise rings it. The waker
  // holds the Bell, not the Link, which may be gone by then.
  failure->on_raise([b = bell] {
    std::lock_guard lock(b->mu);
    if (b->bell) b->bell->ring();
  });
}

void Link::tear_down(double wait_s) {
  // Polled, not a timed mutex: the call in flight stops within
  // milliseconds of the raise, and ThreadSanitizer cannot see a
  // pthread_mutex_clocklock.
  std::unique_lock lock(mutex, std::defer_lock);
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(wait_s));
  while (!lock.try_lock()) {
    if (std::chrono::steady_clock::now() >= until) {
      CLOG(Warn) << "abort: rank " << root_rank << "'s call in flight did not stop within "
                 << wait_s << " s; its connections close when the communicator is destroyed";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (torn_down) return;
  torn_down = true;
  {
    std::lock_guard b(bell->mu);
    bell->bell = nullptr;
  }
  executor.reset();
  transport.reset();
}

void CommImpl::abort() {
  base::Failure f;
  f.rank = f.reporter = link_->root_rank;
  f.kind = base::FailureKind::Aborted;
  link_->spread(f);
  // The call in flight sees the raise at its next poll (its doorbell was
  // rung), so it stops within milliseconds.
  // (The Plans and scratch stay until destroy(): the call in flight may
  // still hold them when another thread aborts.)
  if (!device_) link_->tear_down(std::max(1.0, settings_.timeout_s));
}

void CommImpl::revoke() {
  base::Failure f;
  f.rank = f.reporter = link_->root_rank;
  f.kind = base::FailureKind::Revoked;
  link_->spread(f);
}

CommState CommImpl::state() const {
  if (link_->failure->raised()) return CommState::Failed;
  if (device_) {
    try {
      device_->check_error();
    } catch (const Error&) {
      return CommState::Failed;
    }
  }
  return CommState::Ready;
}

void CommImpl::check_async_error() {
  if (device_) device_->check_error();
  link_->check_usable("check_async_error");
}

// ---- PendingComm ----------------------------------------------------------

PendingComm::PendingComm(
    std::function<std::shared_ptr<CommImpl>(const base::FailureState& cancel)> build,
    std::function<void()> on_abort, double timeout_s)
    : on_abort_(std::move(on_abort)), timeout_s_(timeout_s) {
  worker_ = std::thread([this, build = std::move(build)] {
    std::shared_ptr<CommImpl> made;
    std::optional<Error> failed;
    try {
      made = build(cancel_);
      if (cancel_.raised()) {  // aborted as it finished: abort what was built
        made->abort();
        failed = Error(ErrorCode::Aborted, "init: aborted while in progress");
      }
    } catch (const Error& e) {
      failed = cancel_.raised()
                   ? Error(ErrorCode::Aborted,
                           std::string("init: aborted while in progress (") + e.what() + ")")
                   : e;
    } catch (const std::exception& e) {
      failed = Error(ErrorCode::InternalError, std::string("init: ") + e.what());
    }
    std::lock_guard lock(mu_);
    result_ = std::move(made);
    error_ = std::move(failed);
    done_ = true;
    done_cv_.notify_all();
  });
}

PendingComm::~PendingComm() {
  {
    std::lock_guard lock(mu_);
    if (!done_) {
      base::Failure f;
      f.kind = base::FailureKind::Aborted;
      cancel_.raise(f);
    }
  }
  if (worker_.joinable()) worker_.join();
}

CommState PendingComm::state() const {
  std::lock_guard lock(mu_);
  if (!done_) return CommState::InProgress;
  if (error_) return CommState::Failed;
  return result_->state();
}

CommImpl& PendingComm::get(const char* call) {
  std::unique_lock lock(mu_);
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(timeout_s_ + 5));
  if (!done_cv_.wait_until(lock, until, [&] { return done_; })) {
    throw Error(ErrorCode::Timeout, std::string(call) + ": the non-blocking init or split " +
                                        "did not finish within its timeout");
  }
  if (error_) throw *error_;
  return *result_;
}

void PendingComm::abort() {
  std::shared_ptr<CommImpl> made;
  {
    std::lock_guard lock(mu_);
    if (done_) {
      made = result_;
    } else {
      base::Failure f;
      f.kind = base::FailureKind::Aborted;
      cancel_.raise(f);
    }
  }
  if (made) {
    made->abort();
    return;
  }
  if (on_abort_) on_abort_();
  std::unique_lock lock(mu_);
  done_cv_.wait_for(lock, std::chrono::duration<double>(timeout_s_ + 5), [&] { return done_; });
}

void PendingComm::check_error() const {
  std::shared_ptr<CommImpl> made;
  {
    std::lock_guard lock(mu_);
    if (!done_) return;
    if (error_) throw *error_;
    made = result_;
  }
  made->check_async_error();
}

}  // namespace detail

// ---- The public handle's part ---------------------------------------------

Communicator::Communicator(std::shared_ptr<detail::PendingComm> pending)
    : pending_(std::move(pending)) {}

void Communicator::abort() {
  if (pending_) {
    pending_->abort();
  } else if (impl_) {
    impl_->abort();
  }
}

void Communicator::revoke() { impl("revoke").revoke(); }

CommState Communicator::state() const {
  if (pending_) return pending_->state();
  return impl("state").state();
}

void Communicator::check_async_error() {
  if (pending_) {
    pending_->check_error();
    return;
  }
  impl("check_async_error").check_async_error();
}

}  // namespace colossus
