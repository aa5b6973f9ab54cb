// failure.cc: see failure.hpp.
#include "base/failure.hpp"

namespace colossus::base {

const char* to_string(FailureKind kind) {
  switch (kind) {
    case FailureKind::Aborted: return "aborted";
    case FailureKind::Revoked: return "revoked";
    case FailureKind::Exited: return "exited";
    case FailureKind::Unreachable: return "unreachable";
    case FailureKind::Error: return "error";
    case FailureKind::PeerLost: return "peer lost";
    case FailureKind::Left: return "left";
    case FailureKind::Stopped: return "stopped";
  }
  return "unknown";
}

std::string describe(const Failure& f) {
  if (f.kind == FailureKind::Stopped)
    return "rank " + std::to_string(f.rank) + " stopped: " + f.detail;
  std::string s = "rank " + std::to_string(f.rank) + " failed first: ";
  switch (f.kind) {
    case FailureKind::Aborted: s += "it aborted the communicator"; break;
    case FailureKind::Revoked: s += "it revoked the communicator"; break;
    case FailureKind::Exited: s += "its process exited or was killed"; break;
    case FailureKind::Unreachable: s += "it stopped answering"; break;
    case FailureKind::Error: s += std::string("its own ") + colossus::to_string(f.code); break;
    case FailureKind::PeerLost:
      s += "rank " + std::to_string(f.reporter) + " lost its connection to it";
      break;
    case FailureKind::Left: s += "it destroyed its communicator while others needed it"; break;
    case FailureKind::Stopped: break;
  }
  if (!f.detail.empty()) s += " (" + f.detail + ")";
  if (f.reporter >= 0 && f.reporter != f.rank && f.kind != FailureKind::PeerLost)
    s += "; noticed by rank " + std::to_string(f.reporter);
  return s;
}

bool FailureState::raise(Failure f) {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard lock(mu_);
    if (first_) return false;
    first_ = std::move(f);
    raised_.store(true, std::memory_order_release);
    wake = wakers_;
  }
  for (auto& w : wake) w();
  return true;
}

std::optional<Failure> FailureState::first() const {
  std::lock_guard lock(mu_);
  return first_;
}

Error FailureState::error_for(int me, const std::string& where) const {
  const std::optional<Failure> f = first();
  const std::string prefix = where.empty() ? "" : where + ": ";
  if (!f) return Error(ErrorCode::InternalError, prefix + "no failure was raised");
  const bool own =
      f->rank == me && (f->kind == FailureKind::Aborted || f->kind == FailureKind::Revoked);
  if (own) {
    return Error(ErrorCode::Aborted, prefix + "this rank (" + std::to_string(me) + ") " +
                                         (f->kind == FailureKind::Aborted ? "aborted" : "revoked") +
                                         " the communicator");
  }
  // A rank's own error keeps its code; a timeout is everybody's timeout.
  if (f->kind == FailureKind::Error && (f->rank == me || f->code == ErrorCode::Timeout))
    return Error(f->code, prefix + describe(*f));
  return Error(ErrorCode::RemoteError, prefix + describe(*f));
}

void FailureState::on_raise(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  wakers_.push_back(std::move(wake));
}

}  // namespace colossus::base
