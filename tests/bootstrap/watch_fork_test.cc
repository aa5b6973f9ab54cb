// The watch with ranks as forked processes: a rank that is SIGKILLed or
// SIGSTOPped is named, with the right kind, on every other rank. Deadlines
// are generous bounds on a condition, never timings under test.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include "bootstrap/watch.hpp"
#include "catch.hpp"
#include "support/fork_runner.hpp"

using namespace colossus;
using namespace colossus::test;
using base::Failure;
using base::FailureKind;
using base::FailureState;
using bootstrap::Bootstrap;
using bootstrap::UniqueId;
using bootstrap::Watch;
using bootstrap::WatchOptions;

namespace {

// Forked ranks: each sets up, learns every pid, watches; `act` runs next
// (a victim kills or stops itself there) and returns the rank's complaint.
using Act =
    std::function<std::string(int rank, Watch& w, FailureState& s, const std::vector<pid_t>& pids)>;

std::vector<ChildOutcome> fork_job(int n, const WatchOptions& o, const Act& act) {
  const UniqueId id = bootstrap::make_unique_id("127.0.0.1:0");
  auto out = fork_ranks(
      n,
      [&](int rank) -> std::string {
        auto b = Bootstrap::create(id, rank, n, 20);
        std::vector<pid_t> pids;
        for (const std::string& p : b->allgather(std::to_string(getpid())))
          pids.push_back(static_cast<pid_t>(std::stol(p)));
        FailureState state;
        auto w = Watch::start(*b, state, o);
        return act(rank, *w, state, pids);
      },
      60);
  bootstrap::discard_unique_id(id);
  return out;
}

// A survivor's check: its state names `rank` with `kind` within 10 s.
std::string await(const FailureState& s, int rank, FailureKind kind) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!s.raised() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto f = s.first();
  if (!f) return "nothing raised";
  if (f->rank != rank || f->kind != kind) return "raised: " + base::describe(*f);
  return "";
}

}  // namespace

TEST_CASE("a SIGKILLed rank is Exited on every survivor", "[bootstrap][watch][fork]") {
  for (const int victim : {2, 0}) {
    DYNAMIC_SECTION("rank " << victim << " killed") {
      const auto out = fork_job(4, {}, [&](int rank, Watch&, FailureState& s, auto&) {
        if (rank == victim) ::kill(getpid(), SIGKILL);
        return await(s, victim, FailureKind::Exited);
      });
      INFO(describe(out));
      for (const auto& o : out) CHECK((o.rank == victim ? o.killed_by(SIGKILL) : o.ok()));
    }
  }
}

TEST_CASE("a SIGSTOPped rank is Unreachable on every other rank", "[bootstrap][watch][fork]") {
  const auto out = fork_job(4, {0.1, 1, 0.5}, [](int rank, Watch&, FailureState& s, auto& pids) {
    if (rank == 3) ::kill(getpid(), SIGSTOP);
    std::string complaint = await(s, 3, FailureKind::Unreachable);
    if (rank == 0) ::kill(pids[3], SIGKILL);  // it never wakes to see it
    return complaint;
  });
  INFO(describe(out));
  for (const auto& o : out) CHECK((o.rank == 3 ? o.killed_by(SIGKILL) : o.ok()));
}

TEST_CASE("a PeerLost view about a rank that then dies becomes Exited",
          "[bootstrap][watch][fork]") {
  const auto out =
      fork_job(4, {1, 10, 3}, [](int rank, Watch& w, FailureState& s, auto&) -> std::string {
        if (rank == 1) {
          const Failure lost{3, 1, FailureKind::PeerLost, ErrorCode::RemoteError, "reset"};
          s.raise(lost);
          w.report(lost);
          return "";
        }
        if (rank == 3) {
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          ::kill(getpid(), SIGKILL);
        }
        return await(s, 3, FailureKind::Exited);
      });
  INFO(describe(out));
  for (const auto& o : out) CHECK((o.rank == 3 ? o.killed_by(SIGKILL) : o.ok()));
}
