// bootstrap.cc: setup, and the plumbing every collective shares (sending,
// receiving, failing). The collectives themselves are in collectives.cc.
#include "bootstrap/bootstrap.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/logging.hpp"
#include "bootstrap/admission.hpp"

namespace colossus::bootstrap {

namespace {

// Rank 0 gives a connection this long to finish its hello: real ranks send
// it at once, so only strangers ever need more.
constexpr double kHelloTimeoutS = 5;

std::string this_process() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + " pid " + std::to_string(getpid());
}

}  // namespace

Bootstrap::Bootstrap(int rank, int nranks, double timeout_s, uint64_t secret)
    : rank_(rank), nranks_(nranks), timeout_s_(timeout_s), secret_(secret) {}

Bootstrap::~Bootstrap() = default;  // closing sockets never blocks (no SO_LINGER)

std::vector<std::string> Bootstrap::rejected_log() { return rejection_log(); }

std::unique_ptr<Bootstrap> Bootstrap::create(const UniqueId& id, int rank, int nranks,
                                             double timeout_s) {
  std::string why;
  if (!check_unique_id(id, &why)) {
    throw Error(ErrorCode::InvalidArgument, "bootstrap: bad unique id: " + why);
  }
  if (nranks < 1 || rank < 0 || rank >= nranks) {
    throw Error(ErrorCode::InvalidArgument, "bootstrap: rank " + std::to_string(rank) + " of " +
                                                std::to_string(nranks) + " is out of range");
  }
  if (!(timeout_s > 0)) {
    throw Error(ErrorCode::InvalidArgument, "bootstrap: the timeout must be positive");
  }
  std::unique_ptr<Bootstrap> b(new Bootstrap(rank, nranks, timeout_s, id.secret));
  const Deadline deadline(timeout_s);
  try {
    if (rank == 0)
      b->setup_root(id, deadline);
    else
      b->setup_member(id, deadline);
  } catch (const Error& e) {
    b->fail(b->cancelled_or("setup", e));
  }
  return b;
}

Error Bootstrap::cancelled_or(const char* op, const Error& e) const {
  const base::FailureState* cancel = CancelScope::current();
  if (cancel == nullptr || !cancel->raised()) return e;
  const std::optional<base::Failure> why = cancel->first();
  return error(ErrorCode::Aborted, op,
               "aborted by another thread (" +
                   (why ? base::describe(*why) : std::string("no failure named")) +
                   "); it was at: " + e.what());
}

Endpoint Bootstrap::local_address() const {
  for (const Fd& link : links_) {
    if (link) return local_endpoint(link.get());
  }
  return default_endpoint();  // a job of one
}

Bootstrap::Links Bootstrap::hand_over_links() {
  const std::string prefix =
      "bootstrap rank " + std::to_string(rank_) + "/" + std::to_string(nranks_) + ": ";
  if (handed_over_) {
    throw Error(ErrorCode::InvalidUsage, prefix + "its connections are watched already");
  }
  if (!broken_.empty()) {
    throw Error(ErrorCode::InvalidUsage,
                prefix + "cannot watch the connections of a failed bootstrap: " + broken_);
  }
  handed_over_ = true;
  Links out{std::move(links_), who_};
  links_.clear();
  return out;
}

void Bootstrap::setup_root(const UniqueId& id, const Deadline& deadline) {
  const auto started = Clock::now();
  Fd listener = take_listener(id);
  if (!listener) {
    // The id was made elsewhere (a launcher, unique_id_for): listen now.
    Endpoint at;
    std::string why;
    from_wire(id.root, &at, &why);
    listener = listen_on(at, /*or_wildcard=*/true);
  }
  who_.assign(static_cast<std::size_t>(nranks_), "");
  links_.resize(static_cast<std::size_t>(nranks_));
  who_[0] = "rank 0 (" + this_process() + ")";
  if (nranks_ == 1) return;
  AdmissionPolicy policy;
  policy.secret = secret_;
  policy.nranks = nranks_;
  policy.timeout_s = timeout_s_;
  policy.hello_timeout_s = std::min(kHelloTimeoutS, timeout_s_);
  std::vector<Member> members = admit_members(listener.get(), policy, deadline);
  listener.reset();  // the job is whole: latecomers are refused by the kernel
  for (int r = 1; r < nranks_; ++r) {
    auto& m = members[static_cast<std::size_t>(r)];
    links_[static_cast<std::size_t>(r)] = std::move(m.fd);
    who_[static_cast<std::size_t>(r)] = "rank " + std::to_string(r) + " (" + m.who + ")";
  }
  const std::string welcome =
      Encoder().u64(secret_).u32(static_cast<uint32_t>(nranks_)).bytes(this_process()).take();
  send_to_members(FrameType::Welcome, welcome, "setup", deadline);
  CLOG_SUB(Info, Bootstrap)
      << "bootstrap: rank 0 assembled " << nranks_ << " ranks in "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()
      << " ms";
}

