#include "transports/tcp/socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "colossus/error.hpp"

namespace colossus::transport::tcp {

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string errno_text(int err) {
  char buf[128];
  // The GNU strerror_r may return a static string instead of filling buf.
  return strerror_r(err, buf, sizeof buf);
}

std::string format_endpoint(const SockAddr& a) {
  char host[INET6_ADDRSTRLEN] = {};
  if (a.ss.ss_family == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(&a.ss);
    inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(s->sin_port));
  }
  const auto* s = reinterpret_cast<const sockaddr_in6*>(&a.ss);
  inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
  return "[" + std::string(host) + "]:" + std::to_string(ntohs(s->sin6_port));
}

bool parse_endpoint(const std::string& text, SockAddr* out) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 >= text.size()) return false;
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (port_text.find_first_not_of("0123456789") != std::string::npos || port_text.size() > 5) {
    return false;
  }
  const unsigned long port = std::stoul(port_text);
  if (port == 0 || port > 65535) return false;
  *out = SockAddr{};
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    auto* s = reinterpret_cast<sockaddr_in6*>(&out->ss);
    if (inet_pton(AF_INET6, host.c_str(), &s->sin6_addr) != 1) return false;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(static_cast<uint16_t>(port));
    out->len = sizeof(sockaddr_in6);
    return true;
  }
  auto* s = reinterpret_cast<sockaddr_in*>(&out->ss);
  if (inet_pton(AF_INET, host.c_str(), &s->sin_addr) != 1) return false;
  s->sin_family = AF_INET;
  s->sin_port = htons(static_cast<uint16_t>(port));
  out->len = sizeof(sockaddr_in);
  return true;
}

void tune_socket(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Fd listen_on(const SockAddr& local, std::string* bound) {
  Fd fd(::socket(local.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  auto fail = [&](const char* what) {
    const int err = errno;
    throw Error(ErrorCode::SystemError, std::string("tcp: ") + what + " " + format_endpoint(local) +
                                            ": " + errno_text(err));
  };
  if (!fd) fail("socket for");
  SockAddr any_port = local;
  if (any_port.ss.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&any_port.ss)->sin_port = 0;
  } else {
    reinterpret_cast<sockaddr_in6*>(&any_port.ss)->sin6_port = 0;
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&any_port.ss), any_port.len) != 0) {
    fail("bind to");
  }
  // A large backlog: at scale every peer and socket may connect at once.
  if (::listen(fd.get(), SOMAXCONN) != 0) fail("listen on");
  SockAddr actual;
  actual.len = sizeof actual.ss;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&actual.ss), &actual.len) != 0) {
    fail("getsockname of");
  }
  *bound = format_endpoint(actual);
  return fd;
}

Fd start_connect(const SockAddr& remote, int* err) {
  Fd fd(::socket(remote.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    *err = errno;
    return {};
  }
  tune_socket(fd.get());
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&remote.ss), remote.len) != 0 &&
      errno != EINPROGRESS) {
    *err = errno;
    return {};
  }
  *err = 0;
  return fd;
}

int connect_result(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

}  // namespace colossus::transport::tcp
