// A peer that fails mid-allreduce, over each transport that can lose one:
// every surviving rank gets an error, never a hang, and the error names a
// failed peer (for processes made by init(): the rank that failed first).
// Two ways to fail: a process SIGKILLed (ranks as forked
// processes through init()), and a rank destroying its communicator while
// the others wait on it (ranks as threads).
//
// Nothing here reads a clock: the configured timeout is long, so an error
// coded RemoteError (not Timeout) is one the transport detected before the
// timeout fired; the runner's deadline turns a hang into a failed check.
#include <signal.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "support/fork_runner.hpp"
#include "support/rank_pool.hpp"
#include "support/shm_support.hpp"
#include "support/tcp_support.hpp"
#include "support/ucx_support.hpp"

using namespace colossus;

namespace {

// The peer an executor's error blames ("... peer rank 3 failed"), or -1.
int blamed_peer(const std::string& what) {
  std::smatch m;
  static const std::regex kPeer("peer rank ([0-9]+) failed");
  return std::regex_search(what, m, kPeer) ? std::stoi(m[1]) : -1;
}

// The root cause an error names ("rank 2 failed first: ..."), or -1.
int first_failed(const std::string& what) {
  std::smatch m;
  static const std::regex kFirst("rank ([0-9]+) failed first");
  return std::regex_search(what, m, kFirst) ? std::stoi(m[1]) : -1;
}

// "code <n> <what>", the way a child reports the error it caught.
std::string coded(const Error& e) {
  return "code " + std::to_string(static_cast<int>(e.code())) + " " + e.what();
}

void kill_mid_allreduce(const std::string& wire) {
  const int n = 4, victim = 2;
  Options o;
  o.transport = wire;
  o.timeout_s = 60;  // a Timeout would come far too late: only peer detection passes
  const UniqueId id = make_unique_id();
  const auto out = test::fork_ranks(
      n,
      [&](int rank) -> std::string {
        Communicator comm = init(id, rank, n, o);
        std::vector<float> in(4 << 20, 1.0f), res(in.size());
        try {
          // The victim dies 30 ms after its first allreduce, when a slow
          // rank may still be in that one: it fails as well, then.
          comm.allreduce(in.data(), res.data(), in.size(), DataType::Float32, ReduceOp::Sum);
          if (rank == victim) {  // dies in the middle of one of the next allreduces
            std::thread([] {
              std::this_thread::sleep_for(std::chrono::milliseconds(30));
              raise(SIGKILL);
            }).detach();
          }
          for (int i = 0; i < 10000; ++i)
            comm.allreduce(in.data(), res.data(), in.size(), DataType::Float32, ReduceOp::Sum);
          return "never failed";
        } catch (const Error& e) {
          return coded(e);
        }
      },
      180);
  INFO(wire << test::describe(out));
  REQUIRE(out[victim].killed_by(SIGKILL));
  // Every survivor names the victim as the root cause, not only the
  // neighbour it lost: the failure spreads through the bootstrap's watch.
  for (int r = 0; r < n; ++r) {
    if (r == victim) continue;
    const auto& o_r = out[static_cast<std::size_t>(r)];
    INFO(o_r.describe());
    CHECK(o_r.finished);
    CHECK(o_r.report.rfind("code " + std::to_string(static_cast<int>(ErrorCode::RemoteError)) + " ",
                           0) == 0);
    CHECK(first_failed(o_r.report) == victim);
    CHECK(o_r.report.find("process exited") != std::string::npos);
  }
  if (wire == "shm") {
    const auto left = test::shm_leftovers(id);
    INFO("left in /dev/shm: " << test::join(left));
    CHECK(left.empty());
  }
}

}  // namespace

TEST_CASE("shm: a process SIGKILLed mid-allreduce fails every survivor",
          "[shm][process][failure]") {
  kill_mid_allreduce("shm");
}

TEST_CASE("tcp: a process SIGKILLed mid-allreduce fails every survivor",
          "[tcp][process][failure]") {
  kill_mid_allreduce("tcp");
}

