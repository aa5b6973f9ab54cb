// admission.hpp: rank 0 lets the job's ranks in and turns everyone else away.
//
// Rank 0's port is reachable by anything on the network: port scanners,
// health checks, a rank of another job given a stale id, a rank of an older
// build. admit_members() accepts connections without blocking, polls all of
// them at once, and gives each only a short time to send a complete hello,
// so no stranger (stalled, chatty, or malicious) can hold up the real ranks.
// A refused connection gets a Reject frame saying why (when it is still
// listening), is closed, and is logged at WARN; the job keeps waiting.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bootstrap/socket.hpp"

namespace colossus::bootstrap {

struct AdmissionPolicy {
  uint64_t secret = 0;
  int nranks = 0;
  double timeout_s = 0;        // the whole setup's, for messages
  double hello_timeout_s = 5;  // how long one connection may take to say hello
};

struct Member {
  Fd fd;
  std::string who;  // "host pid N at 10.0.0.3:41234", for messages
};

// Returns members[1..nranks-1], each the connection of that rank after a
// valid hello (members[0] stays empty). A hello is valid when its protocol
// version and secret match ours, it names our nranks and a rank in 1..n-1
// that has not joined yet (the first connection to claim a rank keeps it).
// Throws Error(Timeout) naming the missing ranks when `deadline` passes, and
// Error(SystemError) when accept() fails for want of file descriptors.
std::vector<Member> admit_members(int listener, const AdmissionPolicy& policy,
                                  const Deadline& deadline);

// The last 256 connections the bootstrap turned away in this process, one
// line each ("...rejected a connection from ADDR: REASON"), oldest first.
// Thread-safe; for diagnostics and tests.
std::vector<std::string> rejection_log();

}  // namespace colossus::bootstrap
