// fabric.hpp: the modeled machine the simulator runs Plans on.
//
// A Fabric answers, for ranks placed on a topology, which shared resources
// a message between two ranks occupies and what latency it pays:
//
//   - each rank's on-node port, one per direction (NVLink/NVSwitch, or the
//     host-memory copy path of CPU ranks), at the CostModel's intra rate;
//   - each NIC, one per direction, shared by the ranks of its host that send
//     through it (RankMap::nic), at the NIC's own rate; a NIC the topology
//     describes as token-bucket shaped (the testbed's tc tbf) sends at its
//     peak rate while its bucket holds tokens, at its rate once empty;
//   - each rank's memory engine (its copy/reduce loops), at the CostModel's
//     local rate, charged bytes x memory passes of the step;
//   - where a node's ranks outnumber its cores (CPU ranks time-sliced), the
//     node's cores: cores x the local rate, charged with every memory-engine
//     byte of its ranks. A rank working alone gets a whole core, four busy
//     ranks on one core a quarter each (the tuner's CostModel divides the
//     rates statically instead; only the latency penalty per hop is shared).
//
// Switches are taken as non-blocking (rail-optimized fat trees at full
// bisection, as every preset describes): contention happens at the
// endpoints, latency grows with the switch tiers a message crosses
// (PathModel::network_latency_us). This is the documented approximation of
// the simulator; bench/RESULTS.md measures its error on the testbed.
//
// Every number comes from the same CostModel the tuner uses
// (tune::cost_model on the same PathModel), so the simulator checks the
// tuner, never a second set of constants.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "algorithms/layout.hpp"
#include "topology/mapping.hpp"
#include "tune/cost_model.hpp"

namespace colossus::sim {

class Fabric {
 public:
  // Ranks as placed by `paths` (which must outlive the Fabric), costs from
  // `model` (normally tune::cost_model(paths, ...)).
  static Fabric from_paths(const topology::PathModel& paths, const tune::CostModel& model);
  // No topology: every node alike, rank r sends off-node through NIC
  // local_index(r) % model.nics_per_node at model.inter's rate and latency.
  // For closed-form tests and quick what-ifs.
  static Fabric uniform(algorithms::Layout layout, const tune::CostModel& model);

  const algorithms::Layout& layout() const { return layout_; }
  const tune::CostModel& model() const { return model_; }
  int nranks() const { return layout_.nranks(); }
  bool same_node(int a, int b) const { return layout_.node_of(a) == layout_.node_of(b); }

  // The NIC `rank` sends through: its index among its node's NICs, and its
  // rate (GB/s per direction).
  int nic_index(int rank) const { return nic_index_[static_cast<std::size_t>(rank)]; }
  double nic_gbytes_per_s(int rank) const;
  // Its shaper's bucket (bytes) and peak rate (GB/s); 0 for a plain port.
  double nic_burst_bytes(int rank) const { return nic_burst_[static_cast<std::size_t>(rank)]; }
  double nic_peak_gbytes_per_s(int rank) const { return nic_peak_[static_cast<std::size_t>(rank)]; }
  // One rank's on-node port and memory engine, as when it runs alone.
  double intra_gbytes_per_s() const { return model_.intra.gbytes_per_s; }
  double memory_gbytes_per_s() const { return model_.local_gbytes_per_s; }
  // A node's cores together, in memory traffic; 0 when its ranks each have a core.
  double cores_gbytes_per_s() const;
  // One message from `from` to `to`, end to end, excluding the step cost:
  // on-node the CostModel's intra_latency_us (as the tuner); off-node the
  // PathModel's per pair and switch tier, where the tuner uses one figure
  // (tune/cost_model.hpp, "Latency, tuner against simulator", says why);
  // uniform: the CostModel's inter latency, exactly the tuner's.
  double latency_us(int from, int to) const;
  double step_us() const { return model_.step_us; }

  // Every node holds the same number of ranks, in consecutive blocks
  // (rank = node * per_node + local), with the same NIC index and rate per
  // local index: a precondition of folding symmetric ranks. "" if so, else why not.
  const std::string& asymmetry() const { return asymmetry_; }

  // "16 ranks, 2 nodes x 8; intra 450 GB/s, NIC 50 GB/s x 8 per node, ..."
  std::string describe() const;

 private:
  Fabric(algorithms::Layout layout, const tune::CostModel& model);
  void find_asymmetry();

  algorithms::Layout layout_;
  tune::CostModel model_;
  const topology::PathModel* paths_ = nullptr;  // null: uniform
  int per_node_ = 1;                            // most ranks on one node
  std::vector<int> nic_index_;                  // per rank
  std::vector<double> nic_rate_;                // per rank (its NIC's rate)
  std::vector<double> nic_burst_, nic_peak_;    // per rank (its NIC's shaper)
  std::string asymmetry_;
};

}  // namespace colossus::sim
