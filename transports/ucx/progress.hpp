// progress.hpp: the one thread per ucx transport that makes every UCP call.
//
// The executor never touches UCX. It publishes slot indices (commit,
// release) and, only when this thread sleeps, writes an eventfd to wake it
// (the `sleeping_` handshake of tcp/progress.hpp). The thread hands newly
// committed send slots to ucp_tag_send_nbx, keeps a receive posted in every
// free receive slot, progresses the worker, publishes what completed in
// order and rings the rank's Doorbell. Idle, it arms the worker and sleeps
// in poll() on the worker's event fd and its own eventfd (or, where UCX
// offers no event fd, polls every 1 ms): idle costs nothing.
//
// Streams are created on the executor thread by connect_send/connect_recv
// and live until the transport is destroyed, so endpoints may hold plain
// references.
#pragma once

#include <ucp/api/ucp.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bootstrap/socket.hpp"
#include "transports/slot_ring.hpp"
#include "transports/ucx/tags.hpp"
#include "transports/ucx/ucx.hpp"

namespace colossus::transport::ucx {

// One UCP operation on a slot, completed by a UCX callback.
struct Op {
  void* request = nullptr;  // UCX's request while in flight
  bool done = false;
  ucs_status_t status = UCS_OK;
  ucp_tag_recv_info_t info{};  // receive: the message's length and tag
};

// One direction of a (peer, channel) stream. The ring is shared with the
// executor; `posted` and the ops belong to this thread.
struct Stream {
  Stream(bool send, int peer, int channel, std::size_t slot_bytes, int depth);
  Op& op(uint64_t m) { return ops[m % ring.depth]; }

  const bool send;  // this rank sends on it (else receives)
  const int peer;
  const int channel;
  SlotRing ring;
  ucp_mem_h memh = nullptr;  // the ring's storage, mapped once
  uint64_t posted = 0;       // send: handed to UCX; receive: receives posted
  std::vector<Op> ops;
  // Flow control (tags.hpp). Send: receives the peer has posted. Receive:
  // what was announced to the sender, and the announcement in flight.
  uint64_t credit = 0;
  uint64_t announced = 0;
  Op credit_op;
  Credit credit_msg;
  bool mapped = false;  // tried ucp_mem_map
};

// The UCP context and worker of one transport, and this worker's address.
struct Worker {
  Worker(const UcxOptions& options, int rank);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  ucp_context_h context = nullptr;
  ucp_worker_h worker = nullptr;
  std::string address;  // the worker's packed address
  int event_fd = -1;    // -1: UCX offers none; poll with backoff
};

// Completion callbacks and request handling shared by the progress code.
void send_done(void* request, ucs_status_t status, void* user_data);
void recv_done(void* request, ucs_status_t status, const ucp_tag_recv_info_t* info,
               void* user_data);
// Starts `op` (reset before the call) from what an nbx call returned;
// false on an immediate error. UCX may run the callback inside the call.
bool start(Op& op, ucs_status_ptr_t req);
// Frees a finished op's request.
void finish(Op& op);

// Whether a UCX_TLS value names shared-memory transports only ("sm",
// "posix,sysv,cma", ...), which UCX cannot use with peer error handling.
bool shared_memory_only(const std::string& tls);

}  // namespace colossus::transport::ucx

namespace colossus::transport {

class UcxProgress {
 public:
  UcxProgress(int rank, int nranks, Doorbell& bell, UcxOptions options,
              std::unique_ptr<ucx::Worker> worker, std::vector<std::string> peer_addresses);
  // Sends what was committed (bounded), says goodbye to every peer it has
  // an endpoint to, closes the endpoints, then stops the thread.
  ~UcxProgress();

  // Executor thread. Create on first use.
  ucx::Stream& send_stream(int peer, int channel);
  ucx::Stream& recv_stream(int peer, int channel);