void Bootstrap::setup_member(const UniqueId& id, const Deadline& deadline) {
  drop_inherited_listener(id);
  Endpoint root;
  std::string why;
  from_wire(id.root, &root, &why);
  links_.resize(1);
  who_.assign(1, "rank 0 at " + root.str());
  std::string last_error;
  links_[0] = connect_with_retry(root, deadline, &last_error);
  if (!links_[0]) {
    throw error(ErrorCode::Timeout, "setup",
                "could not connect to rank 0 at " + root.str() + " within " +
                    seconds_text(timeout_s_) + " (last error: " + last_error + ")");
  }
  Hello hello;
  hello.rank = static_cast<uint32_t>(rank_);
  hello.nranks = static_cast<uint32_t>(nranks_);
  hello.secret = secret_;
  hello.who = this_process();
  send_to(0, FrameType::Hello, encode_hello(hello), "setup", deadline);
  const std::string welcome = receive_from(0, FrameType::Welcome, "setup", deadline);
  Decoder d(welcome);
  uint64_t secret = 0;
  uint32_t nranks = 0;
  if (!d.u64(&secret) || !d.u32(&nranks) || secret != secret_ ||
      nranks != static_cast<uint32_t>(nranks_)) {
    throw error(ErrorCode::RemoteError, "setup",
                "the process at " + root.str() + " answered, but not as this job's rank 0");
  }
  who_[0] = "rank 0 (" + std::string(d.rest()) + " at " + root.str() + ")";
}

Error Bootstrap::error(ErrorCode code, const char* op, const std::string& what) const {
  return {code, "bootstrap rank " + std::to_string(rank_) + "/" + std::to_string(nranks_) + ", " +
                    op + ": " + what};
}

void Bootstrap::fail(const Error& error) {
  if (broken_.empty()) {
    broken_code_ = error.code();
    broken_ = error.what();
  }
  // Parting words, never waited on: a peer that is not reading gets EOF instead.
  const std::string notice =
      whole_frame(FrameType::Abort, encode_failure(error.code(), error.what()));
  for (Fd& link : links_) {
    if (link) send_now(link.get(), notice);
    link.reset();
  }
  throw error;
}

void Bootstrap::send_to(int peer, FrameType type, std::string_view payload, const char* op,
                        const Deadline& deadline) {
  const IoResult r =
      send_frame(links_[static_cast<std::size_t>(peer)].get(), type, payload, deadline);
  const std::string& who = who_[static_cast<std::size_t>(peer)];
  switch (r.io) {
    case Io::Ok: return;
    case Io::TimedOut:
      throw error(ErrorCode::Timeout, op,
                  std::string("could not send '") + frame_type_name(static_cast<uint32_t>(type)) +
                      "' to " + who + " within " + seconds_text(timeout_s_) +
                      ": it is not reading");
    case Io::Closed:
      throw error(ErrorCode::RemoteError, op, who + " closed the connection (it exited or failed)");
    case Io::Failed:
      throw error(ErrorCode::RemoteError, op, "sending to " + who + ": " + errno_text(r.error));
  }
}

void Bootstrap::send_to_members(FrameType type, std::string_view payload, const char* op,
                                const Deadline& deadline, int skip) {
  for (int r = 1; r < nranks_; ++r) {
    if (r != skip) send_to(r, type, payload, op, deadline);
  }
}

