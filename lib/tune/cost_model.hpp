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

struct CostModel {
  LinkCost intra;              // rank <-> rank on one node
  LinkCost inter;              // one NIC
  // A rank's own copy/reduce loops: bytes read plus bytes written per
  // second (memory traffic, not payload). CPU ranks: about twice the
  // memcpy payload rate; GPU ranks: HBM.
  double local_gbytes_per_s = 11.0;
  int nics_per_node = 1;       // rank r sends off-node through NIC local_index(r) % nics_per_node
  double step_us = 0.25;       // executor software cost of one step (one thread runs all channels)
  int cores_per_node = 0;      // 0: unknown; more ranks than cores time-slice
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
