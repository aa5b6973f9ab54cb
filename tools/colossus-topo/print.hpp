// print.hpp: colossus-topo's text views of a Topology.
//
// Deterministic: the same Topology always prints the same text (no times,
// no addresses), so tests can compare outputs and README.md can quote them.
// Large systems are summarized: hosts of one shape are printed once.
#pragma once

#include <cstdio>

#include "topology/mapping.hpp"
#include "topology/model.hpp"

namespace colossus::topo_tool {

// Summary line, host tree(s) (lstopo-like), GPU/NIC matrix (nvidia-smi
// topo -m-like), rails, NVLink domains and the network by tier.
void print_topology(std::FILE* out, const topology::Topology& topo);

// The rank table and the path costs the tuner would see.
void print_ranks(std::FILE* out, const topology::PathModel& paths);

}  // namespace colossus::topo_tool
