// mapping.hpp: ranks placed on a topology, and the path facts the tuner uses.
//
// Contract of RankMap: one RankPlace per rank, saying which host the rank
// runs on, which GPU it drives (or none: a CPU-only rank), its rail and the
// NIC it sends inter-node traffic through, and how many ranks of its host
// use that same NIC. Built by map_ranks(); immutable afterwards.
//
// Contract of PathModel: answers, for a RankMap on a Topology, what one
// transfer between two ranks can expect. Units everywhere: GB/s per
// direction (1e9 bytes/s; a 400 Gb/s NIC is 50 GB/s) and microseconds.
// The Topology must outlive the PathModel. Construction is linear in the
// topology's size; queries are O(1) except switch_tiers (O(radix)).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "topology/model.hpp"

namespace colossus::topology {

struct RankPlace {
  Id host = kNone;
  int local = 0;          // index among the ranks of its host, in rank order
  Id gpu = kNone;         // global GPU index, kNone for a CPU-only rank
  int rail = -1;          // its GPU's rail (else its NIC's), -1 if neither says
  Id nic = kNone;         // NIC for inter-node traffic, kNone if the host has none
  int nic_shared_by = 0;  // ranks of its host using that NIC (>= 1 when nic != kNone)
};

struct RankMap {
  std::vector<RankPlace> ranks;
  int nranks() const { return static_cast<int>(ranks.size()); }
  // node_of_rank()[r] = host index of rank r: the input of algorithms::Layout::from_nodes.
  std::vector<int> node_of_rank() const;
  // "16 ranks on 2 hosts x 8 (GPUs 0-7)".
  std::string describe() const;
};

// Host-major: rank r on host r / ranks_per_host, local index r % ranks_per_host,
// GPU `local` of that host when it has one. ranks_per_host = 0 means: GPUs per
// host of host 0, or nranks spread evenly over the hosts when it has none.
// Throws Error(InvalidArgument) when the ranks do not fit.
RankMap map_ranks(const Topology& topo, int nranks, int ranks_per_host = 0);
// host_of_rank[r] = host index (e.g. from merge_hosts); local indices follow rank order.
RankMap map_ranks(const Topology& topo, const std::vector<int>& host_of_rank);

struct PathCost {
  double gbytes_per_s = 0;  // per direction
  double latency_us = 0;
  const char* via =
      "";  // "NVSwitch", "NVLink", "PCIe", "host memory", "RoCE", "InfiniBand", "Ethernet", "none"
  int shared_by = 1;  // ranks of one host sharing this path's bottleneck (the NIC)
};

// Defaults where the topology has no number (documented, not measured):
constexpr double kRdmaNicLatencyUs = 1.0;  // per end, RDMA NIC (ConnectX-7 class)
constexpr double kTcpNicLatencyUs = 10.0;  // per end, kernel TCP stack
constexpr double kHostMemLatencyUs = 0.5;  // shared-memory FIFO hand-off between processes
constexpr double kUnknownNicGbits = 10.0;  // a NIC whose speed discovery could not read

class PathModel {
 public:
  PathModel(const Topology& topo, RankMap map);
  const RankMap& map() const { return map_; }
  const Topology& topology() const { return topo_; }

  // Between two ranks of one host (throws InvalidArgument otherwise):
  // NVSwitch if both GPUs are in one NVLink domain, NVLink if they are
  // directly linked, else PCIe (the slower GPU's link); CPU-only ranks (or a
  // GPU rank with a CPU rank): host memory at Host::mem_gbps.
  PathCost intra_node(int rank_a, int rank_b) const;
  // Leaving the host: the rank's NIC rate (its GPU's affine NIC, or the
  // host's fastest NIC shared by the host's CPU-only ranks). latency_us is
  // this end's NIC latency. "none" with 0 GB/s if the host has no NIC.
  PathCost inter_node(int rank) const;
  // Highest switch tier crossed between the NICs of two ranks: 0 same host,
  // 1 same leaf (same rail and scalable unit), 2 via a spine (other rail or
  // unit of one pod), 3 via a core. Without switch data: 1 (hosts assumed
  // on one switch).
  int switch_tiers(int rank_a, int rank_b) const;
  // One-way small-message latency between ranks on different hosts: both
  // NICs plus (2 * tiers - 1) switch traversals.
  double network_latency_us(int rank_a, int rank_b) const;

 private:
  int climb_tiers(Id leaf_a, Id leaf_b) const;

  const Topology& topo_;
  RankMap map_;
  mutable std::mutex memo_mu_;  // switch_tiers' memo, shared by callers' threads
  mutable std::unordered_map<std::uint64_t, int> tiers_memo_;
  std::vector<Id> leaf_of_nic_;      // kNone if not linked to a switch
  std::vector<double> nic_latency_;  // from the NIC's link, else the defaults above
  // Switch -> switches one tier up, compressed rows: up_ids_[up_begin_[s] .. up_begin_[s+1]).
  std::vector<Id> up_begin_, up_ids_;
};

}  // namespace colossus::topology
