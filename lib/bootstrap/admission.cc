#include "bootstrap/admission.hpp"

#include <poll.h>

#include <cerrno>
#include <deque>
#include <mutex>

#include "base/logging.hpp"
#include "bootstrap/frame.hpp"
#include "colossus/error.hpp"

namespace colossus::bootstrap {

namespace {

constexpr std::size_t kRejectionLogLines = 256;

std::mutex log_mu;
std::deque<std::string> log_lines;

void record_rejection(const std::string& line) {
  CLOG(Warn) << line;
  std::lock_guard<std::mutex> lock(log_mu);
  log_lines.push_back(line);
  if (log_lines.size() > kRejectionLogLines) log_lines.pop_front();
}

// A connection that has not finished its hello yet.
struct Candidate {
  Fd fd;
  Endpoint peer;
  Deadline deadline;
  FrameReader reader{kMaxHelloBytes};
};

// Logs, records, tells the peer why (unless `reply` is Success: it is gone)
// and closes. Returns the logged line.
std::string refuse(Candidate& c, const std::string& reason, ErrorCode reply) {
  std::string line = "bootstrap: rank 0 rejected a connection from " + c.peer.str() + ": " + reason;
  record_rejection(line);
  if (reply != ErrorCode::Success) {
    send_now(c.fd.get(), whole_frame(FrameType::Reject, encode_failure(reply, reason)));
  }
  c.fd.reset();
  return line;
}

class Admission {
 public:
  explicit Admission(const AdmissionPolicy& policy) : policy_(policy), members_(policy.nranks) {}

  bool complete() const { return admitted_ == policy_.nranks - 1; }
  std::vector<Member>& members() { return members_; }

  // Reads what `c` sent and decides, once its hello is whole or broken.
  void examine(Candidate& c) {
    switch (c.reader.pump(c.fd.get())) {
      case FrameReader::State::NeedMore:
      case FrameReader::State::TimedOut: return;
      case FrameReader::State::Closed:
        return turn_away(c,
                         c.reader.bytes_received() == 0
                             ? "closed without sending a hello"
                             : "closed after " + std::to_string(c.reader.bytes_received()) +
                                   " bytes of a truncated hello",
                         ErrorCode::Success);
      case FrameReader::State::Failed:
        return turn_away(c, "read failed: " + errno_text(c.reader.error()), ErrorCode::Success);
      case FrameReader::State::Malformed:
        return turn_away(c, c.reader.problem(), ErrorCode::InvalidUsage);
      case FrameReader::State::Complete: break;
    }
    const uint32_t type = c.reader.type();
    const std::string payload = c.reader.take_payload();
    Hello hello;
    if (type != static_cast<uint32_t>(FrameType::Hello)) {
      return turn_away(c, std::string("sent '") + frame_type_name(type) + "' before a hello",
                       ErrorCode::InvalidUsage);
    }
    if (!decode_hello(payload, &hello)) {
      return turn_away(c, "malformed hello of " + std::to_string(payload.size()) + " bytes",
                       ErrorCode::InvalidUsage);
    }
    if (hello.version != kProtocolVersion) {
      return turn_away(c,
                       "version mismatch: peer speaks v" + std::to_string(hello.version) +
                           ", we speak v" + std::to_string(kProtocolVersion),
                       ErrorCode::InvalidUsage);
    }
    if (hello.secret != policy_.secret) {
      return turn_away(c, "wrong secret: not a rank of this job (another job's or a stale id?)",
                       ErrorCode::InvalidUsage);
    }
    const std::string claim = "rank " + std::to_string(hello.rank);
    if (hello.nranks != static_cast<uint32_t>(policy_.nranks)) {
      return turn_away(c,
                       claim + " says the job has " + std::to_string(hello.nranks) +
                           " ranks; rank 0 says " + std::to_string(policy_.nranks),
                       ErrorCode::InvalidUsage);
    }
    if (hello.rank == 0 || hello.rank >= hello.nranks) {
      return turn_away(c, claim + " is out of range 1.." + std::to_string(policy_.nranks - 1),
                       ErrorCode::InvalidUsage);
    }
    Member& slot = members_[hello.rank];
    if (slot.fd) {
      return turn_away(c, "duplicate " + claim + ": already joined from " + slot.who,
                       ErrorCode::InvalidUsage);
    }
    slot.who = hello.who + " at " + c.peer.str();
    slot.fd = std::move(c.fd);
    ++admitted_;
    CLOG_SUB(Trace, Bootstrap) << "bootstrap: rank 0 admitted " << claim << " (" << slot.who << ")";
  }

  void turn_away(Candidate& c, const std::string& reason, ErrorCode reply) {
    last_rejection_ = refuse(c, reason, reply);
  }

  // "2, 5, 7" or "2, 3, ... and 40 more": who has not joined yet.
  std::string missing_ranks() const {
    std::string missing;
    int listed = 0, unlisted = 0;
    for (int r = 1; r < policy_.nranks; ++r) {
      if (members_[static_cast<std::size_t>(r)].fd) continue;
      if (listed < 16)
        missing += (listed++ ? ", " : "") + std::to_string(r);
      else
        ++unlisted;
    }
    if (unlisted) missing += " and " + std::to_string(unlisted) + " more";
    return missing;
  }

