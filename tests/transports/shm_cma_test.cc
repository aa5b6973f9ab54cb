// The shm transport's single copy: messages posted by reference and read
// by the receiver with process_vm_readv, whole (try_take) or a piece at a
// time (try_peek), in order with copied messages; the sender's flush; the
// probe that turns it off. (The collective sweeps run over it in
// collectives_test, again with COLOSSUS_SHM_CMA_MIN=0.)
#include <chrono>
#include <cstring>
#include <numeric>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "support/fork_oob.hpp"
#include "support/shm_support.hpp"
#include "support/thread_oob.hpp"

using namespace colossus;
using transport::Status;

namespace {

std::vector<unsigned char> pattern(std::size_t n, unsigned seed) {
  std::vector<unsigned char> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<unsigned char>(i * 7 + seed);
  return v;
}

transport::ShmOptions options(std::size_t cma_min) {
  transport::ShmOptions o{256, 3, 10};
  o.cma_min_bytes = cma_min;
  return o;
}

// A connected stream 0 -> 1 whose receiver has answered the probe.
struct Stream {
  std::vector<std::unique_ptr<transport::Transport>> t;
  std::unique_ptr<transport::SendEndpoint> tx;
  std::unique_ptr<transport::RecvEndpoint> rx;
  Stream(test::ThreadOobGroup& g, std::size_t cma_min) {
    t = test::build_shm_transports(g, 2, {options(cma_min), options(cma_min)});
    tx = t[0]->connect_send(1, 0);
    rx = t[1]->connect_recv(0, 0);
    void* slot = nullptr;
    REQUIRE(tx->try_acquire(&slot) == Status::Ok);  // attaches
    const void* data = nullptr;
    std::size_t bytes = 0;
    REQUIRE(rx->try_peek(&data, &bytes) == Status::Pending);  // probes
  }
};

}  // namespace

TEST_CASE("shm single copy: a posted message is read from the sender, in order", "[shm][cma]") {
  test::ThreadOobGroup g(2);
  Stream s(g, 64);
  CHECK(s.tx->can_post(1000));
  CHECK_FALSE(s.tx->can_post(63));         // below the threshold: through the slots
  CHECK(s.tx->try_flush() == Status::Ok);  // nothing posted yet

  const auto src = pattern(1000, 1);
  REQUIRE(s.tx->try_post(src.data(), 1000, 256) == Status::Ok);
  CHECK(s.tx->try_flush() == Status::Pending);
  // A copied message behind it keeps its place.
  void* slot = nullptr;
  REQUIRE(s.tx->try_acquire(&slot) == Status::Ok);
  std::memset(slot, 'z', 10);
  REQUIRE(s.tx->commit(10) == Status::Ok);

  // A step that reduces peeks: one piece at a time, staged.
  const void* data = nullptr;
  std::size_t bytes = 0;
  REQUIRE(s.rx->try_peek(&data, &bytes) == Status::Ok);
  REQUIRE(bytes == 256);
  CHECK(std::memcmp(data, src.data(), 256) == 0);
  REQUIRE(s.rx->release() == Status::Ok);
  CHECK(s.tx->try_flush() == Status::Pending);  // 744 bytes unread

  std::vector<unsigned char> dst(1000, 0);
  // A take after a peek hands over the staged piece only.
  REQUIRE(s.rx->try_peek(&data, &bytes) == Status::Ok);
  CHECK(bytes == 256);
  REQUIRE(s.rx->try_take(dst.data() + 256, 256, 744, &bytes) == Status::Ok);
  CHECK(bytes == 256);
  // A take reads as much as the step still wants: here less than is left...
  REQUIRE(s.rx->try_take(dst.data() + 512, 256, 300, &bytes) == Status::Ok);
  CHECK(bytes == 300);
  CHECK(s.tx->try_flush() == Status::Pending);
  // ... and here the rest.
  REQUIRE(s.rx->try_take(dst.data() + 812, 256, 4096, &bytes) == Status::Ok);
  CHECK(bytes == 188);
  CHECK(std::memcmp(dst.data() + 256, src.data() + 256, 744) == 0);
  CHECK(s.tx->try_flush() == Status::Ok);

  REQUIRE(s.rx->try_peek(&data, &bytes) == Status::Ok);
  CHECK(bytes == 10);
  CHECK(static_cast<const char*>(data)[9] == 'z');
  REQUIRE(s.rx->release() == Status::Ok);
  CHECK(s.rx->try_peek(&data, &bytes) == Status::Pending);

  // Posted messages fill slots like copied ones: the FIFO depth holds.
  const auto big = pattern(5000, 3);
  for (int m = 0; m < 3; ++m) REQUIRE(s.tx->try_post(big.data(), 5000, 256) == Status::Ok);
  CHECK(s.tx->try_post(big.data(), 5000, 256) == Status::Pending);
  std::vector<unsigned char> out(5000);
  for (int m = 0; m < 3; ++m) {
    std::fill(out.begin(), out.end(), 0);
    REQUIRE(s.rx->try_take(out.data(), 256, 5000, &bytes) == Status::Ok);
    CHECK(bytes == 5000);
    CHECK(out == big);
  }
  CHECK(s.tx->try_flush() == Status::Ok);
}

