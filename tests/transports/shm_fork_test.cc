// The shm transport between real processes: forked children with real data,
// a peer SIGKILLed mid-allreduce, and what stays in /dev/shm afterwards.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "catch.hpp"
#include "transports/fork_oob.hpp"
#include "transports/shm_support.hpp"

using namespace colossus;
using Clock = std::chrono::steady_clock;

namespace {

std::string mismatch(const char* what, std::size_t count, std::size_t i, double got, double want) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s count %zu: element %zu is %g, expected %g", what, count, i,
                got, want);
  return buf;
}

// Allreduce (sum, max; in and out of place) and allgather of exactly
// representable values, checked element by element.
std::string check_collectives(Communicator& comm, std::size_t count) {
  const int n = comm.size(), r = comm.rank();
  std::vector<float> in(count), out(count);
  for (std::size_t i = 0; i < count; ++i) in[i] = static_cast<float>((r + 1) * (i % 113 + 1));
  comm.allreduce(in.data(), out.data(), count, DataType::Float32, ReduceOp::Sum);
  for (std::size_t i = 0; i < count; ++i) {
    const float want = static_cast<float>(n * (n + 1) / 2 * (i % 113 + 1));
    if (out[i] != want) return mismatch("allreduce sum", count, i, out[i], want);
  }
  comm.allreduce(in.data(), in.data(), count, DataType::Float32, ReduceOp::Max);  // in place
  for (std::size_t i = 0; i < count; ++i) {
    const float want = static_cast<float>(n * (i % 113 + 1));
    if (in[i] != want) return mismatch("allreduce max in place", count, i, in[i], want);
  }
  std::vector<int32_t> mine(count), all(count * static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < count; ++i) mine[i] = r * 1000003 + static_cast<int32_t>(i);
  comm.allgather(mine.data(), all.data(), count, DataType::Int32);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto want = static_cast<int32_t>(i / count) * 1000003 + static_cast<int32_t>(i % count);
    if (all[i] != want) return mismatch("allgather", count, i, all[i], want);
  }
  return "";
}

std::string describe(const std::vector<test::ChildOutcome>& out) {
  std::string s;
  for (std::size_t r = 0; r < out.size(); ++r) {
    s += "\n  rank " + std::to_string(r) + ": status " + std::to_string(out[r].status) + " " +
         (out[r].report.empty() ? "ok" : out[r].report);
  }
  return s;
}

}  // namespace

TEST_CASE("shm between processes: allreduce and allgather with real data", "[shm][process]") {
  for (int n : {2, 4}) {
    test::ForkOobMesh mesh(n);
    auto out = test::run_children(
        mesh, n,
        [](int, bootstrap::OutOfBand& oob) -> std::string {
          Options wide;  // default 512 KiB slots
          wide.timeout_s = 30;
          Communicator comm = test::shm_communicator(oob, wide);
          for (std::size_t count :
               {std::size_t{1}, std::size_t{1000}, std::size_t{(1 << 20) + 3}}) {
            if (auto p = check_collectives(comm, count); !p.empty()) return p;
          }
          Options tiny;  // a second transport in the same job: 128 B slots, many pieces
          tiny.slot_bytes = 128;
          tiny.chunk_bytes = 256;
          tiny.nchannels = 3;
          tiny.timeout_s = 30;
          Communicator small = test::shm_communicator(oob, tiny);
          return check_collectives(small, 5003);
        },
        nullptr, 120);
    INFO("n=" << n << describe(out));
    for (const auto& o : out) {
      CHECK(o.report.empty());
      CHECK((WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0));
    }
    const auto left = test::shm_leftovers(mesh.secret());
    INFO("left in /dev/shm: " << test::join(left));
    CHECK(left.empty());
  }
}

TEST_CASE("shm: a process SIGKILLed mid-allreduce fails its peers fast, leaving nothing",
          "[shm][process]") {
  const int n = 4, victim = 2;
  test::ForkOobMesh mesh(n);
  auto out = test::run_children(
      mesh, n,
      [](int rank, bootstrap::OutOfBand& oob) -> std::string {
        Options o;
        o.timeout_s = 60;  // a Timeout would come far too late: only peer detection passes
        Communicator comm = test::shm_communicator(oob, o);
        std::vector<float> in(4 << 20, 1.0f), res(in.size());
        comm.allreduce(in.data(), res.data(), in.size(), DataType::Float32, ReduceOp::Sum);
        if (rank == victim) {
          std::thread([] {
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            raise(SIGKILL);
          }).detach();
        }
        auto last_ok = Clock::now();
        try {
          for (int i = 0; i < 10000; ++i) {
            comm.allreduce(in.data(), res.data(), in.size(), DataType::Float32, ReduceOp::Sum);
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
  const auto left = test::shm_leftovers(mesh.secret());
  INFO("left in /dev/shm: " << test::join(left));
  CHECK(left.empty());
}

TEST_CASE("shm: what a job killed during setup leaves, the sweep removes", "[shm][process]") {
  test::ForkOobMesh mesh(2);
  auto out = test::run_children(
      mesh, 2,
      [](int rank, bootstrap::OutOfBand& oob) -> std::string {
        auto t = make_shm_transport(oob, transport::ShmOptions{4096, 4, 10});
        if (rank == 1) {
          auto rx = t->connect_recv(0, 0);  // created; its sender never comes
          raise(SIGKILL);
        }
        return "";
      },
      nullptr, 60);
  INFO(describe(out));
  REQUIRE(WIFSIGNALED(out[1].status));
  CHECK(test::shm_leftovers(mesh.secret()).size() == 1);
  CHECK(transport::sweep_stale_shm_segments() >= 1);
  CHECK(test::shm_leftovers(mesh.secret()).empty());
}
