// presets.hpp: synthetic topologies of known systems.
//
// make_preset("NAME") or make_preset("NAME:nodes=N") builds the topology of
// N nodes (hosts) of the named system with its scale-out network. Names:
//   laptop       one developer laptop, CPU only, 1 GbE (default 1 node)
//   dgx-h100     NVIDIA DGX H100: 8 H100, NVSwitch, 8 x 400 Gb/s InfiniBand (default 1 node)
//   colossus     xAI Colossus: 100,000 H100 in 12,500 nodes on rail-optimized
//                three-tier 400GbE (default 12500 nodes)
//   gb200-nvl72  GB200 NVL72 racks: 18 nodes x 4 GPUs per 72-GPU NVLink
//                domain, 800 Gb/s NICs (default 18 nodes = one rack)
// Every parameter and its source is a comment in presets.cc. Bad specs throw
// Error(InvalidArgument) with the list of names or the expected syntax.
//
// The scale-out network of N > 1 nodes is rail-optimized and non-blocking
// (1:1): NIC r of every node is on rail r; a leaf switch uses half its ports
// down (to one rail of ports/2 nodes) and half up, one link to each spine of
// its pod; spines use half down (one per leaf of the pod), half up to the
// core tier when there is more than one pod. See build_rail_fabric().
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "topology/model.hpp"

namespace colossus::topology {

Topology make_preset(std::string_view spec);
const std::vector<std::string>& preset_names();

// The fabric builder presets share, exposed for tests and the simulator:
// appends switches and links for hosts [0, topo.hosts.size()) whose NIC r
// has rail r. radix = ports per switch.
struct FabricSpec {
  int radix = 64;
  double port_gbits = 400;
  double switch_latency_us = 0.6;
  double nic_latency_us = 1.0;  // on the NIC-to-leaf link: the NIC's share of a message's latency
};
void build_rail_fabric(Topology& topo, const FabricSpec& spec);

}  // namespace colossus::topology
