// Group calls over every wire (loopback, shm and tcp; ranks as threads and
// as processes): the send/recv patterns that deadlock without a group, with
// messages far larger than the FIFO (4 slots of 256 B against 160 KB):
//   - a ring where every rank posts its send first;
//   - two opposite rings at once;
//   - self sends mixed into a ring;
//   - everyone to everyone (self included) with uneven and zero counts;
//   - collectives and sends in one group (allreduce, alltoall, gather, a ring).
// Every received element is checked; each pattern runs twice in a row, so
// the second group's messages must not meet the first's.
#include <sstream>

#include "catch.hpp"
#include "colossus/colossus.hpp"
#include "support/wire_ranks.hpp"

using namespace colossus;
using test::Launch;
using test::Wire;

namespace {

constexpr std::size_t kBig = 20011;  // doubles: 160 KB a message

// Element i of rank `from`'s message `j` to rank `to`: exact in fp64.
double tag(int from, int to, int j, std::size_t i) {
  return from * 1e9 + to * 1e6 + j * 1e5 + static_cast<double>(i % 99991);
}

std::vector<double> message(int from, int to, int j, std::size_t count) {
  std::vector<double> v(count);
  for (std::size_t i = 0; i < count; ++i) v[i] = tag(from, to, j, i);
  return v;
}

// Appends to `bad` when `got` is not message j from `from` to `me`.
void expect(std::string& bad, const std::vector<double>& got, int from, int me, int j,
            const char* what) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i] != tag(from, me, j, i)) {
      std::ostringstream os;
      os << what << ": element " << i << " from rank " << from << " is " << got[i] << "; ";
      bad += os.str();
      return;
    }
  }
}

std::string ring_sends_first(Communicator& c) {
  const int r = c.rank(), n = c.size(), next = (r + 1) % n, prev = (r + n - 1) % n;
  const auto out = message(r, next, 0, kBig);
  std::vector<double> in(kBig);
  group_start();
  c.send(out.data(), kBig, DataType::Float64, next);
  c.recv(in.data(), kBig, DataType::Float64, prev);
  group_end();
  std::string bad;
  expect(bad, in, prev, r, 0, "ring");
  return bad;
}

std::string opposite_rings(Communicator& c) {
  const int r = c.rank(), n = c.size(), next = (r + 1) % n, prev = (r + n - 1) % n;
  const auto to_next = message(r, next, 0, kBig), to_prev = message(r, prev, 1, kBig);
  std::vector<double> from_prev(kBig), from_next(kBig);
  group_start();
  c.send(to_next.data(), kBig, DataType::Float64, next);
  c.send(to_prev.data(), kBig, DataType::Float64, prev);
  c.recv(from_prev.data(), kBig, DataType::Float64, prev);
  c.recv(from_next.data(), kBig, DataType::Float64, next);
  group_end();
  // With n = 2, prev == next: the two messages match the two receives in order.
  std::string bad;
  expect(bad, from_prev, prev, r, 0, "clockwise ring");
  expect(bad, from_next, next, r, 1, "counter-clockwise ring");
  return bad;
}

std::string self_sends_in_a_ring(Communicator& c) {
  const int r = c.rank(), n = c.size(), next = (r + 1) % n, prev = (r + n - 1) % n;
  const auto a = message(r, r, 1, kBig), b = message(r, r, 2, 3), ring = message(r, next, 0, kBig);
  std::vector<double> x(kBig), y(3), in(kBig);
  group_start();
  c.recv(x.data(), kBig, DataType::Float64, r);  // posted before its send
  c.send(ring.data(), kBig, DataType::Float64, next);
  c.send(a.data(), kBig, DataType::Float64, r);
  c.recv(in.data(), kBig, DataType::Float64, prev);
  c.send(b.data(), 3, DataType::Float64, r);
  c.recv(y.data(), 3, DataType::Float64, r);
  group_end();
  // Alone, the ring's send is this rank's first message to itself: x gets
  // it, and `in` the next one, in posting order.
  std::string bad;
  expect(bad, x, r, r, n == 1 ? 0 : 1, "first self message");
  expect(bad, in, prev, r, n == 1 ? 1 : 0, "ring");
  expect(bad, y, r, r, 2, "second self message");
  return bad;
}

// Elements rank `from` sends rank `to` in the all-pairs pattern; some zero.
std::size_t pair_count(int from, int to) {
  const int k = (from * 7 + to * 3) % 5;
  return k == 0 ? 0 : static_cast<std::size_t>(k) * 4001;
}

