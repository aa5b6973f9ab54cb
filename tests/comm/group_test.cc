// Group calls on loopback ranks: send/recv patterns that deadlock without a
// group (everybody sends first around a ring, two opposite rings, self
// sends), one thread driving 4 ranks through a group of every operation,
// and the errors of misused groups.
#include <numeric>

#include "catch.hpp"
#include "colossus/colossus.hpp"
#include "support/rank_pool.hpp"

using namespace colossus;

namespace {

// Rank r's message to peer q: element i is r*1e6 + q*1e3 + i (exact in fp64).
std::vector<double> message(int r, int q, std::size_t count) {
  std::vector<double> v(count);
  for (std::size_t i = 0; i < count; ++i) v[i] = r * 1e6 + q * 1e3 + static_cast<double>(i % 997);
  return v;
}

void check_from(const std::vector<double>& got, int from, int me, std::size_t count,
                std::vector<std::string>& problems) {
  const auto want = message(from, me, count);
  if (got != want) {
    problems.push_back("rank " + std::to_string(me) + ": wrong data from rank " +
                       std::to_string(from));
  }
}

std::string first(const std::vector<std::string>& v) { return v.empty() ? "" : v.front(); }

}  // namespace

TEST_CASE("a ring where every rank sends first completes inside a group", "[group]") {
  // Messages far larger than a FIFO (4 slots of 256 B): without a group the
  // sends would wait for receives that are never posted.
  Options o;
  o.slot_bytes = 256;
  for (const int n : {1, 2, 3, 5}) {
    auto comms = loopback_group(n, o);
    test::RankPool pool(n);
    const std::size_t count = 20011;
    std::vector<std::vector<double>> got(static_cast<std::size_t>(n) * 2);
    std::vector<std::string> problems;
    std::mutex mu;
    auto errors = pool.run([&](int r) {
      const int next = (r + 1) % n, prev = (r + n - 1) % n;
      auto to_next = message(r, next, count), to_prev = message(r, prev, count);
      std::vector<double> from_prev(count), from_next(count);
      group_start();
      comms[r].send(to_next.data(), count, DataType::Float64, next);  // ring one way
      comms[r].send(to_prev.data(), count, DataType::Float64, prev);  // and the other
      comms[r].recv(from_prev.data(), count, DataType::Float64, prev);
      comms[r].recv(from_next.data(), count, DataType::Float64, next);
      group_end();
      std::lock_guard lock(mu);
      if (n == 2) {
        // prev == next: the two sends to it match the two recvs in order.
        check_from(from_prev, prev, r, count, problems);
        check_from(from_next, next, r, count, problems);
      } else {
        check_from(from_prev, prev, r, count, problems);
        check_from(from_next, next, r, count, problems);
      }
    });
    INFO("n=" << n << " " << first(errors) << first(problems));
    CHECK(errors.empty());
    CHECK(problems.empty());
  }
}

TEST_CASE("sends to self match receives from self in order", "[group]") {
  auto comms = loopback_group(1);
  std::vector<int32_t> a(1000), b(77), x(1000, -1), y(77, -1);
  std::iota(a.begin(), a.end(), 5);
  std::iota(b.begin(), b.end(), 9000);
  group_start();
  comms[0].recv(x.data(), x.size(), DataType::Int32, 0);
  comms[0].send(a.data(), a.size(), DataType::Int32, 0);
  comms[0].send(b.data(), b.size(), DataType::Int32, 0);
  comms[0].recv(y.data(), y.size(), DataType::Int32, 0);
  group_end();
  CHECK(x == a);
  CHECK(y == b);
  // Outside a group a send to self would wait for itself: refused.
  CHECK_THROWS_AS(comms[0].send(a.data(), 1, DataType::Int32, 0), Error);
  // Mismatched self sizes fail the group.
  group_start();
  comms[0].send(a.data(), 3, DataType::Int32, 0);
  comms[0].recv(x.data(), 4, DataType::Int32, 0);
  CHECK_THROWS_AS(group_end(), Error);
}

TEST_CASE("one thread drives 4 loopback ranks through a group of every operation", "[group]") {
  const int n = 4;
  auto comms = loopback_group(n);
  const std::size_t c = 1009;
  std::vector<std::vector<float>> in(n), ar(n), ag(n), a2a(n), ga(n), sc(n), p2p(n), bc(n);
  for (int r = 0; r < n; ++r) {
    in[r].resize(c * n);
    for (std::size_t i = 0; i < c * n; ++i) in[r][i] = float(r * 10000 + int(i % 5000));
    ar[r].assign(c, 0);
    ag[r].assign(c * n, 0);
    a2a[r].assign(c * n, 0);
    ga[r].assign(c * n, 0);
    sc[r].assign(c, 0);
    p2p[r].assign(c, 0);
    bc[r].assign(c, 0);
  }
  group_start();
  for (int r = 0; r < n; ++r) {
    comms[r].allreduce(in[r].data(), ar[r].data(), c, DataType::Float32, ReduceOp::Sum);
    comms[r].allgather(in[r].data(), ag[r].data(), c, DataType::Float32);
    comms[r].alltoall(in[r].data(), a2a[r].data(), c, DataType::Float32);
    comms[r].gather(in[r].data(), ga[r].data(), c, DataType::Float32, 2);
    comms[r].scatter(in[r].data(), sc[r].data(), c, DataType::Float32, 1);
    comms[r].broadcast(in[r].data(), bc[r].data(), c, DataType::Float32, 3);
    comms[r].send(in[r].data(), c, DataType::Float32, (r + 1) % n);
    comms[r].recv(p2p[r].data(), c, DataType::Float32, (r + n - 1) % n);
  }
  group_end();
  for (int r = 0; r < n; ++r) {
    for (std::size_t i = 0; i < c; ++i) {
      float sum = 0;
      for (int q = 0; q < n; ++q) sum += in[q][i];
      REQUIRE(ar[r][i] == sum);
      REQUIRE(sc[r][i] == in[1][r * c + i]);
      REQUIRE(p2p[r][i] == in[(r + n - 1) % n][i]);
      REQUIRE(bc[r][i] == in[3][i]);
      for (int q = 0; q < n; ++q) {
        REQUIRE(ag[r][q * c + i] == in[q][i]);
        REQUIRE(a2a[r][q * c + i] == in[q][r * c + i]);
        if (r == 2) REQUIRE(ga[r][q * c + i] == in[q][i]);
      }
    }
  }
}

TEST_CASE("misused groups give clear errors", "[group]") {
  CHECK_THROWS_AS(group_end(), Error);
  auto comms = loopback_group(2);
  group_start();
  std::vector<float> x(4);
  CHECK_THROWS_AS(comms[0].send(x.data(), 4, DataType::Float32, 2), Error);  // peer out of range
  CHECK_THROWS_AS(comms[0].split(0, 0), Error);                              // split inside a group
  group_end();  // nothing recorded: returns at once
}