TEST_CASE("shm: a take of the wrong length leaves the message and says its length", "[shm][cma]") {
  test::ThreadOobGroup g(2);
  Stream s(g, 64);
  void* slot = nullptr;
  REQUIRE(s.tx->try_acquire(&slot) == Status::Ok);
  std::memset(slot, 'q', 10);
  REQUIRE(s.tx->commit(10) == Status::Ok);
  unsigned char dst[16] = {};
  std::size_t bytes = 0;
  CHECK(s.rx->try_take(dst, 16, 16, &bytes) == Status::Error);
  CHECK(bytes == 10);
  CHECK(dst[0] == 0);
  REQUIRE(s.rx->try_take(dst, 10, 10, &bytes) == Status::Ok);  // still there
  CHECK(dst[9] == 'q');
}

TEST_CASE("shm single copy off (COLOSSUS_SHM_CMA_MIN=off): nothing is posted", "[shm][cma]") {
  test::ThreadOobGroup g(2);
  Stream s(g, transport::ShmOptions::kNoCma);
  const auto src = pattern(1000, 5);
  CHECK_FALSE(s.tx->can_post(1000));
  CHECK_FALSE(s.tx->can_post(std::size_t{1} << 30));
  CHECK(s.tx->try_post(src.data(), 1000, 256) == Status::Error);
  const void* data = nullptr;
  std::size_t bytes = 0;
  CHECK(s.rx->try_peek(&data, &bytes) == Status::Pending);  // nothing was published
}

TEST_CASE("shm single copy: a receiver gone before it read fails the sender's flush",
          "[shm][cma]") {
  test::ThreadOobGroup g(2);
  Stream s(g, 64);
  const auto src = pattern(1000, 9);
  REQUIRE(s.tx->try_post(src.data(), 1000, 256) == Status::Ok);
  CHECK(s.tx->try_flush() == Status::Pending);
  s.rx.reset();
  CHECK(s.tx->try_flush() == Status::PeerFailed);
}

// Between processes, as the library runs it: the probe passes across
// processes and 3 MiB arrive intact in 4 MiB-posted, 64 KiB-piece form.
TEST_CASE("shm single copy between processes", "[shm][cma][process]") {
  test::ForkOobMesh mesh(2);
  auto out = test::run_children(
      mesh, 2,
      [](int rank, bootstrap::OutOfBand& oob) -> std::string {
        transport::ShmOptions o{64 << 10, 4, 30};
        o.cma_min_bytes = 4096;
        auto t = make_shm_transport(oob, o);
        const std::size_t n = (3u << 20) + 12;
        const auto src = pattern(n, 11);
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        auto wait = [&](auto&& done, const char* what) -> std::string {
          while (!done()) {
            if (std::chrono::steady_clock::now() > until) return std::string("timed out: ") + what;
            std::this_thread::sleep_for(std::chrono::microseconds(200));
          }
          return "";
        };
        if (rank == 0) {
          auto tx = t->connect_send(1, 0);
          void* slot = nullptr;
          Status st = Status::Pending;
          if (auto e =
                  wait([&] { return (st = tx->try_acquire(&slot)) != Status::Pending; }, "attach");
              !e.empty())
            return e;
          if (st != Status::Ok) return "attach failed";
          if (auto e = wait([&] { return tx->can_post(n); }, "the probe"); !e.empty()) return e;
          if (tx->try_post(src.data(), n, 64 << 10) != Status::Ok) return "post failed";
          return wait([&] { return tx->try_flush() == Status::Ok; }, "the read");
        }
        auto rx = t->connect_recv(0, 0);
        std::vector<unsigned char> dst(n, 0);
        std::size_t got = 0, bytes = 0;
        std::string err = wait(
            [&] {
              const Status st = rx->try_take(dst.data() + got, 64 << 10, n - got, &bytes);
              if (st == Status::Ok) got += bytes;
              return st != Status::Pending && (st != Status::Ok || got == n);
            },
            "the message");
        if (!err.empty()) return err;
        if (got != n) return "took " + std::to_string(got) + " of " + std::to_string(n) + " B";
        return dst == src ? "" : "the data differs";
      },
      nullptr, 60);
  INFO(test::describe(out));
  CHECK(out[0].ok());
  CHECK(out[1].ok());
  CHECK(test::shm_leftovers(mesh.secret()).empty());
}
