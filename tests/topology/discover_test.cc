// Discovery on this machine, and the serialize/merge pair of the global view.
#include "topology/discover.hpp"

#include <unistd.h>

#include <cstdlib>

#include "base/config.hpp"
#include "catch.hpp"
#include "colossus/error.hpp"
#include "support/skip_case.hpp"
#include "topology/mapping.hpp"
#include "topology/presets.hpp"
#include "topology/xml.hpp"

using namespace colossus::topology;

TEST_CASE("discovery finds this host with cores and NUMA", "[topology][discover]") {
  const Topology t = discover_host();
  REQUIRE(t.hosts.size() == 1);
  CHECK(!t.hosts[0].hostname.empty());
  CHECK(t.hosts[0].cores >= 1);
  CHECK(t.hosts[0].pus >= t.hosts[0].cores);
  CHECK(t.hosts[0].num_numa >= 1);
  CHECK(t.hosts[0].memory_bytes > 0);
  // Whatever it found maps and prices: ranks here are CPU-only or GPU ranks.
  const PathModel p(t, map_ranks(t, 2, 2));
  CHECK(p.intra_node(0, 1).gbytes_per_s > 0);
}

TEST_CASE("discovery never throws when the environment is odd", "[topology][discover]") {
  // hwloc reading a missing XML file or unknown components must not matter.
  setenv("HWLOC_XMLFILE", "/nonexistent/topo.xml", 1);
  setenv("HWLOC_COMPONENTS", "nosuchcomponent", 1);
  Topology t;
  REQUIRE_NOTHROW(t = discover_host());
  CHECK(t.hosts.size() == 1);
  unsetenv("HWLOC_XMLFILE");
  unsetenv("HWLOC_COMPONENTS");
}

TEST_CASE("COLOSSUS_TOPO_FILE and COLOSSUS_TOPO_DUMP_FILE are read by the config",
          "[topology][discover]") {
  setenv("COLOSSUS_TOPO_FILE", "/x/topo.xml", 1);
  setenv("COLOSSUS_TOPO_DUMP_FILE", "/tmp/%h.xml", 1);
  const colossus::base::Config c = colossus::base::Config::from_env();
  CHECK(c.topo_file == "/x/topo.xml");
  CHECK(c.topo_dump_file == "/tmp/%h.xml");
  for (const std::string& w : c.warnings) CHECK(w.find("TOPO") == std::string::npos);
  unsetenv("COLOSSUS_TOPO_FILE");
  unsetenv("COLOSSUS_TOPO_DUMP_FILE");
}

TEST_CASE("an NCCL_TOPO_FILE colossus cannot read warns, and discovery goes on",
          "[topology][discover]") {
  // NCCL's own topology XML (root <system>), as machines set it for NCCL jobs.
  char path[] = "/tmp/nccl_topo.XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string nccl_xml = "<system version=\"1\"><cpu numaid=\"0\"/></system>\n";
  REQUIRE(write(fd, nccl_xml.data(), nccl_xml.size()) == static_cast<ssize_t>(nccl_xml.size()));
  close(fd);
  setenv("NCCL_TOPO_FILE", path, 1);
  const colossus::base::Config& env = colossus::base::env_config();
  if (env.topo_file_var != "NCCL_TOPO_FILE") {
    unlink(path);
    colossus::test::skip_case("NCCL_TOPO_FILE", "the process read its environment earlier");
  }
  Topology t;
  REQUIRE_NOTHROW(t = local_view());
  CHECK(t.hosts.size() == 1);
  CHECK(t.source == "discovered");
  CHECK_THROWS(load_xml(path));  // what COLOSSUS_TOPO_FILE would have made an error
  unsetenv("NCCL_TOPO_FILE");
  unlink(path);
}

TEST_CASE("serialize_host and merge_hosts build the global view", "[topology][discover]") {
  const Topology here = discover_host();
  const std::string a = serialize_host(here);
  Topology other = from_xml(a);
  other.hosts[0].hostname += "-twin";
  const std::string b = serialize_host(other);
  std::vector<int> host_of;
  // Four ranks: two per host, as the bootstrap allgather would deliver them.
  const Topology g = merge_hosts({a, a, b, b}, &host_of);
  REQUIRE(g.hosts.size() == 2);
  CHECK(host_of == std::vector<int>{0, 0, 1, 1});
  CHECK(g.hosts[1].hostname == here.hosts[0].hostname + "-twin");
  CHECK(g.numas.size() == 2 * here.numas.size());
  CHECK(g.nics.size() == 2 * here.nics.size());
  const RankMap m = map_ranks(g, host_of);
  CHECK(m.node_of_rank() == std::vector<int>{0, 0, 1, 1});
  // Same hostname, another boot: another host (a rebooted node is not the same view).
  Topology rebooted = from_xml(a);
  rebooted.hosts[0].boot_id = "other-boot";
  CHECK(merge_hosts({a, serialize_host(rebooted)}).hosts.size() == 2);
}

TEST_CASE("merging DGX views keeps GPUs, NVSwitches and NVLink domains apart",
          "[topology][discover]") {
  Topology one = make_preset("dgx-h100");
  const std::string v0 = serialize_host(one);
  one.hosts[0].hostname = "dgx-b";
  const Topology g = merge_hosts({v0, serialize_host(one)});
  REQUIRE(g.gpus.size() == 16);
  CHECK(g.nvswitches.size() == 8);
  CHECK(g.gpus[0].nvdomain != g.gpus[8].nvdomain);
  CHECK(g.gpus[8].host == 1);
  const PathModel p(g, map_ranks(g, 16));
  CHECK(p.intra_node(8, 15).gbytes_per_s == 450);
  CHECK(p.inter_node(8).gbytes_per_s == 50);
  CHECK_THROWS_AS(serialize_host(make_preset("dgx-h100:nodes=2")), colossus::Error);
  CHECK_THROWS_WITH(merge_hosts({"<bad"}), Catch::Contains("host view 0"));
}