  void wake_if_sleeping() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_relaxed) && sleeping_.exchange(false)) wake();
  }

  UcxStats& stats() { return stats_; }
  std::string first_lane() const;

  // UCX callbacks (static trampolines in progress.cc).
  void on_peer_error(int peer, ucs_status_t status);

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr double kLingerIdleS = 2;  // as tcp: flush at destruction
  // Receive slots per stream, in units of the FIFO depth. A credit goes
  // back behind the reverse direction's queued data, so a sender needs more
  // than `depth` messages in flight to keep a busy link full (64 MiB
  // allreduce, 2 ranks over unshaped veth: x1 128-148 ms, x2 130-155, x4
  // 115-121). The sender's ring stays at `depth`: sends complete locally.
  static constexpr int kRecvDepthFactor = 4;
  static constexpr double kCloseGraceS = 0.1;

  // Per peer: its endpoint and what became of it.
  struct Peer {
    ucp_ep_h ep = nullptr;
    bool failed = false;  // UCX reported the endpoint failed
    bool closed = false;  // the peer said goodbye
    Clock::time_point closed_at{};
    bool handled = false;  // its streams were failed
    std::string why;
    UcxProgress* self = nullptr;
    int rank = -1;
  };

  void wake();
  void run();
  void loop();
  bool adopt_new_streams();
  bool ensure_ep(int peer);
  void map(ucx::Stream& s);
  bool post_sends(ucx::Stream& s);
  bool post_recvs(ucx::Stream& s);
  bool complete_sends(ucx::Stream& s);
  bool complete_recvs(ucx::Stream& s);
  bool post_goodbye_recv();
  bool post_control_recv(ucx::Op& op, void* buf, std::size_t bytes, uint64_t channel_bits);
  bool announce(ucx::Stream& r);
  bool check_credits();
  bool check_goodbye();
  void apply_peer_states();
  ucp_request_param_t params(ucx::Stream& s, ucx::Op& op, bool send) const;
  // Progresses until done() or `seconds` pass; false on the timeout.
  template <class Done>
  bool progress_until(Done done, double seconds);
  bool has_work() const;
  bool unflushed() const;
  void sleep();
  void fail(ucx::Stream& s, const std::string& what, bool quiet);
  void say_goodbye();
  void shut_down();
  void drain_unexpected();
  std::string describe(const ucx::Stream& s) const;

  const int rank_;
  const int nranks_;
  Doorbell& bell_;
  const UcxOptions options_;
  std::unique_ptr<ucx::Worker> worker_;
  const std::vector<std::string> addresses_;
  bootstrap::Fd wake_fd_;
  UcxStats stats_;

  mutable std::mutex mu_;  // guards the maps, the new_ lists, first_lane_ and dead_
  std::map<std::pair<int, int>, std::unique_ptr<ucx::Stream>> send_map_;
  std::map<std::pair<int, int>, std::unique_ptr<ucx::Stream>> recv_map_;
  std::vector<ucx::Stream*> new_sends_;
  std::vector<ucx::Stream*> new_recvs_;
  std::string first_lane_;
  bool dead_ = false;              // the progress thread gave up: new streams start failed
  std::atomic<bool> news_{false};  // new_sends_ or new_recvs_ not empty

  // Progress thread only.
  std::vector<Peer> peers_;
  std::vector<ucx::Stream*> sends_;
  std::vector<ucx::Stream*> recvs_;
  ucx::Op credit_in_;  // the posted receive for any peer's credit
  ucx::Credit credit_buf_;
  std::map<std::pair<int, int>, ucx::Stream*> send_index_;  // adopted send streams
  std::map<std::pair<int, int>, uint64_t> early_credit_;    // for streams not adopted yet
  ucx::Op goodbye_;  // the posted receive for any peer's goodbye
  char goodbye_buf_[8] = {};
  // Shutdown's requests complete into these, even after it gave up on them.
  std::vector<ucx::Op> farewells_;
  ucx::Op drain_op_;
  std::vector<char> drain_buf_;
  bool ring_bell_ = false;
  bool stopping_ = false;
  bool handle_errors_;          // endpoints with peer error handling (not for shared memory alone)
  bool closing_peers_ = false;  // a peer said goodbye: its streams end after a grace
  Clock::time_point last_progress_{};

  alignas(64) std::atomic<bool> sleeping_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace colossus::transport
