// The shm transport piece by piece: its FIFO protocol endpoint by endpoint
// and its setup checks (ranks as threads), and what a process killed during
// setup leaves behind. (Collectives over it are swept in
// collectives/collectives_test.cc, failed peers in peer_failure_test.cc.)
#include <signal.h>

#include <cstring>
#include <thread>

#include "catch.hpp"
#include "support/fork_oob.hpp"
#include "support/shm_support.hpp"
#include "support/thread_oob.hpp"

using namespace colossus;
using transport::Status;

namespace {

auto build(test::ThreadOobGroup& g, int n, const std::vector<transport::ShmOptions>& o) {
  return test::build_shm_transports(g, n, o);
}

}  // namespace

TEST_CASE("shm endpoints: lazy attach in either order, FIFO flow control, names unlinked",
          "[shm]") {
  test::ThreadOobGroup g(2);
  const uint64_t secret = g.oob(0).job_secret();
  transport::ShmOptions o{256, 3, 10};
  auto t = build(g, 2, {o, o});
  CHECK(test::shm_leftovers(secret).empty());  // doorbells are gone once setup is done
  CHECK(std::string(t[0]->name()) == "shm");

  // Sender first: nothing to attach to yet, and no blocking.
  auto tx = t[0]->connect_send(1, 0);
  void* slot = nullptr;
  CHECK(tx->try_acquire(&slot) == Status::Pending);
  const uint32_t bell0 = t[0]->doorbell().epoch();
  auto rx = t[1]->connect_recv(0, 0);
  CHECK(t[0]->doorbell().epoch() != bell0);  // the receiver woke the waiting sender
  CHECK(test::shm_leftovers(secret).size() == 1);
  REQUIRE(tx->try_acquire(&slot) == Status::Ok);
  CHECK(test::shm_leftovers(secret).empty());  // mapped by both: unlinked
  CHECK(reinterpret_cast<std::uintptr_t>(slot) % 64 == 0);

  const void* data = nullptr;
  std::size_t bytes = 0;
  CHECK(rx->try_peek(&data, &bytes) == Status::Pending);
  // Fill every slot with a distinct message; the next acquire must wait.
  for (int m = 0; m < 3; ++m) {
    REQUIRE(tx->try_acquire(&slot) == Status::Ok);
    std::memset(slot, 'a' + m, 256);
    const uint32_t before = t[1]->doorbell().epoch();
    REQUIRE(tx->commit(static_cast<std::size_t>(100 + m)) == Status::Ok);
    CHECK(t[1]->doorbell().epoch() != before);
  }
  CHECK(tx->try_acquire(&slot) == Status::Pending);
  for (int m = 0; m < 3; ++m) {
    REQUIRE(rx->try_peek(&data, &bytes) == Status::Ok);
    CHECK(bytes == static_cast<std::size_t>(100 + m));
    CHECK(static_cast<const char*>(data)[0] == 'a' + m);
    CHECK(static_cast<const char*>(data)[bytes - 1] == 'a' + m);
    const uint32_t before = t[0]->doorbell().epoch();
    REQUIRE(rx->release() == Status::Ok);
    CHECK(t[0]->doorbell().epoch() != before);
    CHECK(tx->try_acquire(&slot) == Status::Ok);  // a slot is free again
  }
  CHECK(rx->try_peek(&data, &bytes) == Status::Pending);

  // Receiver first: the sender attaches at once.
  auto rx1 = t[0]->connect_recv(1, 1);
  auto tx1 = t[1]->connect_send(0, 1);
  CHECK(tx1->try_acquire(&slot) == Status::Ok);

  // An end destroyed while its process lives on: the other end stops
  // waiting for it, after taking what was already sent.
  REQUIRE(tx1->commit(8) == Status::Ok);
  tx1.reset();
  REQUIRE(rx1->try_peek(&data, &bytes) == Status::Ok);
  CHECK(bytes == 8);
  CHECK(rx1->release() == Status::Ok);
  CHECK(rx1->try_peek(&data, &bytes) == Status::PeerFailed);
  rx.reset();
  for (int m = 0; m < 3 && tx->try_acquire(&slot) == Status::Ok; ++m)
    REQUIRE(tx->commit(1) == Status::Ok);
  CHECK(tx->try_acquire(&slot) == Status::PeerFailed);
  // A receiver whose sender never came removes the name itself.
  {
    auto orphan = t[1]->connect_recv(0, 2);
    CHECK(test::shm_leftovers(secret).size() == 1);
  }
  CHECK(test::shm_leftovers(secret).empty());

  CHECK_THROWS_AS(t[0]->connect_send(2, 0), Error);
  CHECK_THROWS_AS(t[0]->connect_recv(-1, 0), Error);
}

TEST_CASE("shm setup rejects ranks that disagree on the FIFO geometry", "[shm]") {
  test::ThreadOobGroup g(3);
  transport::ShmOptions a{4096, 4, 10}, b{8192, 4, 10};
  try {
    build(g, 3, {a, a, b});
    FAIL("setup succeeded");
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()).find("COLOSSUS_SLOT_BYTES") != std::string::npos);
  }
  CHECK(test::shm_leftovers(g.oob(0).job_secret()).empty());
  test::ThreadOobGroup one(1);  // a bad option fails before any exchange
  CHECK_THROWS_AS(build(one, 1, {transport::ShmOptions{64, 1, 10}}), std::exception);
}

// Between real processes: what a job killed during setup leaves in
// /dev/shm, the next job's sweep removes.
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
