// Communicator::split on loopback ranks: parity colors, reversed keys,
// color < 0, splits of splits, and collectives on children and parent
// interleaved; the children reuse the parent's connections.
#include "catch.hpp"
#include "colossus/colossus.hpp"
#include "support/rank_pool.hpp"

using namespace colossus;

TEST_CASE("split by parity with reversed keys, split again, interleave with the parent",
          "[split]") {
  for (const int n : {1, 2, 5, 8}) {
    auto comms = loopback_group(n);
    test::RankPool pool(n);
    std::vector<std::string> problems;
    std::mutex mu;
    auto report = [&](const std::string& s) {
      std::lock_guard lock(mu);
      problems.push_back(s);
    };
    auto errors = pool.run([&](int r) {
      const int color = r % 2 == 0 ? 0 : (r == 3 ? -1 : 1);  // rank 3 joins none
      Communicator child = comms[r].split(color, n - r);     // reversed keys
      // Parent and child collectives interleaved (rank 3 has no child).
      std::vector<int> members;
      for (int q = n - 1; q >= 0; --q) {
        const int cq = q % 2 == 0 ? 0 : (q == 3 ? -1 : 1);
        if (color >= 0 && cq == color) members.push_back(q);
      }
      for (int round = 0; round < 3; ++round) {
        double x = r + 1, sum_child = 0, sum_parent = 0;
        if (child.valid()) {
          child.allreduce(&x, &sum_child, 1, DataType::Float64, ReduceOp::Sum);
          double want_child = 0;
          for (const int m : members) want_child += m + 1;
          if (sum_child != want_child) report("child allreduce wrong on rank " + std::to_string(r));
        }
        comms[r].allreduce(&x, &sum_parent, 1, DataType::Float64, ReduceOp::Sum);
        if (sum_parent != n * (n + 1) / 2.0) report("parent allreduce wrong");
      }
      if (color < 0) {
        if (child.valid()) report("rank 3 got a communicator for color < 0");
      } else {
        // Members: ranks with this color, by descending old rank.
        const int want_rank =
            static_cast<int>(std::find(members.begin(), members.end(), r) - members.begin());
        if (child.size() != static_cast<int>(members.size()) || child.rank() != want_rank) {
          report("rank " + std::to_string(r) + ": child rank " + std::to_string(child.rank()) +
                 "/" + std::to_string(child.size()));
        }
        // A split of the split: halves by child rank.
        Communicator grand = child.split(child.rank() < child.size() / 2 ? 0 : 1, 0);
        std::vector<int> ranks(static_cast<std::size_t>(grand.size()));
        const int mine = r;
        grand.allgather(&mine, ranks.data(), 1, DataType::Int32);
        for (std::size_t i = 1; i < ranks.size(); ++i) {
          if (ranks[i] >= ranks[i - 1]) report("grandchild not ordered by the child's ranks");
        }
        // Child p2p next to a parent collective.
        if (child.size() > 1) {
          const int to = (child.rank() + 1) % child.size();
          const int from = (child.rank() + child.size() - 1) % child.size();
          int out = r, in = -1;
          group_start();
          child.send(&out, 1, DataType::Int32, to);
          child.recv(&in, 1, DataType::Int32, from);
          group_end();
          if (in != members[static_cast<std::size_t>(from)]) report("child send/recv wrong");
        }
      }
      double one = 1, total = 0;
      comms[r].allreduce(&one, &total, 1, DataType::Float64, ReduceOp::Sum);
      if (total != n) report("final parent allreduce wrong");
    });
    INFO("n=" << n << " " << (errors.empty() ? "" : errors[0])
              << (problems.empty() ? "" : problems[0]));
    CHECK(errors.empty());
    CHECK(problems.empty());
  }
}
