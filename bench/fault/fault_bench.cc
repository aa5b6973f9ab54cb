// fault_bench: how fast failures end calls, and what shrink costs (issue 14).
//
//   (a) kill:   time from SIGKILL of one rank (mid-allreduce loop) to the
//               last survivor's error, shm and tcp, 4 and 8 processes; then
//               the survivors' shrink({victim}, ShrinkMode::Abort)
//   (b) abort:  time from abort() on a second thread to the return of the
//               call the first thread is blocked in (an allreduce a peer never
//               joins), on the aborting rank and on the waiting peer: loopback
//               threads, and shm and tcp processes
//   (c) shrink: a healthy shrink({n-1}) (ShrinkMode::Default), 4 and 8
//               processes: the slowest rank's time in shrink()
//
// Ranks are forked processes with init() on a fresh unique id per trial
// (tests/support/fork_runner.hpp), the timeout 60 s: only failure detection
// or the abort ends a wait. Times are steady_clock (one clock for all the
// processes of the machine), printed as a table in milliseconds.
//
//   fault_bench [--trials 20] [--shrink-trials 10] [--wires shm,tcp] [--ranks 4,8]
#include <signal.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "colossus/colossus.hpp"
#include "support/fork_runner.hpp"
#include "support/mono_clock.hpp"

using namespace colossus;

namespace {

constexpr int kMaxRanks = 16;

using test::now_ns;

struct Shared {
  std::atomic<std::int64_t> t_event{0};  // the kill / the abort
  std::atomic<std::int64_t> t_error[kMaxRanks];
  std::atomic<std::int64_t> t_shrink_start[kMaxRanks];
  std::atomic<std::int64_t> t_shrink_end[kMaxRanks];
  void reset() {
    t_event = 0;
    for (int i = 0; i < kMaxRanks; ++i) t_error[i] = t_shrink_start[i] = t_shrink_end[i] = 0;
  }
};

Shared* shared_page() {
  void* p =
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("mmap");
    std::exit(1);
  }
  return new (p) Shared();
}

struct Stats {
  std::vector<double> ms;
  int failed = 0;
  std::string first_failure;
  void fail(const std::string& why) {
    if (failed++ == 0) first_failure = why;
  }
};

void row(const char* what, const std::string& wire, int n, const Stats& s) {
  std::vector<double> v = s.ms;
  std::sort(v.begin(), v.end());
  if (v.empty()) {
    std::printf("| %-29s | %-8s | %5d | %6d | %10s | %10s | %s\n", what, wire.c_str(), n, 0, "-",
                "-", s.first_failure.c_str());
  } else {
    const double med = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    std::printf("| %-29s | %-8s | %5d | %6zu | %10.2f | %10.2f |", what, wire.c_str(), n, v.size(),
                med, v.back());
    if (s.failed) std::printf(" %d failed: %s", s.failed, s.first_failure.c_str());
    std::printf("\n");
  }
  std::fflush(stdout);
}

Options options_for(const std::string& wire) {
  Options o;
  o.transport = wire;
  o.timeout_s = 60;
  return o;
}

