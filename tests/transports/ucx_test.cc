// The ucx transport, endpoint by endpoint: FIFO order and content for
// messages of every size (empty, eager, rendezvous), over UCX's tcp and
// shared memory; many streams at once; what a closed or unknown peer
// turns into; bad options. (Collectives over it are swept in
// collectives/collectives_test.cc, failed peers in peer_failure_test.cc.)
#include "transports/ucx/ucx.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <thread>

#include "catch.hpp"
#include "colossus/error.hpp"
#include "support/transport_set.hpp"
#include "topology/discover.hpp"
#include "transports/ucx/progress.hpp"

using namespace colossus;
using transport::Status;
using transport::UcxOptions;
using transport::UcxTransport;

namespace {

// n transports, built collectively, with their bells.
using UcxGroup = test::TransportSet<UcxTransport>;
UcxGroup group(int n, const UcxOptions& o) {
  return UcxGroup(n, [o](bootstrap::OutOfBand& oob, transport::Doorbell& bell) {
    return std::make_unique<UcxTransport>(oob, bell, o);
  });
}

UcxOptions options(const std::string& tls, std::size_t slot = 256 << 10) {
  UcxOptions o;
  o.tls = tls;
  o.slot_bytes = slot;
  o.depth = 4;
  o.timeout_s = 10;
  return o;
}

uint8_t byte_of(uint64_t msg, std::size_t i) { return static_cast<uint8_t>(msg * 131 + i * 7); }

// Message m's size: empty, tiny, eager-sized and rendezvous-sized in turn.
std::size_t size_of(uint64_t m, std::size_t slot) {
  const std::size_t sizes[] = {0, 1, 7, 4096, 65 << 10, slot};
  return std::min(sizes[m % 6], slot);
}

// Sends `count` messages from -> to on `channel` while `to` receives them;
// returns the first problem, "" when every message arrived whole, in order.
std::string stream(UcxGroup& g, int channel, uint64_t count, int from = 0, int to = 1) {
  const auto uf = static_cast<std::size_t>(from), ut = static_cast<std::size_t>(to);
  const std::size_t slot = g.t[uf]->slot_bytes();
  std::string problem;
  std::thread sender([&] {
    auto tx = g.t[uf]->connect_send(to, channel);
    const auto until = transport::Clock::now() + std::chrono::seconds(60);
    for (uint64_t m = 0; m < count;) {
      void* p = nullptr;
      const uint32_t epoch = g.bells[uf].epoch();
      const Status st = tx->try_acquire(&p);
      if (st == Status::Pending) {
        if (transport::Clock::now() > until) return;
        g.bells[uf].wait(epoch, transport::Clock::now() + std::chrono::milliseconds(10));
        continue;
      }
      if (st != Status::Ok) return;
      const std::size_t n = size_of(m, slot);
      for (std::size_t i = 0; i < n; ++i) static_cast<uint8_t*>(p)[i] = byte_of(m, i);
      if (tx->commit(n) != Status::Ok) return;
      ++m;
    }
  });
  auto rx = g.t[ut]->connect_recv(from, channel);
  const auto until = transport::Clock::now() + std::chrono::seconds(60);
  for (uint64_t m = 0; m < count && problem.empty();) {
    const void* data = nullptr;
    std::size_t bytes = 0;
    const uint32_t epoch = g.bells[ut].epoch();
    const Status st = rx->try_peek(&data, &bytes);
    if (st == Status::Pending) {
      if (transport::Clock::now() > until) problem = "timed out at message " + std::to_string(m);
      g.bells[ut].wait(epoch, transport::Clock::now() + std::chrono::milliseconds(10));
      continue;
    }
    if (st != Status::Ok) {
      problem =
          "status " + std::to_string(static_cast<int>(st)) + " at message " + std::to_string(m);
      break;
    }
    if (bytes != size_of(m, slot)) {
      problem = "message " + std::to_string(m) + ": " + std::to_string(bytes) + " bytes, sent " +
                std::to_string(size_of(m, slot));
    }
    for (std::size_t i = 0; i < bytes && problem.empty(); ++i) {
      if (static_cast<const uint8_t*>(data)[i] != byte_of(m, i))
        problem = "message " + std::to_string(m) + ": byte " + std::to_string(i) + " differs";
    }
    rx->release();
    ++m;
  }
  sender.join();
  return problem;
}

}  // namespace

