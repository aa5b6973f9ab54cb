// Group calls on loopback ranks: sends to self, one thread driving several
// ranks through a group of every operation (alltoallv, in-place gather and
// scatter among them), one thread driving parents and their split children
// in one group, and the errors of misused groups. The deadlock-prone
// send/recv patterns run over every wire in group_wire_test.cc.
#include <numeric>

#include "catch.hpp"
#include "collectives/reference.hpp"
#include "colossus/colossus.hpp"
#include "support/rank_pool.hpp"

using namespace colossus;

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

TEST_CASE("one thread drives 5 loopback ranks through alltoallv, in-place gather and scatter",
          "[group]") {
  const int n = 5;
  const auto un = static_cast<std::size_t>(n);
  Options o;
  o.slot_bytes = 256;  // every transfer far larger than the FIFO
  auto comms = loopback_group(n, o);
  const std::size_t c = 3001;
  const int groot = 2, sroot = 4;
  const test::VectorLayout v = test::vector_layout(c, n, 99);
  auto val = [](int r, std::size_t i) { return static_cast<int64_t>(r) * 1000000007 + int64_t(i); };
  std::vector<std::vector<int64_t>> in(un), a2av(un), ga(un), sc(un), rs(un), red(un);
  std::vector<std::vector<std::size_t>> recv_counts(un);
  for (int r = 0; r < n; ++r) {
    const auto ur = static_cast<std::size_t>(r);
    in[ur].resize(std::max(v.send_extent[ur], c * un));
    for (std::size_t i = 0; i < in[ur].size(); ++i) in[ur][i] = val(r, i);
    a2av[ur].assign(v.recv_extent[ur], -1);
    for (int q = 0; q < n; ++q) recv_counts[ur].push_back(v.recv_count(r, q));
    rs[ur].assign(c, 0);
    red[ur].assign(c, 0);
  }
  // In place on the roots: gather's input already sits in its block of the
  // output, scatter's output is its block of the input.
  ga[groot].assign(c * un, -1);
  std::copy_n(in[groot].begin(), c, ga[groot].begin() + groot * c);
  sc[sroot] = in[sroot];
  for (int r = 0; r < n; ++r) {
    if (r != sroot) sc[static_cast<std::size_t>(r)].assign(c, -1);
  }
  group_start();
  for (int r = 0; r < n; ++r) {
    const auto ur = static_cast<std::size_t>(r);
    comms[ur].alltoallv(in[ur].data(), v.counts[ur].data(), v.send_displs[ur].data(),
                        a2av[ur].data(), recv_counts[ur].data(), v.recv_displs[ur].data(),
                        DataType::Int64);
    comms[ur].gather(r == groot ? ga[ur].data() + groot * c : in[ur].data(),
                     r == groot ? ga[ur].data() : nullptr, c, DataType::Int64, groot);
    comms[ur].scatter(r == sroot ? sc[ur].data() : nullptr,
                      r == sroot ? sc[ur].data() + sroot * c : sc[ur].data(), c, DataType::Int64,
                      sroot);
    comms[ur].reduce_scatter(in[ur].data(), rs[ur].data(), c, DataType::Int64, ReduceOp::Sum);
    comms[ur].reduce(in[ur].data(), red[ur].data(), c, DataType::Int64, ReduceOp::Max, 0);
  }
  group_end();
  for (int r = 0; r < n; ++r) {
    const auto ur = static_cast<std::size_t>(r);
    std::vector<int64_t> want(v.recv_extent[ur], -1);
    for (int q = 0; q < n; ++q) {
      const auto uq = static_cast<std::size_t>(q);
      for (std::size_t i = 0; i < v.recv_count(r, q); ++i)
        want[v.recv_displs[ur][uq] + i] = val(q, v.send_displs[uq][ur] + i);
    }
    CHECK(a2av[ur] == want);
    const int64_t* mine = r == sroot ? sc[ur].data() + sroot * c : sc[ur].data();
    for (std::size_t i = 0; i < c; ++i) {
      REQUIRE(mine[i] == val(sroot, ur * c + i));
      int64_t sum = 0;
      for (int q = 0; q < n; ++q) sum += val(q, ur * c + i);
      REQUIRE(rs[ur][i] == sum);
      if (r == 0) REQUIRE(red[0][i] == val(n - 1, i));
      if (r == groot) {
        for (int q = 0; q < n; ++q)
          REQUIRE(ga[ur][static_cast<std::size_t>(q) * c + i] == val(q, i));
      }
    }
  }
}

TEST_CASE("one thread drives parents and their split children in one group", "[group][split]") {
  const int n = 4;
  auto comms = loopback_group(n);
  std::vector<Communicator> children(static_cast<std::size_t>(n));
  test::RankPool pool(n);
  auto errors = pool.run([&](int r) {  // split is collective: one thread per rank
    children[static_cast<std::size_t>(r)] = comms[static_cast<std::size_t>(r)].split(r % 2, -r);
  });
  REQUIRE(errors.empty());
  // Per rank: the parent's allreduce, the child's allgather and a child
  // ring send/recv, all recorded by this thread and run as one group.
  std::vector<double> x(n), total(n), gathered(2 * n), ring(n, -1);
  group_start();
  for (int r = 0; r < n; ++r) {
    const auto ur = static_cast<std::size_t>(r);
    x[ur] = r + 1;
    Communicator& ch = children[ur];
    comms[ur].allreduce(&x[ur], &total[ur], 1, DataType::Float64, ReduceOp::Sum);
    ch.allgather(&x[ur], &gathered[2 * ur], 1, DataType::Float64);
    ch.send(&x[ur], 1, DataType::Float64, (ch.rank() + 1) % 2);
    ch.recv(&ring[ur], 1, DataType::Float64, (ch.rank() + 1) % 2);
  }
  group_end();
  for (int r = 0; r < n; ++r) {
    const auto ur = static_cast<std::size_t>(r);
    CHECK(total[ur] == 10);
    // Children {0, 2} and {1, 3}, ordered by key -r: child rank 0 is the higher one.
    const int hi = r % 2 + 2, lo = r % 2;
    CHECK(gathered[2 * ur] == hi + 1);
    CHECK(gathered[2 * ur + 1] == lo + 1);
    CHECK(ring[ur] == (r == hi ? lo : hi) + 1);
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
