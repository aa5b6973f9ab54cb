// Communicator::split over every wire (loopback, shm and tcp; ranks as
// threads and as processes): parity colors with reversed keys, color < 0,
// splits of splits, a run of splits (channel spaces), collectives on
// children and parent interleaved and inside one group, messages larger
// than the FIFO, children outliving their parents. A split needs no unique id and no bootstrap: the
// thread groups' out-of-band channel is gone by the time they split (make_group), and over tcp the
// child's traffic goes through the parent's transports.
#include <algorithm>
#include <chrono>
#include <numeric>
#include <sstream>
#include <thread>

#include "catch.hpp"
#include "collectives/harness.hpp"
#include "colossus/colossus.hpp"
#include "support/rank_pool.hpp"
#include "support/wire_ranks.hpp"

using namespace colossus;
using test::Launch;
using test::Wire;

namespace {

constexpr std::size_t kBig = 20011;  // doubles: far more than 4 slots of 256 B

int color_of(int r) { return r % 2 == 0 ? 0 : (r == 3 ? -1 : 1); }  // rank 3 joins none

// Parent ranks of rank r's child, in child-rank order: keys n - q reverse them.
std::vector<int> members_of(int r, int n) {
  std::vector<int> m;
  for (int q = n - 1; q >= 0; --q) {
    if (color_of(r) >= 0 && color_of(q) == color_of(r)) m.push_back(q);
  }
  return m;
}

// Sum over `ranks` of f(rank), for checking allreduces.
double sum_of(const std::vector<int>& ranks, double (*f)(int, std::size_t), std::size_t i) {
  double s = 0;
  for (const int q : ranks) s += f(q, i);
  return s;
}
double value(int parent_rank, std::size_t i) { return parent_rank * 1e6 + static_cast<double>(i); }

std::string split_body(Communicator& c) {
  const int r = c.rank(), n = c.size();
  std::ostringstream bad;
  std::vector<int> all(static_cast<std::size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  Communicator child = c.split(color_of(r), n - r);
  const std::vector<int> members = members_of(r, n);
  if (color_of(r) < 0) {
    if (child.valid()) bad << "color < 0 gave a communicator; ";
  } else {
    const int want =
        static_cast<int>(std::find(members.begin(), members.end(), r) - members.begin());
    if (child.size() != static_cast<int>(members.size()) || child.rank() != want)
      bad << "child is rank " << child.rank() << "/" << child.size() << "; ";
  }
  // Children and parent interleaved, small then larger than the FIFO.
  for (const std::size_t count : {std::size_t{1}, kBig}) {
    std::vector<double> x(count), child_sum(count), parent_sum(count), from_root(count);
    for (std::size_t i = 0; i < count; ++i) x[i] = value(r, i);
    if (child.valid())
      child.allreduce(x.data(), child_sum.data(), count, DataType::Float64, ReduceOp::Sum);
    c.allreduce(x.data(), parent_sum.data(), count, DataType::Float64, ReduceOp::Sum);
    if (child.valid()) child.broadcast(x.data(), from_root.data(), count, DataType::Float64, 0);
    for (std::size_t i = 0; i < count; ++i) {
      if (parent_sum[i] != sum_of(all, value, i)) {
        bad << "parent allreduce wrong at " << i << "; ";
        break;
      }
      if (child.valid() && (child_sum[i] != sum_of(members, value, i) ||
                            from_root[i] != value(members.front(), i))) {
        bad << "child allreduce or broadcast wrong at " << i << "; ";
        break;
      }
    }
  }
  if (child.valid()) {
    // A split of the split, halves by child rank: ordered by the child's ranks.
    const int half = child.rank() < child.size() / 2 ? 0 : 1;
    Communicator grand = child.split(half, 0);
    std::vector<int> got(static_cast<std::size_t>(grand.size()));
    grand.allgather(&r, got.data(), 1, DataType::Int32);
    std::vector<int> want;
    for (int k = 0; k < child.size(); ++k) {
      if ((k < child.size() / 2 ? 0 : 1) == half)
        want.push_back(members[static_cast<std::size_t>(k)]);
    }
    if (got != want) bad << "grandchild members wrong; ";
    // Child ring, parent allreduce and grandchild allreduce in one group.
    const int cn = child.size(), cr = child.rank();
    const int to = (cr + 1) % cn, from = (cr + cn - 1) % cn;
    std::vector<double> out(kBig), in(kBig), ones(3, 1.0), total(3), grand_total(3);
    for (std::size_t i = 0; i < kBig; ++i) out[i] = value(r, i);
    group_start();
    child.send(out.data(), kBig, DataType::Float64, to);
    c.allreduce(ones.data(), total.data(), 3, DataType::Float64, ReduceOp::Sum);
    grand.allreduce(ones.data(), grand_total.data(), 3, DataType::Float64, ReduceOp::Sum);
    child.recv(in.data(), kBig, DataType::Float64, from);
    group_end();
    for (std::size_t i = 0; i < kBig; ++i) {
      if (in[i] != value(members[static_cast<std::size_t>(from)], i)) {
        bad << "child ring in a group wrong at " << i << "; ";
        break;
      }
    }
    if (total[2] != n || grand_total[2] != grand.size()) bad << "group allreduces wrong; ";
    child.destroy();  // the parent and the grandchild live on
    int v = 1, s = 0;
    grand.allreduce(&v, &s, 1, DataType::Int32, ReduceOp::Sum);
    if (s != grand.size()) bad << "grandchild after its parent's destroy wrong; ";
  } else {
    // Rank 3 takes part in the parent's allreduce of the group above.
    std::vector<double> ones(3, 1.0), total(3);
    c.allreduce(ones.data(), total.data(), 3, DataType::Float64, ReduceOp::Sum);
    if (total[2] != n) bad << "group allreduce wrong; ";
  }
  // A run of splits of everybody, each a fresh channel space: a copy of the
  // parent (same order), whose alltoall matches the parent's.
  for (int k = 0; k < 4; ++k) {
    Communicator copy = c.split(7, r);
    if (copy.rank() != r || copy.size() != n) bad << "copy " << k << " is rank " << copy.rank();
    std::vector<int> send(static_cast<std::size_t>(n)), recv(send.size());
    for (int q = 0; q < n; ++q) send[static_cast<std::size_t>(q)] = r * 100 + q + k;
    copy.alltoall(send.data(), recv.data(), 1, DataType::Int32);
    for (int q = 0; q < n; ++q) {
      if (recv[static_cast<std::size_t>(q)] != q * 100 + r + k) {
        bad << "copy " << k << " alltoall wrong; ";
        break;
      }
    }
  }
  // The last split outlives its parent: it holds the connections.
  Communicator last = c.split(0, -r);
  c.destroy();
  int one = 1, ranks = 0;
  last.allreduce(&one, &ranks, 1, DataType::Int32, ReduceOp::Sum);
  if (ranks != n || last.rank() != n - 1 - r) bad << "split after its parent's destroy wrong; ";
  return bad.str();
}

void split_on(Wire wire, Launch launch, std::initializer_list<int> sizes) {
  Options o;
  o.slot_bytes = 256;
  o.timeout_s = 60;
  for (const int n : sizes) {
    const auto problems = test::run_ranks(wire, launch, n, o, split_body);
    INFO((problems.empty() ? std::string() : problems.front()));
    CHECK(problems.empty());
  }
}

// Every collective of the harness (send/recv pattern included) on each
// child of a split into three colors, ranks interleaved and keys shuffled.
std::vector<std::string> sweep_children(std::vector<Communicator>& parents) {
  const int n = static_cast<int>(parents.size());
  std::vector<Communicator> kids(parents.size());
  {
    test::RankPool pool(n);
    auto errors = pool.run([&](int r) {
      kids[static_cast<std::size_t>(r)] =
          parents[static_cast<std::size_t>(r)].split(r % 3, (r * 7) % 5);
    });
    if (!errors.empty()) return errors;
  }
  std::vector<std::string> problems;
  for (int color = 0; color < 3 && color < n; ++color) {
    std::vector<Communicator> child;
    for (int r = color; r < n; r += 3) child.emplace_back();
    for (int r = color; r < n; r += 3) {
      Communicator& k = kids[static_cast<std::size_t>(r)];
      child[static_cast<std::size_t>(k.rank())] = std::move(k);
    }
    const int m = static_cast<int>(child.size());
    test::Group group(std::move(child));
    for (int k = 0; k < plan::kNumCollectives; ++k) {
      const auto coll = static_cast<plan::Collective>(k);
      if (coll == plan::Collective::Recv) continue;  // Send is the pattern of both
      for (const std::size_t count : {0, 1, 7, 1009, 65537}) {
        for (const bool in_place : {false, true}) {
          if (in_place && !test::has_in_place(coll)) continue;
          test::Case c;
          c.coll = coll;
          c.count = count;
          c.root = static_cast<int>((count + k) % static_cast<std::size_t>(m));
          c.in_place = in_place;
          c.dtype = count % 2 == 1 ? DataType::Float32 : DataType::Bfloat16;
          for (auto& p : group.run(c))
            problems.push_back("color " + std::to_string(color) + ": " + p);
        }
      }
    }
  }
  return problems;
}

void check_children(std::vector<Communicator> parents) {
  const auto problems = sweep_children(parents);
  INFO(problems.size() << " problems; first: " << (problems.empty() ? "" : problems.front()));
  CHECK(problems.empty());
}

}  // namespace

TEST_CASE("every collective on split children matches the reference: loopback, two nodes",
          "[split]") {
  // 16 ranks as 2 nodes x 8: each child spans both nodes unevenly, and the
  // hierarchical algorithms run on the child's own node layout.
  for (const char* algo : {"", "hierarchical"}) {
    Options o;
    o.timeout_s = 60;
    o.topology = "dgx-h100:nodes=2";
    o.algorithm = algo;
    INFO("algorithm \"" << algo << "\"");
    check_children(loopback_group(16, o));
  }
}

TEST_CASE("every collective on split children matches the reference: shm and tcp threads",
          "[split][shm][tcp]") {
  Options o;
  o.timeout_s = 60;
  o.slot_bytes = 1024;
  for (const Wire wire : {Wire::Shm, Wire::Tcp}) {
    INFO(test::to_string(wire));
    test::WireGroup wired(wire, 7, o);
    check_children(std::move(wired.comms));
  }
}

TEST_CASE("split: parity, reversed keys, color < 0, splits of splits: loopback threads",
          "[split]") {
  split_on(Wire::Loopback, Launch::Threads, {1, 2, 5, 8});
}
TEST_CASE("split: parity, reversed keys, color < 0, splits of splits: shm threads",
          "[split][shm]") {
  split_on(Wire::Shm, Launch::Threads, {2, 5});
}
TEST_CASE("split: parity, reversed keys, color < 0, splits of splits: tcp threads",
          "[split][tcp]") {
  split_on(Wire::Tcp, Launch::Threads, {2, 5});
}
TEST_CASE("split: parity, reversed keys, color < 0, splits of splits: shm processes",
          "[split][shm][process]") {
  split_on(Wire::Shm, Launch::Processes, {5});
}
TEST_CASE("split: parity, reversed keys, color < 0, splits of splits: tcp processes",
          "[split][tcp][process]") {
  split_on(Wire::Tcp, Launch::Processes, {5});
}

TEST_CASE("a split's traffic goes through the parent's tcp transports", "[split][tcp]") {
  Options o;
  o.timeout_s = 60;
  test::TcpJob job(4, o);
  test::RankPool pool(4);
  const uint64_t before = job.sum(&transport::TcpStats::messages_sent);
  std::vector<double> sums(4);
  auto errors = pool.run([&](int r) {
    Communicator child = job.comms[static_cast<std::size_t>(r)].split(r % 2, 0);
    double x = r;
    child.allreduce(&x, &sums[static_cast<std::size_t>(r)], 1, DataType::Float64, ReduceOp::Sum);
  });
  INFO((errors.empty() ? std::string() : errors.front()));
  CHECK(errors.empty());
  CHECK(sums == std::vector<double>{2, 4, 2, 4});
  // The split's allgather and the children's allreduces: all on these transports.
  CHECK(job.sum(&transport::TcpStats::messages_sent) > before);
}

// Options::blocking = false: split returns at once, state() reports
// InProgress until the child is Ready, and the child then works. The
// parent's ranks are threads of one loopback group.
TEST_CASE("non-blocking split: InProgress, then Ready, then correct", "[split][nonblocking]") {
  const int n = 4;
  Options o;
  o.blocking = false;
  o.timeout_s = 30;
  auto comms = loopback_group(n, o);
  test::RankPool pool(n);
  std::vector<std::string> bad(n);
  const auto errors = pool.run([&](int r) {
    auto& c = comms[static_cast<std::size_t>(r)];
    Communicator child = c.split(r % 2, r);
    if (!child.valid()) bad[static_cast<std::size_t>(r)] += "no handle; ";
    const CommState first = child.state();
    if (first != CommState::InProgress && first != CommState::Ready)
      bad[static_cast<std::size_t>(r)] += "state Failed at once; ";
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (child.state() == CommState::InProgress && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (child.state() != CommState::Ready) bad[static_cast<std::size_t>(r)] += "never Ready; ";
    child.check_async_error();
    std::vector<double> v(1001, r + 1.0);
    child.allreduce(v.data(), v.data(), v.size(), DataType::Float64, ReduceOp::Sum);
    const double want = r % 2 == 0 ? 1.0 + 3.0 : 2.0 + 4.0;
    if (v[1000] != want || child.size() != 2 || child.rank() != r / 2)
      bad[static_cast<std::size_t>(r)] += "wrong child or sum; ";
  });
  CHECK(errors.empty());
  for (int r = 0; r < n; ++r) {
    INFO("rank " << r);
    CHECK(bad[static_cast<std::size_t>(r)].empty());
  }
}