std::string Bootstrap::receive_from(int peer, FrameType type, const char* op,
                                    const Deadline& deadline) {
  FrameReader reader(kMaxFrameBytes);
  const auto state = reader.read(links_[static_cast<std::size_t>(peer)].get(), deadline);
  return take_frame(peer, reader, state, type, op);
}

std::string Bootstrap::take_frame(int peer, FrameReader& reader, FrameReader::State state,
                                  FrameType expected, const char* op) {
  const std::string& who = who_[static_cast<std::size_t>(peer)];
  const char* wanted = frame_type_name(static_cast<uint32_t>(expected));
  switch (state) {
    case FrameReader::State::Complete: break;
    case FrameReader::State::NeedMore:
    case FrameReader::State::TimedOut:
      throw error(ErrorCode::Timeout, op,
                  std::string("no ") + wanted + " from " + who + " within " +
                      seconds_text(timeout_s_) +
                      (rank_ != 0 && expected == FrameType::Welcome
                           ? " (rank 0 may still wait for other ranks)"
                           : ""));
    case FrameReader::State::Closed:
      throw error(ErrorCode::RemoteError, op, who + " closed the connection (it exited or failed)");
    case FrameReader::State::Failed:
      throw error(ErrorCode::RemoteError, op,
                  "reading from " + who + ": " + errno_text(reader.error()));
    case FrameReader::State::Malformed:
      throw error(ErrorCode::RemoteError, op, who + " sent a malformed frame: " + reader.problem());
  }
  const uint32_t type = reader.type();
  std::string payload = reader.take_payload();
  if (type == static_cast<uint32_t>(expected)) return payload;
  if (type == static_cast<uint32_t>(FrameType::Abort) ||
      type == static_cast<uint32_t>(FrameType::Reject)) {
    ErrorCode code;
    std::string message;
    decode_failure(payload, &code, &message);
    const bool refused = type == static_cast<uint32_t>(FrameType::Reject);
    throw error(code, op, who + (refused ? " refused this rank: " : " failed: ") + message);
  }
  throw error(ErrorCode::InvalidUsage, op,
              who + " sent '" + frame_type_name(type) + "' where '" + wanted +
                  "' belongs: do all ranks call the same collectives in the same order?");
}

std::vector<std::string> Bootstrap::gather(FrameType type, const char* op,
                                           const Deadline& deadline) {
  std::vector<std::string> out(static_cast<std::size_t>(nranks_));
  std::vector<FrameReader> readers(static_cast<std::size_t>(nranks_), FrameReader(kMaxFrameBytes));
  std::vector<int> waiting;
  for (int r = 1; r < nranks_; ++r) waiting.push_back(r);
  std::vector<pollfd> fds;
  while (!waiting.empty()) {
    fds.clear();
    for (const int r : waiting)
      fds.push_back(pollfd{links_[static_cast<std::size_t>(r)].get(), POLLIN, 0});
    const int ready = ::poll(fds.data(), fds.size(), deadline.poll_ms());
    if (ready < 0 && errno != EINTR) {
      throw error(ErrorCode::SystemError, op, std::string("poll: ") + errno_text(errno));
    }
    if (ready == 0 && deadline.passed()) {
      std::string missing;
      for (std::size_t i = 0; i < waiting.size() && i < 16; ++i) {
        missing += (i ? ", " : "") + std::to_string(waiting[i]);
      }
      if (waiting.size() > 16) missing += " and " + std::to_string(waiting.size() - 16) + " more";
      throw error(ErrorCode::Timeout, op,
                  "waited " + seconds_text(timeout_s_) + " for ranks " + missing);
    }
    for (std::size_t i = 0; ready > 0 && i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      const int r = waiting[i];
      FrameReader& reader = readers[static_cast<std::size_t>(r)];
      const FrameReader::State state = reader.pump(fds[i].fd);
      if (state == FrameReader::State::NeedMore) continue;
      out[static_cast<std::size_t>(r)] = take_frame(r, reader, state, type, op);
      waiting[i] = -1;
    }
    std::erase(waiting, -1);
  }
  return out;
}

}  // namespace colossus::bootstrap
