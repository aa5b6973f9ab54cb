// The rail-optimized, non-blocking scale-out network presets share.
//
// With radix k: a leaf has k/2 ports down, one per node of its "scalable
// unit" (SU) on its rail, and k/2 up, one to each spine of its pod. A spine
// has k/2 ports down, one per leaf of its pod, so a pod holds k/2 leaves =
// (k/2)/rails SUs. With one pod the network has two tiers. With more, spine
// j of every pod sends as many links up as it has leaves (1:1) into core
// plane j, spread evenly over all of the plane's cores, so any two pods
// meet at every core of a plane; a plane has as few cores as hold that.
// Colossus (k=128, 8 rails, 12,500 nodes): 196 SUs of 64 nodes, 1,568
// leaves, 25 pods x 64 spines = 1,600 spines, 64 planes x 13 = 832 cores.
#include <algorithm>
#include <vector>

#include "colossus/error.hpp"
#include "topology/presets.hpp"

namespace colossus::topology {

void build_rail_fabric(Topology& t, const FabricSpec& f) {
  const int nodes = static_cast<int>(t.hosts.size());
  if (nodes <= 1) return;  // one node: nothing to switch
  std::vector<Id> nic_begin(nodes + 1, 0);
  // NICs are grouped by host in order (the model's rule), so count per host.
  for (const Nic& c : t.nics) ++nic_begin[c.host + 1];
  for (int h = 0; h < nodes; ++h) nic_begin[h + 1] += nic_begin[h];
  const int rails = nic_begin[1] - nic_begin[0];
  for (int h = 0; h < nodes; ++h)
    if (nic_begin[h + 1] - nic_begin[h] != rails || rails == 0)
      throw Error(ErrorCode::InvalidArgument,
                  "rail fabric: every host needs the same number of NICs (> 0)");
  const int half = f.radix / 2;
  const double port_gbps = f.port_gbits / 8;
  auto add_switch = [&](int tier, int rail, int group) {
    t.switches.push_back({tier, f.radix, f.port_gbits, f.switch_latency_us, rail, group});
    return static_cast<Id>(t.switches.size() - 1);
  };
  auto nic_link = [&](Id nic, Id sw) {
    const double g = std::min(t.nics[nic].gbits, f.port_gbits) / 8;
    t.links.push_back(
        {{Kind::Nic, nic}, {Kind::NetSwitch, sw}, LinkType::Network, 1, g, f.nic_latency_us});
  };
  if (rails == 1 && nodes <= f.radix) {  // one switch takes everyone
    const Id sw = add_switch(1, 0, 0);
    for (int h = 0; h < nodes; ++h) nic_link(nic_begin[h], sw);
    return;
  }
  const int sus = (nodes + half - 1) / half;
  const int sus_per_pod = std::max(1, half / rails);
  const int pods = (sus + sus_per_pod - 1) / sus_per_pod;
  if (rails > half)
    throw Error(ErrorCode::InvalidArgument, "rail fabric: more rails than a spine has down ports");
  std::vector<Id> leaf_of_su_rail(static_cast<std::size_t>(sus) * rails);
  std::vector<int> leaves_in_pod(pods, 0);
  std::vector<Id> spine0(pods);
  for (int p = 0; p < pods; ++p) {
    for (int su = p * sus_per_pod; su < std::min(sus, (p + 1) * sus_per_pod); ++su)
      for (int r = 0; r < rails; ++r) {
        leaf_of_su_rail[static_cast<std::size_t>(su) * rails + r] = add_switch(1, r, p);
        ++leaves_in_pod[p];
      }
    spine0[p] = static_cast<Id>(t.switches.size());
    for (int j = 0; j < half; ++j) add_switch(2, -1, p);
    // Every leaf of the pod: one link to each spine.
    for (int su = p * sus_per_pod; su < std::min(sus, (p + 1) * sus_per_pod); ++su)
      for (int r = 0; r < rails; ++r)
        for (int j = 0; j < half; ++j)
          t.links.push_back(
              {{Kind::NetSwitch, leaf_of_su_rail[static_cast<std::size_t>(su) * rails + r]},
               {Kind::NetSwitch, spine0[p] + j},
               LinkType::Network,
               1,
               port_gbps,
               0});
  }
  for (int h = 0; h < nodes; ++h)
    for (int r = 0; r < rails; ++r)
      nic_link(nic_begin[h] + r, leaf_of_su_rail[static_cast<std::size_t>(h / half) * rails + r]);
  if (pods == 1) return;
  if (pods > f.radix)
    throw Error(ErrorCode::InvalidArgument, "rail fabric: more pods than three tiers hold");
  // Spine j of pod p spreads its leaves_in_pod[p] uplinks evenly over all C
  // cores of plane j (so every two pods meet at every core); C is the least
  // number of cores whose ports hold that.
  auto core_ports = [&](int c) {
    int used = 0;
    for (int u : leaves_in_pod) used += (u + c - 1) / c;
    return used;
  };
  int cores = 1;
  while (core_ports(cores) > f.radix) ++cores;
  for (int j = 0; j < half; ++j) {
    const Id core0 = static_cast<Id>(t.switches.size());
    for (int c = 0; c < cores; ++c) add_switch(3, -1, j);
    for (int p = 0; p < pods; ++p) {
      const int u = leaves_in_pod[p];
      for (int c = 0; c < cores; ++c) {
        const int n = u / cores + (c < u % cores ? 1 : 0);
        if (n > 0)
          t.links.push_back({{Kind::NetSwitch, spine0[p] + j},
                             {Kind::NetSwitch, core0 + c},
                             LinkType::Network,
                             n,
                             n * port_gbps,
                             0});
      }
    }
  }
}

}  // namespace colossus::topology
