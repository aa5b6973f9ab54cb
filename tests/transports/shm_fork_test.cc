// The shm transport between real processes: what a job killed during
// setup leaves in /dev/shm, the next job's sweep removes. (Collectives
// between processes are swept in collectives/collectives_test.cc, a peer
// killed mid-allreduce is in peer_failure_test.cc.)
#include <signal.h>

#include "catch.hpp"
#include "support/fork_oob.hpp"
#include "support/shm_support.hpp"

using namespace colossus;

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
  INFO(test::describe(out));
  REQUIRE(out[1].killed_by(SIGKILL));
  CHECK(test::shm_leftovers(mesh.secret()).size() == 1);
  CHECK(transport::sweep_stale_shm_segments() >= 1);
  CHECK(test::shm_leftovers(mesh.secret()).empty());
}