// (a) One trial: n processes loop on allreduce; rank n/2 SIGKILLs itself;
// the survivors catch the error and shrink the victim away.
void kill_trial(const std::string& wire, int n, Shared* sh, Stats& detect, Stats& shrink) {
  sh->reset();
  const int victim = n / 2;
  const UniqueId id = make_unique_id();
  const Options o = options_for(wire);
  const auto out = test::fork_ranks(
      n,
      [&](int rank) -> std::string {
        Communicator c = init(id, rank, n, o);
        std::vector<float> buf(1 << 16, 1.0f);
        c.allreduce(buf.data(), buf.data(), buf.size(), DataType::Float32, ReduceOp::Sum);
        if (rank == victim) {
          std::thread([sh] {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            sh->t_event = now_ns();
            raise(SIGKILL);
          }).detach();
        }
        try {
          for (;;)
            c.allreduce(buf.data(), buf.data(), buf.size(), DataType::Float32, ReduceOp::Sum);
        } catch (const Error&) {
          sh->t_error[rank] = now_ns();
        }
        sh->t_shrink_start[rank] = now_ns();
        Communicator child = c.shrink({victim}, ShrinkMode::Abort);
        sh->t_shrink_end[rank] = now_ns();
        if (child.size() != n - 1) return "shrunk size " + std::to_string(child.size());
        c.destroy();
        return "";
      },
      120);
  std::int64_t last_error = 0, slowest_shrink = 0;
  for (int r = 0; r < n; ++r) {
    if (r == victim) continue;
    if (!out[static_cast<std::size_t>(r)].ok()) {
      detect.fail(out[static_cast<std::size_t>(r)].describe());
      return;
    }
    last_error = std::max(last_error, sh->t_error[r].load());
    slowest_shrink =
        std::max(slowest_shrink, sh->t_shrink_end[r].load() - sh->t_shrink_start[r].load());
  }
  detect.ms.push_back(static_cast<double>(last_error - sh->t_event.load()) * 1e-6);
  shrink.ms.push_back(static_cast<double>(slowest_shrink) * 1e-6);
}

// (b) Rank 0 blocks in an allreduce rank 2 never joins; a watchdog thread
// aborts it; rank 1, blocked in the same allreduce, gets the RemoteError.
std::string abort_rank(Communicator& c, int rank, Shared* sh) {
  std::vector<float> buf(1024, 1.0f);
  c.allreduce(buf.data(), buf.data(), buf.size(), DataType::Float32, ReduceOp::Sum);
  if (rank == 2) {
    const auto until = now_ns() + 20'000'000'000;
    while (sh->t_error[0].load() == 0 && now_ns() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return "";
  }
  std::thread watchdog;
  if (rank == 0) {
    watchdog = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      sh->t_event = now_ns();
      c.abort();
    });
  }
  std::string report;
  try {
    c.allreduce(buf.data(), buf.data(), buf.size(), DataType::Float32, ReduceOp::Sum);
    report = "the blocked allreduce returned";
  } catch (const Error&) {
    sh->t_error[rank] = now_ns();
  }
  if (watchdog.joinable()) watchdog.join();
  return report;
}

void abort_trial(const std::string& wire, Shared* sh, Stats& local, Stats& peer) {
  sh->reset();
  const int n = 3;
  if (wire == "loopback") {
    std::vector<Communicator> comms = loopback_group(n, options_for(""));
    std::vector<std::string> out(n);
    std::vector<std::thread> threads;
    for (int r = 0; r < n; ++r)
      threads.emplace_back([&, r] {
        try {
          out[static_cast<std::size_t>(r)] = abort_rank(comms[static_cast<std::size_t>(r)], r, sh);
        } catch (const std::exception& e) {
          out[static_cast<std::size_t>(r)] = e.what();
        }
      });
    for (auto& t : threads) t.join();
    for (int r = 0; r < n; ++r)
      if (!out[static_cast<std::size_t>(r)].empty()) {
        local.fail("rank " + std::to_string(r) + ": " + out[static_cast<std::size_t>(r)]);
        return;
      }
  } else {
    const UniqueId id = make_unique_id();
    const Options o = options_for(wire);
    const auto out = test::fork_ranks(
        n,
        [&](int rank) -> std::string {
          Communicator c = init(id, rank, n, o);
          return abort_rank(c, rank, sh);
        },
        60);
    for (const auto& r : out)
      if (!r.ok()) {
        local.fail(r.describe());
        return;
      }
  }
  local.ms.push_back(static_cast<double>(sh->t_error[0].load() - sh->t_event.load()) * 1e-6);
  peer.ms.push_back(static_cast<double>(sh->t_error[1].load() - sh->t_event.load()) * 1e-6);
}

