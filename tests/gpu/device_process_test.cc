// device_process_test.cc: device communicators of ranks in separate
// processes sharing one GPU (needs a GPU; skipped where none is usable).
//
// Starts device_worker processes (posix_spawn, never fork: a parent that may
// hold CUDA state) that run every collective on device buffers through
// init() and check the results (device_worker.cc): between the processes
// CUDA IPC handles (host transport shm), or, with COLOSSUS_TRANSPORT=tcp,
// every peer through the host proxy. Each case has a deadline, after which
// the workers are killed: a hang is a failure, not a stuck ctest.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "bootstrap/unique_id.hpp"
#include "catch.hpp"
#include "colossus/colossus.hpp"
#include "gpu/device_cases.hpp"
#include "gpu/gpu_skip.hpp"

extern char** environ;

namespace colossus::test::device {
namespace {

#ifndef COLOSSUS_DEVICE_WORKER
#error "COLOSSUS_DEVICE_WORKER (the device_worker executable's path) is set by CMake"
#endif

// Starts n device_worker processes (posix_spawn: no fork of a process that
// may hold CUDA state) with COLOSSUS_TRANSPORT=transport, waits up to
// deadline_s (then kills them), returns one line per rank that did not exit 0.
std::vector<std::string> run_workers(int n, const std::string& transport, double deadline_s) {
  const std::string worker = COLOSSUS_DEVICE_WORKER;
  if (access(worker.c_str(), X_OK) != 0) return {"no executable worker at " + worker};
  // The id names a listener of this process; rank 0 (another process) must
  // listen on its address itself, so this process lets go of it first.
  const UniqueId id = make_unique_id();
  {
    bootstrap::UniqueId raw;
    static_assert(sizeof raw == sizeof id);
    std::memcpy(&raw, &id, sizeof raw);
    bootstrap::discard_unique_id(raw);
  }
  const std::string id_text = to_string(id);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "COLOSSUS_TRANSPORT=", 19) != 0) env_strings.emplace_back(*e);
  }
  env_strings.push_back("COLOSSUS_TRANSPORT=" + transport);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::fflush(nullptr);
  std::vector<pid_t> pids;
  std::vector<std::string> out;
  for (int r = 0; r < n; ++r) {
    std::string a0 = worker, a1 = std::to_string(r), a2 = std::to_string(n), a3 = id_text,
                a4 = transport;
    char* argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), a4.data(), nullptr};
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, worker.c_str(), nullptr, nullptr, argv, envp.data());
    if (rc != 0) {
      out.push_back("posix_spawn of rank " + std::to_string(r) + ": " + std::strerror(rc));
      break;
    }
    pids.push_back(pid);
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int> status(pids.size(), 0);
  std::vector<bool> done(pids.size(), false);
  std::size_t left = pids.size();
  while (left > 0) {
    for (std::size_t r = 0; r < pids.size(); ++r) {
      if (!done[r] && waitpid(pids[r], &status[r], WNOHANG) == pids[r]) {
        done[r] = true;
        --left;
      }
    }
    if (left > 0 && seconds_since(t0) > deadline_s) {
      for (std::size_t r = 0; r < pids.size(); ++r) {
        if (!done[r]) {
          kill(pids[r], SIGKILL);
          waitpid(pids[r], &status[r], 0);
          out.push_back("rank " + std::to_string(r) + " still running after " +
                        std::to_string(deadline_s) + " s: killed");
        }
      }
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (std::size_t r = 0; r < pids.size(); ++r) {
    if (WIFEXITED(status[r]) && WEXITSTATUS(status[r]) == 0) continue;
    out.push_back("rank " + std::to_string(r) +
                  (WIFEXITED(status[r])
                       ? " exited " + std::to_string(WEXITSTATUS(status[r]))
                       : " killed by signal " + std::to_string(WTERMSIG(status[r]))));
  }
  std::printf("device workers: %d processes over %s: %.1f s\n", n, transport.c_str(),
              seconds_since(t0));
  std::fflush(stdout);
  return out;
}

TEST_CASE("device collectives: processes sharing one GPU (cuda_ipc)",
          "[cuda][device][multiprocess]") {
  require_gpu("device collectives: processes sharing one GPU (cuda_ipc)");
  for (const int n : {2, 4}) {
    const auto problems = run_workers(n, "shm", 300);
    INFO(n << " processes, cuda_ipc between them (host transport shm):\n" << join(problems));
    CHECK(problems.empty());
  }
}

TEST_CASE("device collectives: processes sharing one GPU (through the host proxy over tcp)",
          "[cuda][device][multiprocess]") {
  require_gpu("device collectives: processes sharing one GPU (through the host proxy over tcp)");
  for (const int n : {2, 4}) {
    const auto problems = run_workers(n, "tcp", 300);
    INFO(n << " processes, every peer through the host proxy (COLOSSUS_TRANSPORT=tcp):\n"
           << join(problems));
    CHECK(problems.empty());
  }
}

}  // namespace
}  // namespace colossus::test::device
