// fork_oob.hpp: an OutOfBand for ranks that are forked children of a test.
//
// ForkOobMesh makes one socketpair per pair of ranks before fork(); after
// fork, child r keeps its ends (take(r)) and the parent drops them all. An
// allgather writes the blob to every peer, then reads one from every peer:
// blobs are setup-sized, far below a socket buffer, so the writes never
// block on a reader. A peer that died shows as EOF -> RemoteError.
//
// run_children(mesh, n, body, on_started, deadline) runs body(rank, oob) in
// n forked children through fork_ranks (support/fork_runner.hpp).
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bootstrap/oob.hpp"
#include "colossus/error.hpp"
#include "support/fork_runner.hpp"

namespace colossus::test {

class ForkOob final : public bootstrap::OutOfBand {
 public:
  ForkOob(int rank, std::vector<int> fds, uint64_t secret, double timeout_s)
      : rank_(rank), fds_(std::move(fds)), secret_(secret), timeout_s_(timeout_s) {}
  ~ForkOob() override {
    for (int fd : fds_)
      if (fd >= 0) close(fd);
  }
  int rank() const override { return rank_; }
  int nranks() const override { return static_cast<int>(fds_.size()); }
  uint64_t job_secret() const override { return secret_; }
  std::vector<std::string> allgather(const std::string& mine) override {
    std::vector<std::string> all(fds_.size());
    all[static_cast<std::size_t>(rank_)] = mine;
    const auto len = static_cast<uint32_t>(mine.size());
    for (int fd : fds_) {
      if (fd < 0) continue;
      if (!write_all(fd, &len, sizeof len) || !write_all(fd, mine.data(), mine.size()))
        fail("write");
    }
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(timeout_s_));
    for (std::size_t p = 0; p < fds_.size(); ++p) {
      if (fds_[p] < 0) continue;
      uint32_t n = 0;
      read_all(fds_[p], &n, sizeof n, until);
      all[p].resize(n);
      read_all(fds_[p], all[p].data(), n, until);
    }
    return all;
  }
  std::string broadcast(const std::string& blob, int root) override {
    return allgather(blob)[static_cast<std::size_t>(root)];
  }
  void barrier() override { allgather(""); }

 private:
  static bool write_all(int fd, const void* data, std::size_t n) {
    auto* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }
  void read_all(int fd, void* data, std::size_t n, std::chrono::steady_clock::time_point until) {
    auto* p = static_cast<char*>(data);
    while (n > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) throw Error(ErrorCode::Timeout, "fork oob: a peer took too long");
      pollfd pf{fd, POLLIN, 0};
      if (poll(&pf, 1, static_cast<int>(left.count())) <= 0) continue;
      const ssize_t r = recv(fd, p, n, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) fail("read");
      p += r;
      n -= static_cast<std::size_t>(r);
    }
  }
  [[noreturn]] void fail(const char* what) const {
    throw Error(ErrorCode::RemoteError, "fork oob: rank " + std::to_string(rank_) + ": " + what +
                                            " failed: a peer is gone");
  }

  int rank_;
  std::vector<int> fds_;  // fds_[p]: our end towards rank p; -1 for ourselves
  uint64_t secret_;
  double timeout_s_;
};

class ForkOobMesh {
 public:
  explicit ForkOobMesh(int n, double timeout_s = 30)
      : n_(n),
        timeout_s_(timeout_s),
        secret_((uint64_t{std::random_device{}()} << 32) | std::random_device{}()),
        ends_(static_cast<std::size_t>(n * n), -1) {
    for (int a = 0; a < n; ++a) {
      for (int b = a + 1; b < n; ++b) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
          throw std::runtime_error("socketpair");
        end(a, b) = sv[0];
        end(b, a) = sv[1];
      }
    }
  }
  ~ForkOobMesh() { close_all(); }
  uint64_t secret() const { return secret_; }
  // In child `rank`: its OutOfBand; every other end is closed.
  std::unique_ptr<bootstrap::OutOfBand> take(int rank) {
    std::vector<int> mine(static_cast<std::size_t>(n_), -1);
    for (int p = 0; p < n_; ++p) std::swap(mine[static_cast<std::size_t>(p)], end(rank, p));
    close_all();
    return std::make_unique<ForkOob>(rank, std::move(mine), secret_, timeout_s_);
  }
  void close_all() {
    for (int& fd : ends_) {
      if (fd >= 0) close(fd);
      fd = -1;
    }
  }

 private:
  int& end(int from, int to) { return ends_[static_cast<std::size_t>(from * n_ + to)]; }
  int n_;
  double timeout_s_;
  uint64_t secret_;
  std::vector<int> ends_;
};

// Forks one child per rank of `mesh` (see fork_ranks); child r runs
// body(r, its OutOfBand), the parent drops every end of the mesh.
inline std::vector<ChildOutcome> run_children(
    ForkOobMesh& mesh, int n,
    const std::function<std::string(int rank, bootstrap::OutOfBand& oob)>& body,
    const std::function<void(const std::vector<pid_t>&)>& on_started, double deadline_s) {
  return fork_ranks(
      n,
      [&](int r) {
        auto oob = mesh.take(r);
        return body(r, *oob);
      },
      deadline_s,
      [&](const std::vector<pid_t>& pids) {
        mesh.close_all();
        if (on_started) on_started(pids);
      });
}

}  // namespace colossus::test
