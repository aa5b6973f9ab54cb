// Rank mapping and the path costs the tuner reads.
#include "topology/mapping.hpp"

#include "catch.hpp"
#include "colossus/error.hpp"
#include "topology/presets.hpp"

using namespace colossus::topology;

TEST_CASE("16 ranks on dgx-h100:nodes=2: 2 nodes x 8 GPUs", "[topology][mapping]") {
  const Topology t = make_preset("dgx-h100:nodes=2");
  const RankMap m = map_ranks(t, 16);
  REQUIRE(m.nranks() == 16);
  for (int r = 0; r < 16; ++r) {
    INFO("rank " << r);
    CHECK(m.ranks[r].host == r / 8);
    CHECK(m.ranks[r].local == r % 8);
    CHECK(t.gpus[m.ranks[r].gpu].local == r % 8);
    CHECK(m.ranks[r].rail == r % 8);
    CHECK(t.nics[m.ranks[r].nic].rail == r % 8);  // each GPU's own NIC
    CHECK(t.nics[m.ranks[r].nic].host == r / 8);
    CHECK(m.ranks[r].nic_shared_by == 1);
  }
  CHECK(m.node_of_rank() == std::vector<int>{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1});
  CHECK(m.describe() == "16 ranks on 2 hosts, up to 8 per host, 16 with a GPU");
  CHECK_THROWS_WITH(map_ranks(t, 17), Catch::Contains("17 ranks do not fit 2 host(s) x 8"));
  const RankMap four = map_ranks(t, 8, 4);  // 4 per node
  CHECK(four.ranks[4].host == 1);
  CHECK(four.ranks[4].local == 0);
}

TEST_CASE("dgx-h100 paths: NVSwitch 450 GB/s inside, 50 GB/s (400 Gb/s) NIC out",
          "[topology][mapping]") {
  const Topology t = make_preset("dgx-h100:nodes=2");
  const PathModel p(t, map_ranks(t, 16));
  const PathCost in = p.intra_node(0, 7);
  CHECK(in.gbytes_per_s == 450);
  CHECK(std::string(in.via) == "NVSwitch");
  CHECK(in.latency_us > 0);
  const PathCost out = p.inter_node(3);
  CHECK(out.gbytes_per_s == 50);
  CHECK(std::string(out.via) == "InfiniBand");
  CHECK(out.shared_by == 1);
  CHECK(p.switch_tiers(0, 1) == 0);
  CHECK(p.switch_tiers(0, 8) == 1);  // same rail, same leaf
  CHECK(p.switch_tiers(0, 9) == 2);  // other rail: through a spine
  CHECK(p.network_latency_us(0, 8) == Approx(1.0 + 1.0 + 0.2));
  CHECK_THROWS_WITH(p.intra_node(0, 8), Catch::Contains("different hosts"));
}

TEST_CASE("colossus paths and switch tiers", "[topology][mapping]") {
  const Topology t = make_preset("colossus");
  const PathModel p(t, map_ranks(t, 100000));
  CHECK(p.intra_node(0, 1).gbytes_per_s == 450);
  CHECK(p.inter_node(99999).gbytes_per_s == 50);
  CHECK(std::string(p.inter_node(0).via) == "RoCE");
  CHECK(p.switch_tiers(0, 8) == 1);        // host 1, rail 0: same leaf
  CHECK(p.switch_tiers(0, 64 * 8) == 2);   // host 64: next unit, same pod
  CHECK(p.switch_tiers(0, 512 * 8) == 3);  // host 512: next pod
  CHECK(p.switch_tiers(0, 99999) == 3);
  CHECK(p.network_latency_us(0, 99992) == Approx(1.0 + 1.0 + 5 * 0.6));
}

TEST_CASE("CPU-only ranks use host memory and share the fastest NIC", "[topology][mapping]") {
  const Topology t = make_preset("laptop:nodes=2");
  const PathModel p(t, map_ranks(t, 8));  // 4 per laptop
  CHECK(p.map().ranks[5].host == 1);
  const PathCost in = p.intra_node(0, 3);
  CHECK(in.gbytes_per_s == kDefaultHostMemGBps);
  CHECK(std::string(in.via) == "host memory");
  const PathCost out = p.inter_node(0);
  CHECK(out.gbytes_per_s == Approx(0.125));
  CHECK(out.shared_by == 4);
  CHECK(p.switch_tiers(0, 4) == 1);
}

TEST_CASE("more ranks than GPUs: the extra ranks are CPU-only", "[topology][mapping]") {
  const Topology t = make_preset("gb200-nvl72");
  const RankMap m = map_ranks(t, std::vector<int>{0, 0, 0, 0, 0, 1});
  CHECK(m.ranks[3].gpu != kNone);
  CHECK(m.ranks[4].gpu == kNone);
  CHECK(m.ranks[4].nic != kNone);
  CHECK(m.ranks[5].local == 0);
  const PathModel p(t, m);
  CHECK(std::string(p.intra_node(0, 1).via) == "NVSwitch");
  CHECK(p.intra_node(0, 1).gbytes_per_s == 900);
  CHECK(std::string(p.intra_node(0, 4).via) == "host memory");
  CHECK_THROWS_AS(map_ranks(t, std::vector<int>{0, 18}), colossus::Error);
}
