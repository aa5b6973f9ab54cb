#include "colossus-run/host_namespace.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace colossus::run {

namespace {

std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }

// Binds a TCP socket to addr:0 in the current network namespace and returns
// "addr:port", or "" with *error set.
std::string free_port_on(const in_addr& addr, std::string* error) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = sys_error("socket");
    return "";
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr = addr;
  sa.sin_port = 0;
  socklen_t len = sizeof sa;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    *error = sys_error("bind");
    ::close(fd);
    return "";
  }
  ::close(fd);
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &sa.sin_addr, text, sizeof text);
  return std::string(text) + ":" + std::to_string(ntohs(sa.sin_port));
}

// The first up, non-loopback IPv4 address of the current network namespace.
bool first_host_address(in_addr* out, std::string* error) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    *error = sys_error("getifaddrs");
    return false;
  }
  bool found = false;
  for (ifaddrs* a = list; a && !found; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    if (!(a->ifa_flags & IFF_UP) || (a->ifa_flags & IFF_LOOPBACK)) continue;
    *out = reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr;
    found = true;
  }
  ::freeifaddrs(list);
  if (!found) *error = "no IPv4 address other than loopback is up";
  return found;
}

}  // namespace

bool host_exists(const std::string& name) {
  struct stat st {};
  return ::stat((std::string(kNetnsDir) + "/" + name).c_str(), &st) == 0;
}

bool enter_host(const std::string& name, std::string* error) {
  const std::string net_path = std::string(kNetnsDir) + "/" + name;
  const std::string uts_path = std::string(kUtsDir) + "/" + name + ".uts";
  const int net = ::open(net_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (net < 0) {
    *error = sys_error("open " + net_path);
    return false;
  }
  if (::setns(net, CLONE_NEWNET) != 0) {
    *error = sys_error("enter network namespace " + net_path);
    ::close(net);
    return false;
  }
  ::close(net);
  // The UTS namespace is optional: without it the host shares our hostname.
  const int uts = ::open(uts_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (uts >= 0) {
    const bool ok = ::setns(uts, CLONE_NEWUTS) == 0;
    if (!ok) *error = sys_error("enter UTS namespace " + uts_path);
    ::close(uts);
    if (!ok) return false;
  }
  // As `ip netns exec` does: sysfs shows the network devices of the
  // namespace that mounted it, so remount it in a mount namespace of our own
  // (made a slave first so the unmount does not propagate back to the host).
  if (::unshare(CLONE_NEWNS) != 0) {
    *error = sys_error("unshare mount namespace");
    return false;
  }
  if (::mount("", "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
    *error = sys_error("make / a slave mount");
    return false;
  }
  if (::umount2("/sys", MNT_DETACH) == 0 &&
      ::mount(name.c_str(), "/sys", "sysfs", 0, nullptr) != 0) {
    *error = sys_error("mount sysfs for " + name);
    return false;
  }
  return true;
}

std::string pick_bootstrap_addr(const std::string& host) {
  std::string error;
  if (host.empty()) {
    in_addr loopback{};
    loopback.s_addr = htonl(INADDR_LOOPBACK);
    std::string addr = free_port_on(loopback, &error);
    if (addr.empty()) throw std::runtime_error("cannot pick a bootstrap port: " + error);
    return addr;
  }
  // Namespaces are per process: look from inside the host in a child, which
  // reports "addr:port" or "!error" through a pipe.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(sys_error("pipe"));
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(sys_error("fork"));
  if (pid == 0) {
    ::close(fds[0]);
    std::string reply;
    in_addr addr{};
    if (!enter_host(host, &error) || !first_host_address(&addr, &error) ||
        (reply = free_port_on(addr, &error)).empty())
      reply = "!" + error;
    (void)!::write(fds[1], reply.data(), reply.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string reply;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) != 0) {
    if (n > 0)
      reply.append(buf, static_cast<std::size_t>(n));
    else if (errno != EINTR)
      break;
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (reply.empty() || reply[0] == '!')
    throw std::runtime_error("cannot pick a bootstrap address on host " + host + ": " +
                             (reply.empty() ? "probe process died" : reply.substr(1)));
  return reply;
}

}  // namespace colossus::run
