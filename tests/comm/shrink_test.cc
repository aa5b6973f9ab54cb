// Communicator::shrink() (issue 14): the ranks that are left build a
// communicator without the excluded ones, numbered in order, and its
// allreduce is exact.
//   - After a failure: 4 processes (shm, tcp), one SIGKILLed mid-allreduce
//     loop; every survivor's error names it ("rank K failed first") within
//     about a second (the timeout is 60 s: only failure detection passes);
//     the survivors shrink({victim}, ShrinkMode::Abort).
//   - After a revoke: one rank stops (SIGSTOP) and answers nothing; a
//     watchdog thread of rank 0 revokes while its main thread is blocked in
//     an allreduce; every survivor's allreduce ends, they shrink({stopped})
//     and run an allreduce.
//   - Healthy: shrink({1}) on ranks 0, 2, 3 of a loopback group, the parent
//     still works afterwards (ShrinkMode::Default); shrink({}) keeps all.
//   - Bad input: excluding every rank, a rank out of range, the caller
//     itself: InvalidArgument.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <new>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "colossus/colossus.hpp"
#include "support/fork_runner.hpp"
#include "support/mono_clock.hpp"

using namespace colossus;

namespace {

constexpr double kTimeoutS = 60;
constexpr double kPromptS = 2.0;  // the documented "about a second", with slack for 2 busy cores

using test::now_ns;
using test::since_s;

struct Shared {
  std::atomic<std::int64_t> t_event_ns{0};  // when the victim died / the revoke was called
  std::atomic<int> pid[8]{};
  std::atomic<int> done{0};
  std::atomic<int> warm{0};  // ranks through their first allreduce
};
Shared* shared_page() {
  void* p =
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(p != MAP_FAILED);
  return new (p) Shared();
}

std::string coded(const Error& e) {
  return "code " + std::string(to_string(e.code())) + " (" +
         std::to_string(static_cast<int>(e.code())) + "): " + e.what();
}

// Rank q's contribution: exact in double, distinct per rank and element.
double value(int q, std::size_t i) { return q * 1e6 + static_cast<double>(i % 1000); }

// An allreduce on `c` (made of the parent ranks `members`, in order) and
// the exact check of its sum: "" if right.
std::string checked_allreduce(Communicator& c, int parent_rank, const std::vector<int>& members,
                              std::size_t count = 100003) {
  std::vector<double> x(count), y(count);
  for (std::size_t i = 0; i < count; ++i) x[i] = value(parent_rank, i);
  c.allreduce(x.data(), y.data(), count, DataType::Float64, ReduceOp::Sum);
  for (std::size_t i = 0; i < count; ++i) {
    double want = 0;
    for (const int q : members) want += value(q, i);
    if (y[i] != want) {
      std::ostringstream s;
      s << "allreduce wrong at " << i << ": " << y[i] << " != " << want << "; ";
      return s.str();
    }
  }
  return "";
}

// Checks a shrunk communicator: size, rank (the parent ranks left, in
// order), an exact allreduce.
std::string check_shrunk(Communicator& child, int parent_rank, const std::vector<int>& members) {
  std::ostringstream bad;
  int want_rank = -1;
  for (std::size_t i = 0; i < members.size(); ++i)
    if (members[i] == parent_rank) want_rank = static_cast<int>(i);
  if (!child.valid()) return "shrink gave an empty handle; ";
  if (child.size() != static_cast<int>(members.size()) || child.rank() != want_rank)
    bad << "shrunk communicator is rank " << child.rank() << "/" << child.size() << ", want "
        << want_rank << "/" << members.size() << "; ";
  if (child.state() != CommState::Ready) bad << "shrunk communicator not Ready; ";
  bad << checked_allreduce(child, parent_rank, members);
  bad << checked_allreduce(child, parent_rank, members, 1);
  return bad.str();
}

std::vector<int> all_but(int n, int excluded) {
  std::vector<int> m;
  for (int q = 0; q < n; ++q)
    if (q != excluded) m.push_back(q);
  return m;
}

// 4 processes; rank 2 is SIGKILLed during an allreduce loop.
void shrink_after_kill(const std::string& wire) {
  const int n = 4, victim = 2;
  Options o;
  o.transport = wire;
  o.timeout_s = kTimeoutS;
  Shared* sh = shared_page();
  const UniqueId id = make_unique_id();
  const auto out = test::fork_ranks(
      n,
      [&](int rank) -> std::string {
        Communicator comm = init(id, rank, n, o);
        std::vector<float> in(1 << 20, 1.0f), res(in.size());
        comm.allreduce(in.data(), res.data(), in.size(), DataType::Float32, ReduceOp::Sum);
        if (rank == victim) {
          std::thread([sh] {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            sh->t_event_ns = now_ns();
            raise(SIGKILL);
          }).detach();
        }
        std::ostringstream bad;
        try {
          for (int i = 0; i < 100000; ++i)
            comm.allreduce(in.data(), res.data(), in.size(), DataType::Float32, ReduceOp::Sum);
          return "the allreduce loop never failed";
        } catch (const Error& e) {
          const double dt = since_s(sh->t_event_ns.load());
          static const std::regex blames("rank " + std::to_string(victim) + " failed first");
          if (e.code() != ErrorCode::RemoteError || !std::regex_search(e.what(), blames))
            bad << "got " << coded(e) << " (want RemoteError with 'rank " << victim
                << " failed first'); ";
          if (dt > kPromptS) bad << "error came " << dt << " s after the kill; ";
        }
        if (comm.state() != CommState::Failed) bad << "state() not Failed after the failure; ";
        try {
          Communicator child = comm.shrink({victim}, ShrinkMode::Abort);
          bad << check_shrunk(child, rank, all_but(n, victim));
          child.destroy();
        } catch (const Error& e) {
          bad << "shrink or the shrunk allreduce threw " << coded(e) << "; ";
        }
        comm.destroy();
        return bad.str();
      },
      120);
  INFO(wire << test::describe(out));
  CHECK(out[victim].killed_by(SIGKILL));
  for (int r = 0; r < n; ++r)
    if (r != victim) CHECK(out[static_cast<std::size_t>(r)].ok());
  munmap(sh, sizeof(Shared));
}

// 4 processes; rank 3 stops itself (SIGSTOP) before the second allreduce.
// Rank 0's watchdog revokes while rank 0 is blocked in that allreduce; the
// survivors' allreduces all end, they revoke too (their own communicator
// may already be Failed: harmless), shrink({3}) and allreduce. The last
// survivor to finish SIGKILLs the stopped rank.
void shrink_after_revoke(const std::string& wire) {
  const int n = 4, stopped = 3;
  Options o;
  o.transport = wire;
  o.timeout_s = kTimeoutS;
  Shared* sh = shared_page();
  const UniqueId id = make_unique_id();
  const auto out = test::fork_ranks(
      n,
      [&](int rank) -> std::string {
        sh->pid[rank] = static_cast<int>(getpid());
        Communicator comm = init(id, rank, n, o);
        std::vector<float> buf(1 << 16, 1.0f);
        comm.allreduce(buf.data(), buf.data(), buf.size(), DataType::Float32, ReduceOp::Sum);
        sh->warm.fetch_add(1);
        if (rank == stopped) {  // once nobody needs it to finish the first allreduce
          const auto until = now_ns() + 30'000'000'000;
          while (sh->warm.load() < n && now_ns() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          raise(SIGSTOP);
          return "the stopped rank went on";  // only if someone sent SIGCONT
        }
        std::ostringstream bad;
        std::string watchdog_bad;
        std::thread watchdog;
        if (rank == 0) {
          watchdog = std::thread([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            sh->t_event_ns = now_ns();
            try {
              comm.revoke();
            } catch (const Error& e) {
              watchdog_bad = "revoke from the watchdog threw " + coded(e) + "; ";
            }
          });
        }
        try {
          comm.allreduce(buf.data(), buf.data(), buf.size(), DataType::Float32, ReduceOp::Sum);
          bad << "the allreduce with a stopped rank returned; ";
        } catch (const Error& e) {
          const double dt = since_s(sh->t_event_ns.load());
          if (rank == 0 && sh->t_event_ns.load() != 0 && e.code() != ErrorCode::Aborted)
            bad << "revoking rank got " << coded(e) << " (want Aborted); ";
          if (sh->t_event_ns.load() != 0 && dt > kPromptS)
            bad << "allreduce ended " << dt << " s after the revoke; ";
          // Before the revoke, only the detection of the stopped rank may end it.
          if (sh->t_event_ns.load() == 0 &&
              (e.code() != ErrorCode::RemoteError ||
               !std::regex_search(e.what(),
                                  std::regex("\\brank " + std::to_string(stopped) + "\\b"))))
            bad << "allreduce ended before the revoke: " << coded(e) << "; ";
        }
        if (watchdog.joinable()) watchdog.join();
        bad << watchdog_bad;
        try {
          if (rank != 0) comm.revoke();
        } catch (const Error& e) {
          bad << "revoke threw " << coded(e) << "; ";
        }
        if (comm.state() != CommState::Failed) bad << "state() not Failed after revoke; ";
        try {
          Communicator child = comm.shrink({stopped}, ShrinkMode::Default);
          bad << check_shrunk(child, rank, all_but(n, stopped));
          child.destroy();
        } catch (const Error& e) {
          bad << "shrink or the shrunk allreduce threw " << coded(e) << "; ";
        }
        if (sh->done.fetch_add(1) == n - 2) kill(sh->pid[stopped].load(), SIGKILL);
        comm.destroy();
        return bad.str();
      },
      120);
  INFO(wire << test::describe(out));
  CHECK(out[stopped].killed_by(SIGKILL));
  for (int r = 0; r < n; ++r)
    if (r != stopped) CHECK(out[static_cast<std::size_t>(r)].ok());
  munmap(sh, sizeof(Shared));
}

// Runs body(rank) on a thread per rank of `ranks`; returns each one's report.
template <typename Body>
std::vector<std::string> on_threads(const std::vector<int>& ranks, Body body) {
  std::vector<std::string> out(ranks.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        out[i] = body(ranks[i]);
      } catch (const std::exception& e) {
        out[i] = std::string("threw: ") + e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

Options loopback_options() {
  Options o;
  o.timeout_s = kTimeoutS;
  return o;
}

}  // namespace

TEST_CASE("shm: survivors of a SIGKILL shrink and allreduce", "[shrink][shm][process]") {
  shrink_after_kill("shm");
}
TEST_CASE("tcp: survivors of a SIGKILL shrink and allreduce", "[shrink][tcp][process]") {
  shrink_after_kill("tcp");
}
TEST_CASE("shm: revoke around a stopped rank, then shrink", "[shrink][revoke][shm][process]") {
  shrink_after_revoke("shm");
}
TEST_CASE("tcp: revoke around a stopped rank, then shrink", "[shrink][revoke][tcp][process]") {
  shrink_after_revoke("tcp");
}

TEST_CASE("loopback: healthy shrink({1}) by ranks 0 2 3 leaves the parent working",
          "[shrink][loopback]") {
  const int n = 4;
  std::vector<Communicator> comms = loopback_group(n, loopback_options());
  std::vector<Communicator> children(n);
  const std::vector<int> members = {0, 2, 3};
  auto out = on_threads(members, [&](int r) {
    auto& parent = comms[static_cast<std::size_t>(r)];
    children[static_cast<std::size_t>(r)] = parent.shrink({1}, ShrinkMode::Default);
    return check_shrunk(children[static_cast<std::size_t>(r)], r, members);
  });
  for (std::size_t i = 0; i < out.size(); ++i) {
    INFO("shrink, parent rank " << members[i] << ": " << out[i]);
    CHECK(out[i].empty());
  }
  // The parent, rank 1 included, is untouched; child and parent interleave.
  for (int r = 0; r < n; ++r) CHECK(comms[static_cast<std::size_t>(r)].state() == CommState::Ready);
  out = on_threads({0, 1, 2, 3}, [&](int r) {
    std::string bad = checked_allreduce(comms[static_cast<std::size_t>(r)], r, {0, 1, 2, 3});
    if (r != 1) bad += checked_allreduce(children[static_cast<std::size_t>(r)], r, members);
    return bad;
  });
  for (int r = 0; r < n; ++r) {
    INFO("after shrink, rank " << r << ": " << out[static_cast<std::size_t>(r)]);
    CHECK(out[static_cast<std::size_t>(r)].empty());
  }
}

TEST_CASE("loopback: shrink excluding nobody keeps every rank", "[shrink][loopback]") {
  const int n = 4;
  std::vector<Communicator> comms = loopback_group(n, loopback_options());
  const auto out = on_threads({0, 1, 2, 3}, [&](int r) {
    Communicator child = comms[static_cast<std::size_t>(r)].shrink({}, ShrinkMode::Default);
    return check_shrunk(child, r, {0, 1, 2, 3});
  });
  for (int r = 0; r < n; ++r) {
    INFO("rank " << r << ": " << out[static_cast<std::size_t>(r)]);
    CHECK(out[static_cast<std::size_t>(r)].empty());
  }
}

TEST_CASE("loopback: shrink rejects excluding everyone or an out-of-range rank or the caller",
          "[shrink][loopback][bad_input]") {
  const int n = 4;
  std::vector<Communicator> comms = loopback_group(n, loopback_options());
  const std::vector<std::vector<int>> bad_excludes = {{0, 1, 2, 3}, {1, 2, 3, 0}, {4},   {-1},
                                                      {1, 7},       {0},          {2, 0}};
  for (const auto& ex : bad_excludes) {
    std::string what = "{";
    for (const int q : ex) what += std::to_string(q) + ",";
    INFO("rank 0 calls shrink(" << what << "})");
    const auto t = now_ns();
    try {
      (void)comms[0].shrink(ex, ShrinkMode::Default);
      FAIL("shrink accepted it");
    } catch (const Error& e) {
      INFO(coded(e));
      CHECK(e.code() == ErrorCode::InvalidArgument);
    }
    CHECK(since_s(t) < kPromptS);  // refused up front, not after waiting for peers
  }
  // Refusals leave the parent healthy.
  const auto out = on_threads({0, 1, 2, 3}, [&](int r) {
    return checked_allreduce(comms[static_cast<std::size_t>(r)], r, {0, 1, 2, 3});
  });
  for (int r = 0; r < n; ++r) {
    INFO("rank " << r << ": " << out[static_cast<std::size_t>(r)]);
    CHECK(out[static_cast<std::size_t>(r)].empty());
  }
}
