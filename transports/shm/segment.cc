#include "transports/shm/segment.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "colossus/error.hpp"

namespace colossus::transport::shm {

namespace {

Error sys_error(const std::string& what, int err) {
  return Error(ErrorCode::SystemError, "shm transport: " + what + ": " + std::strerror(err));
}

uint64_t mix(uint64_t x) {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

std::string segment_prefix(uint64_t secret) {
  // Keeping 32 of 64 bits leaves 2^32 secrets behind every fingerprint, so a
  // listing of /dev/shm does not give the secret away.
  const auto fp = static_cast<uint32_t>(mix(mix(secret ^ 0x636F6C6F73737573ull) + secret) >> 32);
  char buf[32];
  std::snprintf(buf, sizeof buf, "colossus-%08x", fp);
  return buf;
}

std::string segment_name(uint64_t secret, uint32_t tag, uint64_t pidns, pid_t pid,
                         const std::string& what) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "-%08x-n%" PRIu64 "-p%d-", tag, pidns, static_cast<int>(pid));
  return "/" + segment_prefix(secret) + buf + what;
}

uint64_t pid_namespace() {
  struct stat st {};
  if (stat("/proc/self/ns/pid", &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_ino);
}

std::string host_key() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string boot;
  std::ifstream("/proc/sys/kernel/random/boot_id") >> boot;
  return std::string(host) + "/" + boot;
}

Mapping::~Mapping() {
  if (base_) munmap(base_, bytes_);
}

Mapping& Mapping::operator=(Mapping&& o) noexcept {
  if (this != &o) {
    if (base_) munmap(base_, bytes_);
    base_ = o.base_;
    bytes_ = o.bytes_;
    o.base_ = nullptr;
  }
  return *this;
}

Mapping create_segment(const std::string& name, std::size_t bytes, bool populate) {
  const int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) throw sys_error("cannot create " + name, errno);
  // posix_fallocate both reserves the pages and sets the size, so a peer that
  // sees the full size (try_open_segment) never maps a hole it could fault on.
  if (const int rc = posix_fallocate(fd, 0, static_cast<off_t>(bytes)); rc != 0) {
    close(fd);
    shm_unlink(name.c_str());
    throw sys_error("cannot reserve " + std::to_string(bytes) + " B for " + name +
                        " (is /dev/shm full? containers: --shm-size)",
                    rc);
  }
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | (populate ? MAP_POPULATE : 0),
                 fd, 0);
  const int err = errno;
  close(fd);
  if (p == MAP_FAILED) {
    shm_unlink(name.c_str());
    throw sys_error("cannot map " + name, err);
  }
  return Mapping(p, bytes);
}

Mapping try_open_segment(const std::string& name, std::size_t bytes, bool populate) {
  const int fd = shm_open(name.c_str(), O_RDWR, 0);
  if (fd < 0) {
    if (errno == ENOENT) return {};
    throw sys_error("cannot open " + name, errno);
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    throw sys_error("cannot stat " + name, err);
  }
  if (static_cast<std::size_t>(st.st_size) < bytes) {  // its creator is still reserving it
    close(fd);
    return {};
  }
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | (populate ? MAP_POPULATE : 0),
                 fd, 0);
  const int err = errno;
  close(fd);
  if (p == MAP_FAILED) throw sys_error("cannot map " + name, err);
  return Mapping(p, bytes);
}

void unlink_segment(const std::string& name) { shm_unlink(name.c_str()); }

std::size_t sweep_stale_segments() {
  const uint64_t mine = pid_namespace();
  if (mine == 0) return 0;  // cannot tell our pids from another namespace's
  DIR* dir = opendir("/dev/shm");
  if (!dir) return 0;
  std::size_t removed = 0;
  while (const dirent* e = readdir(dir)) {
    uint64_t ns = 0;
    int pid = 0, end = 0;
    if (std::sscanf(e->d_name, "colossus-%*8[0-9a-f]-%*8[0-9a-f]-n%" SCNu64 "-p%d-%n", &ns, &pid,
                    &end) != 2 ||
        end == 0) {
      continue;
    }
    struct stat st {};
    if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    // Only our own user's, from our pid namespace, whose creator is gone: a
    // live (or zombie, or reused) pid keeps its segments.
    if (st.st_uid != geteuid() || ns != mine || pid <= 0) continue;
    if (kill(pid, 0) == 0 || errno != ESRCH) continue;
    if (shm_unlink((std::string("/") + e->d_name).c_str()) == 0) ++removed;
  }
  closedir(dir);
  return removed;
}

PeerWatch::PeerWatch(pid_t pid, bool comparable)
    : pid_(pid), watched_(comparable && pid > 0 && pid != getpid()) {}

PeerWatch::~PeerWatch() {
  if (pidfd_ >= 0) close(pidfd_);
}

bool PeerWatch::gone() {
  if (!watched_ || gone_) return gone_;
  const auto now = Clock::now();
  if (now < next_check_) return false;
  next_check_ = now + kInterval;
  if (!opened_) {
    // Opened on the first need, not per peer at setup: most peers of a ring
    // are never waited for, and each pidfd is a file descriptor.
    opened_ = true;
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd_ < 0 && errno == ESRCH) return gone_ = true;
  }
  if (pidfd_ >= 0) {
    // A pidfd turns readable when the process exits, zombie or not.
    pollfd p{pidfd_, POLLIN, 0};
    gone_ = poll(&p, 1, 0) > 0;
  } else {
    gone_ = kill(pid_, 0) == -1 && errno == ESRCH;
  }
  return gone_;
}

}  // namespace colossus::transport::shm