namespace {

// Rank 3 destroys its communicator while the others start an allreduce.
// Rank 0 receives from it (ring order), so its end closing must be
// noticed; the others fail on it or time out waiting on a rank that failed.
void destroy_mid_job(const std::string& wire) {
  Options opt;
  opt.timeout_s = 3;
  opt.slot_bytes = 64 << 10;
  const int n = 4, leaver = 3;
  std::unique_ptr<test::TcpJob> tcp;  // its doorbells outlive the transports
  std::unique_ptr<test::UcxJob> ucx;  // likewise
  std::vector<Communicator> comms;
  if (wire == "tcp") {
    tcp = std::make_unique<test::TcpJob>(n, opt);
    comms = std::move(tcp->comms);
  } else if (wire == "ucx") {
    ucx = std::make_unique<test::UcxJob>(n, opt);
    comms = std::move(ucx->comms);
  } else {
    const transport::ShmOptions so = test::shm_options_for(test::settings_for(opt));
    comms = test::make_group(
        n, [&](bootstrap::OutOfBand& oob) { return transport::make_shm_transport(oob, so); }, opt);
  }
  test::RankPool pool(n);
  const std::size_t count = 1 << 20;
  std::vector<std::vector<float>> bufs(n, std::vector<float>(count, 1.0f));
  // One good allreduce: every stream of the ring is connected.
  auto errors = pool.run([&](int r) {
    auto& b = bufs[static_cast<std::size_t>(r)];
    comms[static_cast<std::size_t>(r)].allreduce(b.data(), b.data(), count, DataType::Float32,
                                                 ReduceOp::Sum);
  });
  REQUIRE(errors.empty());
  CHECK(bufs[0][123] == 4.0f);

  std::vector<std::string> caught(n);
  errors = pool.run([&](int r) {
    const auto ur = static_cast<std::size_t>(r);
    if (r == leaver) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      comms[ur].destroy();
      return;
    }
    try {
      comms[ur].allreduce(bufs[ur].data(), bufs[ur].data(), count, DataType::Float32,
                          ReduceOp::Sum);
      caught[ur] = "no error";
    } catch (const Error& e) {
      caught[ur] = coded(e);
    }
  });
  CHECK(errors.empty());
  const std::string remote =
      "code " + std::to_string(static_cast<int>(ErrorCode::RemoteError)) + " ";
  const std::string timeout = "code " + std::to_string(static_cast<int>(ErrorCode::Timeout)) + " ";
  for (int r = 0; r < n; ++r) {
    if (r == leaver) continue;
    const std::string& c = caught[static_cast<std::size_t>(r)];
    INFO(wire << " rank " << r << ": " << c);
    CHECK((c.rfind(remote, 0) == 0 || c.rfind(timeout, 0) == 0));
    if (c.rfind(remote, 0) == 0) CHECK(blamed_peer(c) == leaver);
  }
  INFO(wire << " rank 0: " << caught[0]);
  CHECK(caught[0].rfind(remote, 0) == 0);  // the closed end itself was noticed
}

}  // namespace

TEST_CASE("shm: a rank destroyed while its peers wait on it fails them", "[shm][failure]") {
  destroy_mid_job("shm");
}

TEST_CASE("tcp: a rank destroyed while its peers wait on it fails them", "[tcp][failure]") {
  destroy_mid_job("tcp");
}

// ucx: run by two ctest entries, over UCX's tcp and over its shared memory
// (COLOSSUS_UCX_TLS; tests/transports/CMakeLists.txt).
#ifdef COLOSSUS_TEST_UCX
TEST_CASE("ucx: a process SIGKILLed mid-allreduce fails every survivor",
          "[.][ucx][process][failure]") {
  kill_mid_allreduce("ucx");
}

TEST_CASE("ucx: a rank destroyed while its peers wait on it fails them", "[.][ucx][failure]") {
  destroy_mid_job("ucx");
}
#endif
