// fork_runner.hpp: n ranks as forked child processes of a test, and what
// each of them reported.
//
// fork_ranks(n, body, deadline_s, on_started) forks one child per rank;
// child r runs body(r) and sends back the string it returns ("" = success)
// or the exception it threw, then _exits (0 iff it reported nothing). The
// parent collects every report and exit status; a child still running at
// the deadline is SIGKILLed and says so in its report. on_started(pids)
// runs in the parent once every child exists (to kill one, say). Fork only
// while the test process has no other threads.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace colossus::test {

struct ChildOutcome {
  int rank = 0;
  std::string report;     // what body returned or threw; "" = success
  int status = -1;        // waitpid status; -1 if never reaped
  bool finished = false;  // false: still running at the deadline, killed
  bool ok() const {
    return finished && report.empty() && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  bool killed_by(int sig) const {
    return finished && WIFSIGNALED(status) && WTERMSIG(status) == sig;
  }
  std::string describe() const {
    std::string s = "rank " + std::to_string(rank) + ": ";
    if (!finished)
      s += "still running at the deadline, killed";
    else if (WIFEXITED(status))
      s += "exited " + std::to_string(WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
      s += "killed by signal " + std::to_string(WTERMSIG(status));
    return s + (report.empty() ? "" : ": " + report);
  }
};

inline std::string describe(const std::vector<ChildOutcome>& out) {
  std::string s;
  for (const auto& o : out) s += "\n  " + o.describe();
  return s;
}

using RankBody = std::function<std::string(int rank)>;

inline std::vector<ChildOutcome> fork_ranks(
    int n, const RankBody& body, double deadline_s,
    const std::function<void(const std::vector<pid_t>&)>& on_started = {}) {
  std::vector<pid_t> pids;
  std::vector<int> pipes;  // read ends of the children's reports
  std::fflush(nullptr);
  for (int r = 0; r < n; ++r) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork");
    if (pid == 0) {
      close(p[0]);
      for (int fd : pipes) close(fd);
      std::string out;
      try {
        out = body(r);
      } catch (const std::exception& e) {
        out = std::string("threw: ") + e.what();
      }
      for (std::size_t done = 0; done < out.size();) {
        const ssize_t w = write(p[1], out.data() + done, out.size() - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += static_cast<std::size_t>(w);
      }
      std::fflush(nullptr);
      _exit(out.empty() ? 0 : 1);  // no atexit handlers, no test-framework teardown
    }
    close(p[1]);
    pids.push_back(pid);
    pipes.push_back(p[0]);
  }
  if (on_started) on_started(pids);

  std::vector<ChildOutcome> out(static_cast<std::size_t>(n));
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(deadline_s);
  for (int open = n; open > 0;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    std::vector<pollfd> pfs;
    for (int fd : pipes) pfs.push_back({fd, fd >= 0 ? short{POLLIN} : short{0}, 0});
    if (poll(pfs.data(), pfs.size(), static_cast<int>(left.count())) <= 0) continue;
    for (std::size_t i = 0; i < pfs.size(); ++i) {
      if (pipes[i] < 0 || pfs[i].revents == 0) continue;
      char buf[4096];
      const ssize_t got = read(pipes[i], buf, sizeof buf);
      if (got > 0) {
        out[i].report.append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        close(pipes[i]);
        pipes[i] = -1;
        --open;
      }
    }
  }
  for (std::size_t i = 0; i < pids.size(); ++i) {
    out[i].rank = static_cast<int>(i);
    out[i].finished = pipes[i] < 0;
    if (!out[i].finished) {  // past the deadline: the child is stuck
      kill(pids[i], SIGKILL);
      close(pipes[i]);
    }
    while (waitpid(pids[i], &out[i].status, 0) < 0 && errno == EINTR) {
    }
  }
  return out;
}

}  // namespace colossus::test
