// from_topology.hpp: the tuner's CostModel read off a Topology and a rank map.
//
// intra: the path between rank 0 and another rank of its host (NVSwitch,
// NVLink, PCIe, or host memory for CPU ranks, where the executor's copy and
// reduce loops reach kCpuCopyEfficiency of the host's memory copy rate);
// inter: rank 0's NIC and the one-way network latency to a rank on another
// host; nics_per_node: distinct NICs the ranks of rank 0's host send through.
#pragma once

#include "topology/mapping.hpp"
#include "tune/cost_model.hpp"

namespace colossus::tune {

// fp32 sum through the CPU kernel vs memcpy at 64 MiB: 0.70-0.77 by payload
// (bench/RESULTS.md, issue 2): a CPU rank forwards at about this share of
// the memory copy rate.
inline constexpr double kCpuCopyEfficiency = 0.75;

// H100 SXM HBM3: 3.35 TB/s (NVIDIA H100 datasheet), read + write combined.
inline constexpr double kGpuLocalGBps = 3350.0;

CostModel cost_model(const topology::PathModel& paths, const std::string& source);

}  // namespace colossus::tune
