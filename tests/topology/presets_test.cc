// Preset sizes, scaling, and a network consistent with k-port switches at 1:1.
#include "topology/presets.hpp"

#include <vector>

#include "catch.hpp"
#include "colossus/error.hpp"

using namespace colossus::topology;

namespace {

struct Ports {
  std::vector<int> down, up;
};
Ports ports(const Topology& t) {
  Ports p{std::vector<int>(t.switches.size()), std::vector<int>(t.switches.size())};
  for (const Link& l : t.links) {
    if (l.type != LinkType::Network) continue;
    if (l.a.kind == Kind::NetSwitch && l.b.kind == Kind::NetSwitch) {
      const bool a_low = t.switches[l.a.index].tier < t.switches[l.b.index].tier;
      p.up[a_low ? l.a.index : l.b.index] += l.count;
      p.down[a_low ? l.b.index : l.a.index] += l.count;
    } else {
      p.down[l.b.index] += l.count;  // nic -> switch
    }
  }
  return p;
}

int count_tier(const Topology& t, int tier) {
  int n = 0;
  for (const NetSwitch& s : t.switches) n += s.tier == tier;
  return n;
}

// Every switch within its radix; leaves and spines never oversubscribed.
void check_non_blocking(const Topology& t) {
  const Ports p = ports(t);
  for (std::size_t s = 0; s < t.switches.size(); ++s) {
    INFO("switch " << s << " tier " << t.switches[s].tier);
    REQUIRE(p.down[s] + p.up[s] <= t.switches[s].ports);
    if (t.switches[s].tier == 1 && t.tiers() > 1) REQUIRE(p.up[s] >= p.down[s]);
    if (t.switches[s].tier == 2 && t.tiers() > 2) REQUIRE(p.up[s] == p.down[s]);
  }
}

}  // namespace

// How long it takes to build is measured by bench/scale_bench, not asserted.
TEST_CASE("colossus: 100,000 GPUs in 12,500 hosts", "[topology][preset]") {
  const Topology t = make_preset("colossus");
  CHECK(t.hosts.size() == 12500);
  CHECK(t.gpus.size() == 100000);
  CHECK(t.nics.size() == 100000);
  CHECK(t.tiers() == 3);
  // 64 nodes per leaf and rail: ceil(12500/64) = 196 units x 8 rails.
  CHECK(count_tier(t, 1) == 1568);
  // 8 units (64 leaves) per pod: 25 pods x 64 spines.
  CHECK(count_tier(t, 2) == 1600);
  // 64 planes x 13 cores: 24 pods x 5 ports + 1 pod x 3 = 123 <= 128 per core.
  CHECK(count_tier(t, 3) == 832);
  for (const NetSwitch& sw : t.switches) {
    CHECK(sw.ports == 128);
    CHECK(sw.port_gbits == 400);
  }
  check_non_blocking(t);
  for (const Nic& c : t.nics) REQUIRE(c.gbits == 400);
}

TEST_CASE("presets scale by node count", "[topology][preset]") {
  CHECK(make_preset("colossus:nodes=512").gpus.size() == 4096);
  CHECK(make_preset("colossus:nodes=512").tiers() == 2);  // one pod
  CHECK(make_preset("colossus:nodes=513").tiers() == 3);
  CHECK(make_preset("colossus:nodes=1").switches.empty());
  const Topology d = make_preset("dgx-h100:nodes=8");
  CHECK(d.hosts.size() == 8);
  CHECK(d.gpus.size() == 64);
  CHECK(d.nvswitches.size() == 32);
  check_non_blocking(d);
  const Topology g = make_preset("gb200-nvl72:nodes=36");
  CHECK(g.gpus.size() == 144);
  CHECK(g.nvswitches.size() == 36);  // two racks x 18
  CHECK(g.gpus[0].nvdomain == g.gpus[71].nvdomain);
  CHECK(g.gpus[71].nvdomain != g.gpus[72].nvdomain);
  CHECK(g.gpus[0].nvlink_gbps == 900);
  CHECK(g.nics[0].gbits == 800);
  check_non_blocking(g);
  check_non_blocking(make_preset("laptop:nodes=20"));
  check_non_blocking(make_preset("colossus:nodes=5000"));
  CHECK(make_preset("laptop").gpus.empty());
}

TEST_CASE("preset parameters: dgx-h100", "[topology][preset]") {
  const Topology t = make_preset("dgx-h100");
  REQUIRE(t.hosts.size() == 1);
  CHECK(t.hosts[0].num_gpu == 8);
  CHECK(t.hosts[0].num_nic == 8);
  CHECK(t.hosts[0].num_numa == 2);
  CHECK(t.pci_switches.size() == 4);
  for (const Gpu& g : t.gpus) {
    CHECK(g.nvlinks == 18);
    CHECK(g.nvlink_gbps == 450);
  }
  for (const Nic& c : t.nics) CHECK((c.gbits == 400 && c.layer == LinkLayer::InfiniBand && c.rdma));
}

TEST_CASE("bad preset specs are clear errors", "[topology][preset]") {
  CHECK_THROWS_WITH(make_preset("dgx-a100"), Catch::Contains("unknown preset") &&
                                                 Catch::Contains("names: laptop, dgx-h100"));
  CHECK_THROWS_WITH(make_preset("colossus:nodes=0"),
                    Catch::Contains("nodes must be an integer in 1..200000"));
  CHECK_THROWS_WITH(make_preset("colossus:nodes=12x"), Catch::Contains("nodes must be an integer"));
  CHECK_THROWS_WITH(make_preset("colossus:gpus=8"), Catch::Contains("unknown option 'gpus=8'"));
  CHECK_THROWS_AS(make_preset(""), colossus::Error);
}
