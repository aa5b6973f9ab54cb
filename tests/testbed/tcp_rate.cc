// tcp_rate: a minimal TCP throughput probe for the network-namespace testbed
// (no iperf3 needed).
//
//   tcp_rate recv ADDR PORT [CONNS]  accept CONNS connections (default 1) on
//                                    ADDR:PORT, read each to EOF, print
//                                    "bytes=B seconds=S mbit_per_s=R"
//   tcp_rate send ADDR PORT SECONDS  connect (retrying while the receiver
//                                    starts) and send for SECONDS
//
// The rate is measured at the receiver, over all connections together, from
// the moment the first kWarmupBytes have arrived to the last byte: TCP slow
// start and the shaper's initial burst stay out of the figure.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kWarmupBytes = 1 << 20;
constexpr int kAcceptTimeoutMs = 20'000;  // a sender that never comes fails the test, not hangs it
constexpr double kConnectRetryS = 10.0;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "tcp_rate: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

sockaddr_in parse_addr(const char* addr, const char* port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
  if (::inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
    std::fprintf(stderr, "tcp_rate: bad IPv4 address '%s'\n", addr);
    std::exit(2);
  }
  return sa;
}

int receive(const sockaddr_in& sa, int conns) {
  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(lfd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) fail("bind");
  if (::listen(lfd, conns) != 0) fail("listen");
  std::vector<pollfd> fds;
  for (int i = 0; i < conns; ++i) {
    pollfd p{lfd, POLLIN, 0};
    if (::poll(&p, 1, kAcceptTimeoutMs) != 1) {
      std::fprintf(stderr, "tcp_rate: only %d of %d senders connected\n", i, conns);
      return 1;
    }
    const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) fail("accept");
    fds.push_back({fd, POLLIN, 0});
  }
  std::vector<char> buf(1 << 20);
  std::size_t total = 0, mark_bytes = 0;
  Clock::time_point start = Clock::now(), mark = start, last = start;
  int open = conns;
  while (open > 0) {
    if (::poll(fds.data(), fds.size(), kAcceptTimeoutMs) <= 0) fail("poll (stalled)");
    for (pollfd& p : fds) {
      if (p.fd < 0 || !p.revents) continue;
      const ssize_t n = ::read(p.fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(p.fd);
        p.fd = -1;
        --open;
        continue;
      }
      last = Clock::now();
      if (total < kWarmupBytes && total + static_cast<std::size_t>(n) >= kWarmupBytes) {
        mark = last;
        mark_bytes = total + static_cast<std::size_t>(n);
      }
      total += static_cast<std::size_t>(n);
    }
  }
  // Too little data for a warmup cut: measure everything.
  if (mark_bytes == 0 || total - mark_bytes < kWarmupBytes) {
    mark = start;
    mark_bytes = 0;
  }
  const double s = std::chrono::duration<double>(last - mark).count();
  const double rate = s > 0 ? static_cast<double>(total - mark_bytes) * 8 / s / 1e6 : 0;
  std::printf("bytes=%zu seconds=%.3f mbit_per_s=%.2f\n", total, s, rate);
  return 0;
}

int send_for(const sockaddr_in& sa, double seconds) {
  int fd = -1;
  const auto give_up = Clock::now() + std::chrono::duration<double>(kConnectRetryS);
  while (true) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0) break;
    ::close(fd);
    // The receiver may not listen yet: it starts at the same time as we do.
    if ((errno != ECONNREFUSED && errno != ENETUNREACH) || Clock::now() > give_up) fail("connect");
    ::usleep(20'000);
  }
  std::vector<char> buf(256 << 10, 'x');
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const ssize_t n = ::write(fd, buf.data(), buf.size());
    if (n < 0 && errno != EINTR) fail("write");
  }
  ::close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "recv" && (argc == 4 || argc == 5))
    return receive(parse_addr(argv[2], argv[3]), argc == 5 ? std::atoi(argv[4]) : 1);
  if (mode == "send" && argc == 5)
    return send_for(parse_addr(argv[2], argv[3]), std::atof(argv[4]));
  std::fprintf(stderr,
               "usage: tcp_rate recv ADDR PORT [CONNS]\n"
               "       tcp_rate send ADDR PORT SECONDS\n");
  return 2;
}
