// progress.hpp: the one thread per tcp transport that does all socket I/O.
//
// The executor never touches a socket. It publishes slot indices (commit,
// release) and, only when the progress thread is asleep in poll(), writes
// an eventfd to wake it (the Dekker-style `sleeping_` handshake below keeps
// that write off the hot path). The thread in turn rings the rank's
// Doorbell whenever a message arrived, a send slot was freed or a stream
// failed. It sleeps in poll() with no timeout unless something has a
// deadline (an unfinished hello, the flush at shutdown): idle costs nothing.
//
// Streams are created by connect_send/connect_recv on the executor thread,
// or, for a receive stream, by the progress thread when the peer's first
// socket arrives before this rank called connect_recv. They live until the
// transport is destroyed, so endpoints may hold plain references.
#pragma once

#include <poll.h>

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
#include "transports/tcp/stream.hpp"
#include "transports/tcp/tcp.hpp"

namespace colossus::transport {

class TcpProgress {
 public:
  TcpProgress(int rank, int nranks, uint64_t secret, Doorbell& bell, TcpOptions options,
              bootstrap::Fd listener, std::vector<bootstrap::Endpoint> peers);
  // Flushes what was committed (bounded), then stops the thread.
  ~TcpProgress();

  // Executor thread. Create on first use; the sender's connections start
  // connecting in the background right away.
  tcp::SendStream& send_stream(int peer, int channel);
  tcp::RecvStream& recv_stream(int peer, int channel);

  // After publishing a ring index: wakes the thread if it sleeps.
  void wake_if_sleeping() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_relaxed) && sleeping_.exchange(false)) wake();
  }

  TcpStats& stats() { return stats_; }

 private:
  using Clock = std::chrono::steady_clock;
  // A half-open connection that has not named its stream after this long
  // (capped by timeout_s) is dropped: a port scanner, a stuck client. Real
  // peers send the hello at once.
  static constexpr double kHelloTimeoutS = 10;
  // At destruction the thread keeps writing what this rank committed (a
  // collective returns before its last sends reach the peer) until peers
  // have taken nothing for this long (capped by timeout_s). A peer inside
  // the same collective reads steadily; one that failed reads nothing, so
  // a dead job's ranks close within this, without hanging on each other.
  static constexpr double kLingerIdleS = 2;
  // An accepted socket whose hello has not arrived in full yet.
  struct Pending {
    bootstrap::Fd fd;
    std::string from;
    Clock::time_point deadline;
    tcp::Hello hello;
    std::size_t got = 0;
  };
  // What a pollfd entry stands for.
  struct Watch {
    enum Kind { Wake, Listener, Accepted, Send, Recv } kind;
    std::size_t index;  // into pending_, sends_ or recvs_
    int conn;
  };

  void wake();
  void run();
  void loop();
  void adopt_new_streams();
  void start_connects(tcp::SendStream& s);
  int build_poll_set(Clock::time_point stop_deadline);
  void accept_all();
  void read_hello(Pending& p);
  void route(Pending& p);
  void reject(Pending& p, const std::string& why);
  void service_send(tcp::SendStream& s, tcp::Conn& c, short revents);
  void service_recv(tcp::RecvStream& r, tcp::Conn& c);
  // After socket 0's orderly close: ends the stream (quietly) once every
  // announced message is in.
  void finish_if_sender_done(tcp::RecvStream& r);
  void service_all();
  // Closes the stream's sockets and marks it failed (after publishing
  // whatever arrived whole); logs at WARN, or INFO for an orderly close.
  void fail(tcp::SlotRing& ring, std::vector<tcp::Conn>& conns, const std::string& what,
            bool quiet);
  std::string describe(const tcp::SendStream& s) const;
  std::string describe(const tcp::RecvStream& r) const;
  bool unflushed() const;
  tcp::RecvStream& recv_locked(int peer, int channel);

  const int rank_;
  const int nranks_;
  const uint64_t secret_;
  Doorbell& bell_;
  const TcpOptions options_;
  bootstrap::Fd listener_;
  bootstrap::Fd wake_fd_;
  const std::vector<bootstrap::Endpoint> peers_;
  TcpStats stats_;

  std::mutex mu_;  // guards the maps and new_sends_
  std::map<std::pair<int, int>, std::unique_ptr<tcp::SendStream>> send_map_;
  std::map<std::pair<int, int>, std::unique_ptr<tcp::RecvStream>> recv_map_;
  std::vector<tcp::SendStream*> new_sends_;
  bool dead_ = false;  // the progress thread gave up: new streams start failed

  // Progress thread only.
  std::vector<tcp::SendStream*> sends_;  // connecting or connected
  std::vector<tcp::RecvStream*> recvs_;  // with at least one socket routed
  std::vector<Pending> pending_;
  std::vector<pollfd> pfds_;  // rebuilt every iteration, with watches_ beside it
  std::vector<Watch> watches_;
  bool ring_bell_ = false;
  Clock::time_point listener_paused_until_{};  // after accept() ran out of descriptors
  bool stopping_ = false;                      // destruction began: flushing
  Clock::time_point last_write_{};             // while stopping_: when bytes last went out

  alignas(64) std::atomic<bool> sleeping_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace colossus::transport
