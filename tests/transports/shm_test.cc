// The shm transport with ranks as threads of this process: its FIFO
// protocol endpoint by endpoint, then every collective through it. (The
// multi-process checks are in shm_fork_test.cc.)
#include <atomic>
#include <cstring>
#include <thread>

#include "catch.hpp"
#include "collectives/harness.hpp"
#include "support/thread_oob.hpp"
#include "support/transport_group.hpp"
#include "transports/shm_support.hpp"

using namespace colossus;
using transport::Status;

namespace {

// n transports built collectively on n threads; throws what rank 0 threw.
std::vector<std::unique_ptr<transport::Transport>> build(
    test::ThreadOobGroup& g, int n, const std::vector<transport::ShmOptions>& o) {
  std::vector<std::unique_ptr<transport::Transport>> t(static_cast<std::size_t>(n));
  std::vector<std::string> errors(static_cast<std::size_t>(n));
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      try {
        t[static_cast<std::size_t>(r)] =
            make_shm_transport(g.oob(r), o[static_cast<std::size_t>(r)]);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(r)] = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (auto& e : errors) {
    if (!e.empty()) throw std::runtime_error(e);
  }
  return t;
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

namespace {

bool reduces(plan::Collective c) {
  return c == plan::Collective::AllReduce || c == plan::Collective::ReduceScatter ||
         c == plan::Collective::Reduce;
}

}  // namespace

TEST_CASE("every collective over shm, ranks as threads", "[shm][collectives]") {
  Options tiny;  // 64 B slots: every step in many pieces, the ring FIFO at its limit
  tiny.nchannels = 2;
  tiny.chunk_bytes = 128;
  tiny.slot_bytes = 64;
  tiny.timeout_s = 60;
  Options small;
  small.nchannels = 3;
  small.chunk_bytes = 512;
  small.slot_bytes = 256;
  small.timeout_s = 60;
  Options wide;  // the defaults: 512 KiB slots
  wide.timeout_s = 60;
  const DataType types[] = {DataType::Float32, DataType::Bfloat16, DataType::Int8,
                            DataType::Float64, DataType::Uint64};
  std::vector<std::string> problems;
  std::size_t cases = 0;
  for (int n : {2, 3, 4, 8}) {
    for (const Options& opt : {tiny, small, wide}) {
      std::atomic<uint64_t> secret{0};
      {
        const detail::Settings s = test::settings_for(opt);
        auto comms = test::make_group(
            n,
            [&](bootstrap::OutOfBand& oob) {
              secret = oob.job_secret();
              return make_shm_transport(oob, test::shm_options_for(s));
            },
            opt);
        test::Group group(std::move(comms));
        for (int c = 0; c < 5; ++c) {
          const auto coll = static_cast<plan::Collective>(c);
          for (DataType t : types) {
            for (int op = 0; op < (reduces(coll) ? kNumReduceOps : 1); ++op) {
              for (std::size_t count : {std::size_t{1}, std::size_t{7}, std::size_t{1009}}) {
                for (bool in_place : {false, true}) {
                  test::Case k;
                  k.coll = coll;
                  k.dtype = t;
                  k.op = static_cast<ReduceOp>(op);
                  k.count = count;
                  k.root = static_cast<int>(count % static_cast<std::size_t>(n));
                  k.in_place = in_place;
                  k.misaligned = count == 7 && !in_place;
                  for (auto& p : group.run(k)) problems.push_back(p);
                  ++cases;
                }
              }
            }
          }
          test::Case big;  // several chunks and loops of the ring
          big.coll = coll;
          big.count = opt.slot_bytes == 0 ? 600011 : 20011;
          big.root = n - 1;
          for (auto& p : group.run(big)) problems.push_back(p);
          ++cases;
        }
      }
      const auto left = test::shm_leftovers(secret);
      INFO("n=" << n << " slot " << opt.slot_bytes << ": left in /dev/shm: " << test::join(left));
      CHECK(left.empty());
    }
  }
  INFO(cases << " cases, first problems:\n"
             << (problems.empty() ? std::string("none")
                                  : problems[0] + (problems.size() > 1 ? "\n" + problems[1] : "")));
  CHECK(cases > 0);
  CHECK(problems.empty());
}
