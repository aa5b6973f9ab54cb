// bootstrap.hpp: the out-of-band channel of a job whose ranks are processes.
//
// Setup (Bootstrap::create, collective over all ranks):
//   1. Rank 0 listens (make_unique_id started it). Ranks 1..n-1 connect to
//      the id's address, retrying until rank 0 is there, and send a Hello
//      {protocol version, rank, nranks, the id's secret, host and pid}.
//   2. Rank 0 admits one connection per rank and refuses everything else
//      (admission.hpp). When all n-1 are in it answers each with a Welcome
//      {secret, nranks, its host and pid}, so each rank knows it reached the
//      right rank 0, and closes its listener.
//
// After setup the job is a star: rank 0 keeps one connection per rank, and
// every collective travels over those connections, one frame per message.
//   allgather  members send their blob to rank 0 (n-1 frames); rank 0 sends
//              each member the table of all blobs (n-1 frames): 2(n-1) frames
//   broadcast  a member root sends to rank 0, rank 0 to the rest: n-1 frames
//   barrier    n-1 arrivals at rank 0, then n-1 releases: 2(n-1) frames
// A star, not a ring: two hops of latency at any n where a ring takes n-1,
// and O(n) frames in all. Its cost is that rank 0 sends the table n-1
// times (O(n^2 blob) bytes out of rank 0) and holds n-1 sockets: right for
// setup-sized blobs on jobs of up to some thousands of processes. One
// collective's data (an allgather's whole table, a broadcast's blob) is at
// most kMaxFrameBytes (64 MiB); more throws Error(InvalidArgument).
//
// Failure: every wait has the deadline timeout_s (per call) and ends in
// Error(Timeout) naming the rank, the phase and whom it waited for. Under a
// CancelScope (socket.hpp) whose state another thread raises, create (or a
// collective) ends within about 50 ms with Error(Aborted) instead. A rank
// that fails sends an Abort notice on its connections and closes them; rank
// 0 relays a member's failure to every other member. So one rank's error or
// death becomes an Error (its code, else RemoteError) on every rank within
// the deadline, never a hang, and a Bootstrap that threw once is unusable:
// every later call throws again.
//
// The secret keeps jobs apart and strangers out; it travels in the clear,
// so it is no defence against someone who can read the job's network.
//
// Threads: calls on one Bootstrap come from one thread at a time and in the
// same order on every rank (they are collective). Separate Bootstraps, as
// the ranks-as-threads tests use, are independent. Destruction never blocks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bootstrap/frame.hpp"
#include "bootstrap/oob.hpp"
#include "bootstrap/socket.hpp"
#include "bootstrap/unique_id.hpp"
#include "colossus/error.hpp"

namespace colossus::bootstrap {

class Bootstrap final : public bootstrap::OutOfBand {
 public:
  // Collective. Throws Error: InvalidArgument (bad id, rank or nranks),
  // Timeout (a rank missing after timeout_s), Aborted (this thread's
  // CancelScope was raised), InvalidUsage (rank 0 refused
  // this rank: wrong secret, version, nranks, duplicate rank), RemoteError,
  // SystemError.
  static std::unique_ptr<Bootstrap> create(const UniqueId& id, int rank, int nranks,
                                           double timeout_s);
  ~Bootstrap() override;
  Bootstrap(const Bootstrap&) = delete;
  Bootstrap& operator=(const Bootstrap&) = delete;

  int rank() const override { return rank_; }
  int nranks() const override { return nranks_; }
  uint64_t job_secret() const override { return secret_; }
  std::vector<std::string> allgather(const std::string& mine) override;
  std::string broadcast(const std::string& blob, int root) override;
  void barrier() override;

  // Connections this process's bootstraps refused (see rejection_log()).
  static std::vector<std::string> rejected_log();

  // Hands the star's connections to a Watch (watch.hpp), which turns them
  // into the job's failure-notice network: links[r] to rank r on rank 0,
  // links[0] to rank 0 on a member; who[peer] names each for messages. Every
  // later collective throws Error(InvalidUsage). Throws InvalidUsage when
  // the connections were handed over before or the Bootstrap failed.
  struct Links {
    std::vector<Fd> links;
    std::vector<std::string> who;
  };
  Links hand_over_links();
  // This host's address on the job's star (before hand_over_links): one
  // the job's other hosts can reach.
  Endpoint local_address() const;

 private:
  Bootstrap(int rank, int nranks, double timeout_s, uint64_t secret);
  void setup_root(const UniqueId& id, const Deadline& deadline);
  void setup_member(const UniqueId& id, const Deadline& deadline);

  // Runs one collective's body with its deadline; any failure poisons us.
  template <typename Body>
  auto guarded(const char* op, Body&& body);
  [[noreturn]] void fail(const Error& error);
  Error error(ErrorCode code, const char* op, const std::string& what) const;
  // Error(Aborted) when this thread's CancelScope was raised (the wait
  // that threw ended for that), else `e`.
  Error cancelled_or(const char* op, const Error& e) const;

  void send_to(int peer, FrameType type, std::string_view payload, const char* op,
               const Deadline& deadline);
  void send_to_members(FrameType type, std::string_view payload, const char* op,
                       const Deadline& deadline, int skip = -1);
  std::string receive_from(int peer, FrameType type, const char* op, const Deadline& deadline);
  // Rank 0: one frame of `type` from every member, polled together; by rank.
  std::vector<std::string> gather(FrameType type, const char* op, const Deadline& deadline);
  // The payload of a frame `reader` finished (or the Error its state means).
  std::string take_frame(int peer, FrameReader& reader, FrameReader::State state,
                         FrameType expected, const char* op);

  int rank_;
  int nranks_;
  double timeout_s_;
  uint64_t secret_;
  std::vector<Fd> links_;         // rank 0: links_[r] to rank r; members: links_[0] to rank 0
  std::vector<std::string> who_;  // "rank 3 (host pid 12 at 10.0.0.3:41234)", by peer
  bool handed_over_ = false;      // a Watch holds links_ now
  ErrorCode broken_code_ = ErrorCode::Success;
  std::string broken_;  // the first failure; nonempty = unusable
};

}  // namespace colossus::bootstrap
