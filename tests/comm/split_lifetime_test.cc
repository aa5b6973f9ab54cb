// What repeated splits cost over tcp: a job that splits, uses and destroys
// a child again and again (a new group per phase, say) must be able to go
// on indefinitely. A destroyed child's channel space is reused by the next
// split (lib/comm/split.cc), and with it the connections the executor keeps
// for it: spaces never run out (tcp takes channels up to 2^24) and file
// descriptors stay flat.
#include <dirent.h>

#include "catch.hpp"
#include "colossus/colossus.hpp"
#include "support/rank_pool.hpp"
#include "support/wire_group.hpp"

using namespace colossus;

namespace {

int open_fds() {
  int k = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++k;
    closedir(d);
  }
  return k;
}

// `times` rounds of: split everybody, allreduce on the child, destroy it.
std::vector<std::string> split_rounds(test::WireGroup& g, test::RankPool& pool, int times) {
  const int n = static_cast<int>(g.comms.size());
  return pool.run([&](int r) {
    for (int k = 0; k < times; ++k) {
      Communicator child = g.comms[static_cast<std::size_t>(r)].split(0, r);
      double x = 1, y = 0;
      child.allreduce(&x, &y, 1, DataType::Float64, ReduceOp::Sum);
      if (y != n) throw std::runtime_error("round " + std::to_string(k) + ": allreduce wrong");
    }
  });
}

}  // namespace

TEST_CASE("a tcp job can split, use and destroy children 600 times", "[split][tcp]") {
  Options o;
  o.timeout_s = 20;
  test::WireGroup g(test::Wire::Tcp, 2, o, 1);
  test::RankPool pool(2);
  const auto errors = split_rounds(g, pool, 600);
  INFO((errors.empty() ? std::string() : errors.front()));
  CHECK(errors.empty());
}

TEST_CASE("destroyed split children leave no tcp sockets behind: the next split reuses them",
          "[split][tcp]") {
  Options o;
  o.timeout_s = 20;
  test::WireGroup g(test::Wire::Tcp, 2, o, 1);
  test::RankPool pool(2);
  REQUIRE(split_rounds(g, pool, 1).empty());  // whatever the first split sets up once
  const int before = open_fds();
  REQUIRE(split_rounds(g, pool, 20).empty());
  const int after = open_fds();
  INFO("open file descriptors: " << before << " before 20 more rounds, " << after << " after");
  CHECK(after <= before + 2);
}
