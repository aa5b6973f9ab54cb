// socket.hpp: the few socket calls the tcp transport makes, with errors
// turned into values (hot path) or colossus::Error (setup).
//
// Every socket is non-blocking and close-on-exec, and every connection has
// TCP_NODELAY: a frame is written by one sendmsg, so Nagle would only delay
// the tail of each message. SO_SNDBUF/SO_RCVBUF are left to the kernel's
// autotuning (setting them would switch it off): with it, an allreduce
// already moves as many bytes as a bare TCP flow on the same link does.
#pragma once

#include <sys/socket.h>

#include <string>
#include <utility>

namespace colossus::transport::tcp {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
};

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

// "1.2.3.4:5678" or "[fd00::2]:5678".
std::string format_endpoint(const SockAddr& a);
// The reverse; false on anything else (names are not resolved: the table
// only ever holds numeric addresses the ranks formatted themselves).
bool parse_endpoint(const std::string& text, SockAddr* out);

// A listening socket on `local` (its port ignored: the kernel picks one);
// *bound receives the address peers should connect to. Throws Error.
Fd listen_on(const SockAddr& local, std::string* bound);

// Starts a non-blocking connect. Returns the socket (connected or still
// connecting: wait for POLLOUT, then connect_result) or an empty Fd with
// *err set.
Fd start_connect(const SockAddr& remote, int* err);
// 0 once a connect finished well, else its errno (SO_ERROR).
int connect_result(int fd);

// Readies an accepted socket like a connected one.
void tune_socket(int fd);

std::string errno_text(int err);

}  // namespace colossus::transport::tcp
