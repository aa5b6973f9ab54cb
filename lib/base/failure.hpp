// failure.hpp: the first failure of a job, as one process knows it.
//
// A Failure names the rank that failed first and how: it aborted or revoked
// its communicator, its process exited, it stopped answering, it hit an
// error of its own, or (as seen by another rank) its connection dropped.
// A FailureState holds the first one a process learns of. Whoever detects
// or hears of a failure raises it there: abort() and revoke(), the
// bootstrap's watch (lib/bootstrap/watch.hpp) relaying another rank's
// notice, a group of ranks-as-threads sharing one state. Whoever waits
// checks raised() between polls (one atomic load) and stops with the error
// it describes, so every rank of a job stops within about a second of the
// first failure instead of at its own timeout.
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "colossus/error.hpp"

namespace colossus::base {

// Wire values (the bootstrap sends them): append only.
enum class FailureKind : uint32_t {
  Aborted = 1,      // abort() was called on that rank
  Revoked = 2,      // revoke() was called on that rank
  Exited = 3,       // its process exited or was killed (its connections closed, no goodbye)
  Unreachable = 4,  // nothing heard from it for a while (link cut, process stopped)
  Error = 5,        // it hit an error of its own (a timeout, a system error); detail says which
  PeerLost = 6,     // `reporter` lost its connection to `rank` (a secondary view)
  Left = 7,         // it destroyed its communicator while others still needed it
  Stopped = 8,      // not a failure: where `rank` stopped because of one (for the job's log)
};
const char* to_string(FailureKind kind);

struct Failure {
  int rank = -1;      // the rank that failed (of the job: the root communicator)
  int reporter = -1;  // the rank that noticed (== rank for its own abort/error)
  FailureKind kind = FailureKind::Error;
  ErrorCode code = ErrorCode::RemoteError;  // for Error: the failed rank's own code
  std::string detail;                       // human words: "its connection reset", the error text
};

// "rank 2 failed first: its process exited (...); noticed by rank 0".
std::string describe(const Failure& f);

class FailureState {
 public:
  // Records `f` if nothing was raised before (true), then runs every
  // waker; later failures are ignored (false).
  bool raise(Failure f);
  // The hot path's check.
  bool raised() const { return raised_.load(std::memory_order_acquire); }
  std::optional<Failure> first() const;
  // The error a call on rank `me` throws once raised: Aborted when `me`
  // aborted or revoked itself, else RemoteError naming the failed rank;
  // `where` (what the call was doing) goes in front.
  Error error_for(int me, const std::string& where) const;
  // Runs `wake` on every raise (ring a doorbell, say). Never removed: the
  // state outlives nothing it wakes.
  void on_raise(std::function<void()> wake);
  // Whether notices from other ranks can arrive here (a watch runs): a
  // rank that loses a peer then waits briefly for the root cause.
  void set_expects_notices(bool v) { expects_notices_.store(v, std::memory_order_release); }
  bool expects_notices() const { return expects_notices_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> raised_{false};
  std::atomic<bool> expects_notices_{false};
  mutable std::mutex mu_;
  std::optional<Failure> first_;
  std::vector<std::function<void()>> wakers_;
};

}  // namespace colossus::base
