// fork_group.hpp: n ranks as forked child processes of a test.
//
// run_forked(n, body, deadline) forks n children, each running body(rank)
// and exiting with its return value; the parent waits until all exit or the
// deadline passes (then SIGKILLs the rest). Fork before any thread exists.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace colossus::test {

struct ChildResult {
  int rank = 0;
  int status = 0;        // waitpid status
  bool finished = false;  // false: killed at the deadline
  double seconds = 0;     // from fork to exit
  bool exited_with(int code) const { return finished && WIFEXITED(status) && WEXITSTATUS(status) == code; }
  bool killed_by(int sig) const { return finished && WIFSIGNALED(status) && WTERMSIG(status) == sig; }
  std::string describe() const {
    if (!finished) return "rank " + std::to_string(rank) + " still running at the deadline";
    if (WIFEXITED(status)) return "rank " + std::to_string(rank) + " exited " + std::to_string(WEXITSTATUS(status));
    return "rank " + std::to_string(rank) + " killed by signal " + std::to_string(WTERMSIG(status));
  }
};

inline std::vector<ChildResult> run_forked(int n, const std::function<int(int)>& body,
                                           double deadline_s) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::vector<pid_t> pids;
  std::fflush(nullptr);
  for (int r = 0; r < n; ++r) {
    const pid_t pid = fork();
    if (pid == 0) {
      int code = 1;
      try {
        code = body(r);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %d: uncaught: %s\n", r, e.what());
      }
      std::fflush(nullptr);
      _exit(code);
    }
    pids.push_back(pid);
  }
  std::vector<ChildResult> results(static_cast<std::size_t>(n));
  int left = n;
  while (left > 0) {
    for (int r = 0; r < n; ++r) {
      auto& res = results[static_cast<std::size_t>(r)];
      res.rank = r;
      if (res.finished) continue;
      if (waitpid(pids[static_cast<std::size_t>(r)], &res.status, WNOHANG) > 0) {
        res.finished = true;
        res.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        --left;
      }
    }
    if (left > 0 && Clock::now() - start > std::chrono::duration<double>(deadline_s)) {
      for (int r = 0; r < n; ++r) {
        if (!results[static_cast<std::size_t>(r)].finished) {
          kill(pids[static_cast<std::size_t>(r)], SIGKILL);
          waitpid(pids[static_cast<std::size_t>(r)], nullptr, 0);
        }
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return results;
}

}  // namespace colossus::test