  [[noreturn]] void time_out() const {
    std::string message = prefix() + "timed out after " + seconds_text(policy_.timeout_s) +
                          " with " + std::to_string(admitted_) + " of " +
                          std::to_string(policy_.nranks - 1) + " ranks joined; missing ranks " +
                          missing_ranks();
    if (!last_rejection_.empty()) message += " (last refused: " + last_rejection_ + ")";
    throw Error(ErrorCode::Timeout, message);
  }

  // An admitted rank must stay quiet until its Welcome; if its socket turns
  // readable it hung up, or sent an Abort because it gave up.
  [[noreturn]] void member_left(int rank) {
    Member& m = members_[static_cast<std::size_t>(rank)];
    FrameReader reader(kMaxHelloBytes);
    ErrorCode code = ErrorCode::RemoteError;
    std::string why = "closed its connection";
    if (reader.pump(m.fd.get()) == FrameReader::State::Complete &&
        reader.type() == static_cast<uint32_t>(FrameType::Abort)) {
      decode_failure(reader.take_payload(), &code, &why);
    }
    const std::string missing = missing_ranks();  // while `rank` still counts as in
    m.fd.reset();
    throw Error(code, prefix() + "rank " + std::to_string(rank) + " (" + m.who +
                          ") left before ranks " + missing + " joined: " + why);
  }

 private:
  std::string prefix() const {
    return "bootstrap rank 0/" + std::to_string(policy_.nranks) + ", setup: ";
  }

  AdmissionPolicy policy_;
  std::vector<Member> members_;
  int admitted_ = 0;
  std::string last_rejection_;
};

void admit_loop(int listener, const AdmissionPolicy& policy, const Deadline& deadline,
                Admission& admission, std::vector<Candidate>& candidates) {
  std::vector<pollfd> fds;
  std::vector<Member>& members = admission.members();
  while (!admission.complete()) {
    if (deadline.passed()) admission.time_out();
    Deadline wake = deadline;
    fds.assign(1, pollfd{listener, POLLIN, 0});
    for (const Candidate& c : candidates) {
      fds.push_back(pollfd{c.fd.get(), POLLIN, 0});
      if (c.deadline.when() < wake.when()) wake = c.deadline;
    }
    const std::size_t first_member = fds.size();
    for (const Member& m : members) fds.push_back(pollfd{m.fd.get(), POLLIN, 0});  // -1: ignored
    if (::poll(fds.data(), fds.size(), wake.poll_ms()) < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::SystemError, "bootstrap rank 0, setup: poll: " + errno_text(errno));
    }
    for (std::size_t r = 0; r < members.size(); ++r) {
      if (members[r].fd && fds[first_member + r].revents)
        admission.member_left(static_cast<int>(r));
    }
    // Earlier connections first: of two hellos claiming one rank, the first keeps it.
    for (std::size_t i = 0; i < candidates.size() && !admission.complete(); ++i) {
      if (fds[i + 1].revents) admission.examine(candidates[i]);
    }
    for (Candidate& c : candidates) {
      // By the clock alone: a cancelled setup (CancelScope) stalls no stranger.
      if (c.fd && Clock::now() >= c.deadline.when()) {
        admission.turn_away(c,
                            "stalled: " + std::to_string(c.reader.bytes_received()) +
                                " bytes of a hello in " + seconds_text(policy.hello_timeout_s),
                            ErrorCode::Timeout);
      }
    }
    std::erase_if(candidates, [](const Candidate& c) { return !c.fd; });
    if (fds[0].revents == 0 || admission.complete()) continue;
    for (;;) {
      Candidate c{Fd(), Endpoint(), deadline.sooner(policy.hello_timeout_s)};
      int error = 0;
      c.fd = accept_pending(listener, &c.peer, &error);
      if (!c.fd && error == 0) break;
      if (!c.fd) {
        throw Error(
            ErrorCode::SystemError,
            "bootstrap rank 0, setup: accept: " + errno_text(error) +
                (error == EMFILE || error == ENFILE
                     ? " (rank 0 holds one connection per rank: raise ulimit -n above nranks)"
                     : ""));
      }
      candidates.push_back(std::move(c));
    }
  }
}

}  // namespace

std::vector<Member> admit_members(int listener, const AdmissionPolicy& policy,
                                  const Deadline& deadline) {
  Admission admission(policy);
  std::vector<Candidate> candidates;
  try {
    admit_loop(listener, policy, deadline, admission, candidates);
  } catch (const Error& e) {
    // Ranks already in would otherwise wait out their own deadlines. A
    // setup another thread cancelled was aborted, whatever the wait said.
    const base::FailureState* cancel = CancelScope::current();
    const bool aborted = cancel != nullptr && cancel->raised();
    const std::string notice = whole_frame(
        FrameType::Abort,
        aborted ? encode_failure(ErrorCode::Aborted, "rank 0 aborted its init (abort() was called)")
                : encode_failure(e.code(), e.what()));
    for (Member& m : admission.members()) {
      if (m.fd) send_now(m.fd.get(), notice);
    }
    throw;
  }
  // The job is whole; whoever is still mid-hello is not part of it.
  for (Candidate& c : candidates) {
    if (c.fd) refuse(c, "the job is complete (its hello was unfinished)", ErrorCode::InvalidUsage);
  }
  return std::move(admission.members());
}

std::vector<std::string> rejection_log() {
  std::lock_guard<std::mutex> lock(log_mu);
  return {log_lines.begin(), log_lines.end()};
}

}  // namespace colossus::bootstrap
