// cost_model.hpp: what one step and one byte cost, per link class.
//
// The tuner and (later) the simulator read the same numbers from here. A
// link class is either "intra" (two ranks of one node: shared memory or
// NVLink) or "inter" (a rank's NIC; ranks of a node use NIC
// local_index % nics_per_node). Units: GB/s per direction (1e9 bytes/s),
// microseconds.
//
// Where the numbers come from: CostModel::from_topology() takes link rates
// and latencies from the Topology (discovered, a preset, or
// COLOSSUS_TOPO_FILE) and adds the software costs below, which were
// measured on this project's executor (bench/RESULTS.md, "tuner
// calibration"), not tuned per case.
#pragma once

#include <string>

namespace colossus::tune {

struct LinkCost {
  double gbytes_per_s = 1;  // sustained payload rate, per direction
  double latency_us = 1;    // one message, end to end, excluding step_us
};

// Latency, tuner against simulator. Both charge a message its link class's
// latency after the sending step (plan/replay.hpp walks the Plans for
// both; the tuner's replay is the simulator's at infinite rates). On-node
// they use the same figure, intra_latency_us(). Off-node they differ:
//   - the tuner: inter.latency_us, one figure for every pair of nodes. From
//     a topology (from_topology.cc) it is PathModel::network_latency_us of
//     rank 0 and the first rank of another host: the nearest node, usually
//     under the same leaf switch (1 tier: both NICs plus one switch);
//   - the simulator (sim::Fabric::latency_us): network_latency_us per pair,
//     so a hop that climbs to a spine or a core pays 2 * tiers - 1 switch
//     traversals; folded, averaged over the orbit of each class of ranks.
// So on a multi-tier fabric the tuner's critical path is a lower bound of
// the simulator's at infinite rates, equal on one leaf (and on
// Fabric::uniform). Why the tuner keeps one figure: it needs only a Layout
// and a CostModel (the communicator keeps those, comm/placement.cc drops
// the PathModel after building them, and host_memory_model() has no
// topology at all), its picks compare
// algorithms whose hops mostly stay on the rail's leaf (ring neighbours,
// hierarchical's rail phase), and per-hop switch latencies of ~1 us matter
// only for latency-bound calls, where the simulator is the finer check.

struct CostModel {
  LinkCost intra;  // rank <-> rank on one node
  LinkCost inter;  // one NIC
  // A rank's own copy/reduce loops: bytes read plus bytes written per
  // second (memory traffic, not payload). CPU ranks: about twice the
  // memcpy payload rate; GPU ranks: HBM.
  double local_gbytes_per_s = 11.0;
  int nics_per_node = 1;   // rank r sends off-node through NIC local_index(r) % nics_per_node
  double step_us = 0.25;   // executor software cost of one step (one thread runs all channels)
  int cores_per_node = 0;  // 0: unknown; more ranks than cores time-slice
  // Added to each intra hop, times ranks per core, when a node's ranks
  // outnumber its cores: the receiver waits its turn for a core. (64
  // loopback ranks on 2 cores: ~32 x 4 us per hop; measured ~120 us per
  // recursive-doubling round, bench/RESULTS.md.)
  double timeslice_us = 4.0;
  std::string source = "defaults";  // where the link numbers came from, for the log

  // Latency of one intra-node hop with `ranks_per_node` ranks sharing the node.
  double intra_latency_us(int ranks_per_node) const {
    const bool oversubscribed = cores_per_node > 0 && ranks_per_node > cores_per_node;
    return intra.latency_us +
           (oversubscribed ? timeslice_us * ranks_per_node / double(cores_per_node) : 0.0);
  }
  // Memory traffic rate of one rank's loops, shared like intra_rate.
  double local_rate(int ranks_per_node) const {
    const bool oversubscribed = cores_per_node > 0 && ranks_per_node > cores_per_node;
    return local_gbytes_per_s * (oversubscribed ? double(cores_per_node) / ranks_per_node : 1.0);
  }
  // Send rate of one rank on-node when `ranks_per_node` ranks copy at once:
  // time-sliced ranks share their cores' memory bandwidth.
  double intra_rate(int ranks_per_node) const {
    const bool oversubscribed = cores_per_node > 0 && ranks_per_node > cores_per_node;
    return intra.gbytes_per_s * (oversubscribed ? double(cores_per_node) / ranks_per_node : 1.0);
  }
  std::string describe() const;  // one line for the INFO log
};

// Host-memory ranks on one machine (shm/loopback), measured defaults.
CostModel host_memory_model(int cores_per_node);

}  // namespace colossus::tune