// (c) A healthy shrink: ranks 0..n-2 shrink({n-1}); rank n-1 calls nothing.
void shrink_trial(const std::string& wire, int n, Shared* sh, Stats& s) {
  sh->reset();
  const UniqueId id = make_unique_id();
  const Options o = options_for(wire);
  const auto out = test::fork_ranks(
      n,
      [&](int rank) -> std::string {
        Communicator c = init(id, rank, n, o);
        std::vector<float> buf(1024, 1.0f);
        c.allreduce(buf.data(), buf.data(), buf.size(), DataType::Float32, ReduceOp::Sum);
        if (rank == n - 1) return "";
        sh->t_shrink_start[rank] = now_ns();
        Communicator child = c.shrink({n - 1}, ShrinkMode::Default);
        sh->t_shrink_end[rank] = now_ns();
        if (child.size() != n - 1) return "shrunk size " + std::to_string(child.size());
        child.allreduce(buf.data(), buf.data(), buf.size(), DataType::Float32, ReduceOp::Sum);
        return "";
      },
      60);
  std::int64_t slowest = 0;
  for (int r = 0; r < n; ++r) {
    if (!out[static_cast<std::size_t>(r)].ok()) {
      s.fail(out[static_cast<std::size_t>(r)].describe());
      return;
    }
    if (r < n - 1)
      slowest = std::max(slowest, sh->t_shrink_end[r].load() - sh->t_shrink_start[r].load());
  }
  s.ms.push_back(static_cast<double>(slowest) * 1e-6);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) v.push_back(item);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  int trials = 20, shrink_trials = 10;
  std::vector<std::string> wires = {"shm", "tcp"};
  std::vector<int> sizes = {4, 8};
  std::string only = "kill,abort,shrink";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--trials")
      trials = std::atoi(v.c_str());
    else if (a == "--shrink-trials")
      shrink_trials = std::atoi(v.c_str());
    else if (a == "--wires")
      wires = split_list(v);
    else if (a == "--only")
      only = v;
    else if (a == "--ranks") {
      sizes.clear();
      for (const auto& s : split_list(v))
        sizes.push_back(std::min(kMaxRanks, std::atoi(s.c_str())));
    } else {
      std::fprintf(stderr,
                   "usage: fault_bench [--trials 20] [--shrink-trials 10] [--wires shm,tcp] "
                   "[--ranks 4,8] [--only kill,abort,shrink]\n");
      return 2;
    }
  }
  Shared* sh = shared_page();
  std::printf("| %-29s | %-8s | %5s | %6s | %10s | %10s |\n", "measurement", "wire", "ranks",
              "trials", "median ms", "max ms");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(31, '-').c_str(), std::string(10, '-').c_str(),
              std::string(7, '-').c_str(), std::string(8, '-').c_str(),
              std::string(12, '-').c_str(), std::string(12, '-').c_str());
  std::fflush(stdout);
  if (only.find("kill") != std::string::npos)
    for (const auto& w : wires)
      for (const int n : sizes) {
        Stats detect, shrink;
        for (int t = 0; t < trials; ++t) kill_trial(w, n, sh, detect, shrink);
        row("SIGKILL -> last survivor err", w, n, detect);
        row("shrink after kill (Abort)", w, n, shrink);
      }
  if (only.find("abort") != std::string::npos) {
    std::vector<std::string> abort_wires = {"loopback"};
    abort_wires.insert(abort_wires.end(), wires.begin(), wires.end());
    for (const auto& w : abort_wires) {
      Stats local, peer;
      for (int t = 0; t < trials; ++t) abort_trial(w, sh, local, peer);
      row("abort -> blocked call returns", w, 3, local);
      row("abort -> peer's RemoteError", w, 3, peer);
    }
  }
  if (only.find("shrink") != std::string::npos)
    for (const auto& w : wires)
      for (const int n : sizes) {
        Stats s;
        for (int t = 0; t < shrink_trials; ++t) shrink_trial(w, n, sh, s);
        row("healthy shrink (Default)", w, n, s);
      }
  return 0;
}
