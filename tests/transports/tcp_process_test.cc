// The tcp transport between real processes (forked children, one rank
// each, talking over 127.0.0.1): real data, and a process SIGKILLed in the
// middle of an allreduce, which its peers must notice by its sockets
// closing, long before any timeout.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "catch.hpp"
#include "transports/fork_oob.hpp"
#include "transports/tcp_support.hpp"

using namespace colossus;
using Clock = std::chrono::steady_clock;

namespace {

// A rank's communicator over tcp and the doorbell it rings, which must
// outlive it (members are destroyed last to first).
struct TcpRank {
  TcpRank(bootstrap::OutOfBand& oob, const Options& options) {
    const detail::Settings s = test::tcp_settings_for(options);
    comm = detail::CommAccess::wrap(std::make_shared<detail::CommImpl>(
        std::make_unique<transport::TcpTransport>(oob, bell, test::tcp_options_for(s)), s));
  }
  transport::Doorbell bell;
  Communicator comm;
};

std::string describe(const std::vector<test::ChildOutcome>& out) {
  std::string s;
  for (std::size_t r = 0; r < out.size(); ++r) {
    s += "\n  rank " + std::to_string(r) + ": status " + std::to_string(out[r].status) + " " +
         (out[r].report.empty() ? "ok" : out[r].report);
  }
  return s;
}

// Allreduce sum of exactly representable values and an allgather, checked.
std::string check(Communicator& comm, std::size_t count) {
  const int n = comm.size(), r = comm.rank();
  std::vector<float> in(count), out(count);
  for (std::size_t i = 0; i < count; ++i) in[i] = static_cast<float>((r + 1) * (i % 101 + 1));
  comm.allreduce(in.data(), out.data(), count, DataType::Float32, ReduceOp::Sum);
  for (std::size_t i = 0; i < count; ++i) {
    if (out[i] != static_cast<float>(n * (n + 1) / 2 * (i % 101 + 1))) {
      return "allreduce count " + std::to_string(count) + ": element " + std::to_string(i) +
             " wrong";
    }
  }
  std::vector<int32_t> mine(count), all(count * static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < count; ++i) mine[i] = r * 1000003 + static_cast<int32_t>(i);
  comm.allgather(mine.data(), all.data(), count, DataType::Int32);
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i] != static_cast<int32_t>(i / count) * 1000003 + static_cast<int32_t>(i % count)) {
      return "allgather count " + std::to_string(count) + ": element " + std::to_string(i) +
             " wrong";
    }
  }
  return "";
}

}  // namespace

TEST_CASE("tcp between processes: allreduce and allgather with real data", "[tcp][process]") {
  for (int n : {2, 4}) {
    test::ForkOobMesh mesh(n);
    auto out = test::run_children(
        mesh, n,
        [](int, bootstrap::OutOfBand& oob) -> std::string {
          Options o;
          o.timeout_s = 30;
          TcpRank rank(oob, o);
          for (std::size_t count :
               {std::size_t{1}, std::size_t{1000}, std::size_t{(1 << 20) + 3}}) {
            if (auto p = check(rank.comm, count); !p.empty()) return p;
          }
          return "";
        },
        nullptr, 120);
    INFO("n=" << n << describe(out));
    for (const auto& o : out) {
      CHECK(o.report.empty());
      CHECK((WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0));
    }
  }
}

TEST_CASE("tcp: a process SIGKILLed mid-allreduce fails its peers fast", "[tcp][process]") {
  const int n = 4, victim = 2;
  test::ForkOobMesh mesh(n);
  auto out = test::run_children(
      mesh, n,
      [](int rank, bootstrap::OutOfBand& oob) -> std::string {
        Options o;
        o.timeout_s = 60;  // a Timeout would come far too late: only peer detection passes
        TcpRank me(oob, o);
        std::vector<float> in(4 << 20, 1.0f), res(in.size());
        me.comm.allreduce(in.data(), res.data(), in.size(), DataType::Float32, ReduceOp::Sum);
        if (rank == victim) {
          std::thread([] {
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            raise(SIGKILL);
          }).detach();
        }
        auto last_ok = Clock::now();
        try {
          for (int i = 0; i < 10000; ++i) {
            me.comm.allreduce(in.data(), res.data(), in.size(), DataType::Float32, ReduceOp::Sum);
            last_ok = Clock::now();
          }
          return "never failed";
        } catch (const Error& e) {
          const double s = std::chrono::duration<double>(Clock::now() - last_ok).count();
          char buf[64];
          std::snprintf(buf, sizeof buf, "code=%d after=%.3f ", static_cast<int>(e.code()), s);
          return buf + std::string(e.what());
        }
      },
      nullptr, 60);
  INFO(describe(out));
  REQUIRE(WIFSIGNALED(out[victim].status));
  for (int r = 0; r < n; ++r) {
    if (r == victim) continue;
    const std::string& rep = out[static_cast<std::size_t>(r)].report;
    int code = -1;
    double after = 1e9;
    std::sscanf(rep.c_str(), "code=%d after=%lf", &code, &after);
    CHECK(code == static_cast<int>(ErrorCode::RemoteError));
    CHECK(after < 5.0);
  }
}
