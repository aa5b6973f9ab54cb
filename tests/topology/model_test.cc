// The model's rules: per-host grouping, references, PCI addresses, affinity.
#include "topology/model.hpp"

#include "catch.hpp"
#include "colossus/error.hpp"
#include "topology/presets.hpp"

using namespace colossus::topology;

TEST_CASE("PCI addresses print and parse back", "[topology]") {
  PciAddr a = 0;
  REQUIRE(parse_pci("0000:18:00.0", &a));
  CHECK(pci_to_string(a) == "0000:18:00.0");
  REQUIRE(parse_pci("00000001:c4:1f.7", &a));  // NVML writes 8-digit domains
  CHECK(pci_to_string(a) == "0001:c4:1f.7");
  CHECK_FALSE(parse_pci("18:00.0", &a));
  CHECK_FALSE(parse_pci("0000:18:00.0x", &a));
  CHECK_FALSE(parse_pci("0000:100:00.0", &a));
}

TEST_CASE("finish() fills host ranges and rejects objects out of host order", "[topology]") {
  Topology t;
  t.hosts.resize(2);
  t.numas = {{0, 0, 1, 0}, {1, 0, 1, 0}};
  t.finish();
  CHECK(t.hosts[1].first_numa == 1);
  CHECK(t.hosts[1].num_numa == 1);
  CHECK(t.hosts[0].num_gpu == 0);
  t.numas = {{1, 0, 1, 0}, {0, 0, 1, 0}};
  CHECK_THROWS_WITH(t.finish(), Catch::Contains("numa 1") && Catch::Contains("grouped by host"));
  t.numas = {{0, 0, 1, 0}};
  t.gpus.push_back(Gpu{});
  t.gpus[0].host = 0;
  t.gpus[0].numa = 7;
  CHECK_THROWS_AS(t.finish(), colossus::Error);
}

TEST_CASE("GPU-NIC affinity follows the PCIe tree and NUMA", "[topology]") {
  const Topology t = make_preset("dgx-h100");
  CHECK(t.affinity(0, 0) == Affinity::SamePciSwitch);
  CHECK(t.affinity(0, 1) == Affinity::SamePciSwitch);
  CHECK(t.affinity(0, 2) == Affinity::SameNuma);
  CHECK(t.affinity(0, 7) == Affinity::CrossSocket);
  CHECK(std::string(to_string(Affinity::SamePciSwitch)) == "PIX");
}