std::string all_pairs(Communicator& c) {
  const int r = c.rank(), n = c.size();
  std::vector<std::vector<double>> out(static_cast<std::size_t>(n)), in(out.size());
  group_start();
  for (int q = 0; q < n; ++q) {  // every send first, in rank order
    out[static_cast<std::size_t>(q)] = message(r, q, 0, pair_count(r, q));
    c.send(out[static_cast<std::size_t>(q)].data(), pair_count(r, q), DataType::Float64, q);
  }
  for (int q = n - 1; q >= 0; --q) {  // receives in the opposite order
    in[static_cast<std::size_t>(q)].resize(pair_count(q, r));
    c.recv(in[static_cast<std::size_t>(q)].data(), pair_count(q, r), DataType::Float64, q);
  }
  group_end();
  std::string bad;
  for (int q = 0; q < n; ++q) expect(bad, in[static_cast<std::size_t>(q)], q, r, 0, "all pairs");
  return bad;
}

std::string collectives_and_sends(Communicator& c) {
  const int r = c.rank(), n = c.size(), next = (r + 1) % n, prev = (r + n - 1) % n;
  const std::size_t m = 1009, un = static_cast<std::size_t>(n);
  std::vector<double> mine(m * un), sum(m), a2a(m * un), gathered(m * un), in(kBig);
  for (std::size_t i = 0; i < mine.size(); ++i) mine[i] = tag(r, static_cast<int>(i / m), 0, i);
  const auto ring = message(r, next, 3, kBig);
  const int root = n - 1;
  group_start();
  c.send(ring.data(), kBig, DataType::Float64, next);
  c.allreduce(mine.data(), sum.data(), m, DataType::Float64, ReduceOp::Sum);
  c.alltoall(mine.data(), a2a.data(), m, DataType::Float64);
  c.gather(mine.data(), gathered.data(), m, DataType::Float64, root);
  c.recv(in.data(), kBig, DataType::Float64, prev);
  group_end();
  std::string bad;
  expect(bad, in, prev, r, 3, "ring beside collectives");
  for (std::size_t i = 0; i < m; ++i) {
    double want = 0;
    for (int q = 0; q < n; ++q) want += tag(q, 0, 0, i);
    if (sum[i] != want) return bad + "allreduce wrong at " + std::to_string(i);
    for (std::size_t q = 0; q < un; ++q) {
      if (a2a[q * m + i] != tag(static_cast<int>(q), r, 0, static_cast<std::size_t>(r) * m + i))
        return bad + "alltoall wrong at block " + std::to_string(q);
      if (r == root && gathered[q * m + i] != tag(static_cast<int>(q), 0, 0, i))
        return bad + "gather wrong at block " + std::to_string(q);
    }
  }
  return bad;
}

void patterns(Wire wire, Launch launch, std::initializer_list<int> sizes) {
  Options o;
  o.slot_bytes = 256;  // 4 slots: 1 KiB of FIFO per stream
  o.timeout_s = 60;
  const std::pair<const char*, std::string (*)(Communicator&)> all[] = {
      {"ring, sends first", ring_sends_first},
      {"opposite rings", opposite_rings},
      {"self sends in a ring", self_sends_in_a_ring},
      {"all pairs, uneven", all_pairs},
      {"collectives and sends", collectives_and_sends}};
  for (const int n : sizes) {
    const auto problems = test::run_ranks(wire, launch, n, o, [&](Communicator& c) {
      std::string bad;
      for (int round = 0; round < 2; ++round) {
        for (const auto& [name, body] : all) {
          const std::string b = body(c);
          if (!b.empty()) bad += std::string(name) + ": " + b;
        }
      }
      return bad;
    });
    INFO((problems.empty() ? std::string() : problems.front()));
    CHECK(problems.empty());
  }
}

}  // namespace

TEST_CASE("deadlock-prone send/recv patterns complete in groups: loopback threads", "[group]") {
  patterns(Wire::Loopback, Launch::Threads, {1, 2, 3, 5});
}
TEST_CASE("deadlock-prone send/recv patterns complete in groups: shm threads", "[group][shm]") {
  patterns(Wire::Shm, Launch::Threads, {1, 2, 3, 5});
}
TEST_CASE("deadlock-prone send/recv patterns complete in groups: tcp threads", "[group][tcp]") {
  patterns(Wire::Tcp, Launch::Threads, {1, 2, 3, 5});
}
TEST_CASE("deadlock-prone send/recv patterns complete in groups: shm processes",
          "[group][shm][process]") {
  patterns(Wire::Shm, Launch::Processes, {2, 4});
}
TEST_CASE("deadlock-prone send/recv patterns complete in groups: tcp processes",
          "[group][tcp][process]") {
  patterns(Wire::Tcp, Launch::Processes, {2, 4});
}