TEST_CASE("ucx: messages of every size arrive whole and in order", "[ucx]") {
  for (const char* tls : {"tcp", "sm"}) {
    INFO("UCX_TLS=" << tls);
    UcxGroup g = group(2, options(tls));
    CHECK(stream(g, 0, 600) == "");
    CHECK(stream(g, 5, 60) == "");  // another channel of the same pair
    // The sender counts a message when UCX reports it sent, which may come
    // after the receiver has it.
    const auto until = transport::Clock::now() + std::chrono::seconds(30);
    while (g.t[0]->stats().messages_sent.load() < 660 && transport::Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(g.t[0]->stats().messages_sent.load() == 660);
    CHECK(g.t[1]->stats().messages_received.load() == 660);
    const auto info = g.t[0]->info();
    CHECK(info.version.rfind("1.", 0) == 0);
    CHECK(info.tls == tls);
    CHECK_FALSE(info.first_lane.empty());
  }
}

TEST_CASE("ucx: many streams at once, in both directions", "[ucx]") {
  UcxGroup g = group(3, options("tcp", 4096));
  std::vector<std::string> problems(6);
  std::vector<std::thread> threads;
  int i = 0;
  for (int from = 0; from < 3; ++from) {
    for (int to = 0; to < 3; ++to) {
      if (from == to) continue;
      threads.emplace_back([&, from, to, i] {
        problems[static_cast<std::size_t>(i)] = stream(g, 10 + i, 200, from, to);
      });
      ++i;
    }
  }
  for (auto& t : threads) t.join();
  for (const auto& p : problems) CHECK(p == "");
}

TEST_CASE("ucx: a peer that closes ends its streams, the other side sees PeerFailed", "[ucx]") {
  for (const char* tls : {"tcp", "sm"}) {
    INFO("UCX_TLS=" << tls);
    UcxGroup g = group(2, options(tls, 4096));
    REQUIRE(stream(g, 0, 12) == "");  // both ends connected
    auto rx = g.t[0]->connect_recv(1, 3);
    auto tx = g.t[0]->connect_send(1, 3);
    g.t[1].reset();  // rank 1 says goodbye and goes
    const auto until = transport::Clock::now() + std::chrono::seconds(30);
    Status st = Status::Pending;
    while (st == Status::Pending && transport::Clock::now() < until) {
      const void* data = nullptr;
      std::size_t bytes = 0;
      const uint32_t epoch = g.bells[0].epoch();
      st = rx->try_peek(&data, &bytes);
      if (st == Status::Pending)
        g.bells[0].wait(epoch, transport::Clock::now() + std::chrono::milliseconds(20));
    }
    CHECK(st == Status::PeerFailed);
    void* slot = nullptr;
    CHECK(tx->try_acquire(&slot) == Status::PeerFailed);
  }
}

TEST_CASE("ucx: bad options and peers are refused on every rank", "[ucx]") {
  UcxOptions bad = options("tcp");
  bad.slot_bytes = 8;
  try {
    UcxGroup g = group(2, bad);
    FAIL("a 8-byte slot was accepted");
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()).find("slot_bytes") != std::string::npos);
  }
  // A UCX_TLS naming no transport UCX has: UCX cannot start.
  try {
    UcxGroup g = group(2, options("no_such_transport"));
    FAIL("UCX started without a transport");
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()).find("ucx") != std::string::npos);
  }
  UcxGroup g = group(2, options("tcp"));
  CHECK_THROWS_AS(g.t[0]->connect_send(2, 0), Error);
  CHECK_THROWS_AS(g.t[0]->connect_recv(-1, 0), Error);
  CHECK_THROWS_AS(g.t[0]->connect_send(1, -1), Error);
}

TEST_CASE("ucx: UCX_TLS values of shared memory alone are told apart", "[ucx]") {
  using transport::ucx::shared_memory_only;
  CHECK(shared_memory_only("sm"));
  CHECK(shared_memory_only("posix,sysv,cma"));
  CHECK_FALSE(shared_memory_only(""));
  CHECK_FALSE(shared_memory_only("tcp"));
  CHECK_FALSE(shared_memory_only("sm,tcp"));
  CHECK_FALSE(shared_memory_only("^tcp"));
}

TEST_CASE("ucx: UCX's network devices feed topology discovery", "[ucx]") {
  const auto devices = topology::ucx_network_devices();
  bool tcp = false;
  for (const auto& d : devices) {
    INFO(d.name << " " << d.transport);
    CHECK_FALSE(d.name.empty());
    tcp |= d.transport == "tcp";
    // rc, dc and ud are the verbs (RDMA) transports, and only they.
    const bool verbs = d.transport.rfind("rc", 0) == 0 || d.transport.rfind("dc", 0) == 0 ||
                       d.transport.rfind("ud", 0) == 0;
    CHECK(d.rdma == verbs);
    CHECK(d.bandwidth_Bps >= 0);
  }
  CHECK(tcp);  // every host UCX runs on has its tcp transport
}
