// discover.hpp: this host's topology, and the global view of a job.
//
// discover_host() looks at the machine it runs on: hwloc for cores, NUMA and
// the PCI tree (GPUs: vendor 0x10de; NICs: class 0x02xx), NVML (dlopen'ed at
// run time, only when a GPU was found) for NVLink, libibverbs (when built
// with it) for RDMA port state, speed and link layer, sysfs for Ethernet
// speed. Every source is optional: what is missing is left out and said once
// at INFO; discover_host() never throws and always returns one host.
//
// local_view() is what a rank should use: COLOSSUS_TOPO_FILE (an XML file,
// see xml.hpp) instead of discovery when set, and COLOSSUS_TOPO_DUMP_FILE
// (%h = hostname, %p = pid) to write the result out.
//
// The global view: every rank sends serialize_host(local_view()) through the
// bootstrap allgather and calls merge_hosts() on the n blobs; ranks on one
// host (same hostname and boot id) collapse into one host.
#pragma once

#include <string>
#include <vector>

#include "topology/model.hpp"

namespace colossus::topology {

Topology discover_host();

// The network devices UCX can use on this host (empty in a build without
// UCX): name ("mlx5_0:1", "eth0"), transport ("rc_mlx5", "tcp"), UCX's
// bandwidth estimate, and whether it is a verbs (RDMA) transport.
struct UcxDevice {
  std::string name;
  std::string transport;
  double bandwidth_Bps = 0;
  bool rdma = false;
};
std::vector<UcxDevice> ucx_network_devices();

// Throws Error(InvalidArgument) for a COLOSSUS_TOPO_FILE that cannot be read
// or parsed, or that holds several hosts of which none is named like this one.
// A failing dump is a WARN, not an error.
Topology local_view();

// One host's view as bytes (the XML text of a one-host Topology: hosts,
// NUMA, PCI switches, GPUs, NICs, host-level NVSwitches and their links).
std::string serialize_host(const Topology& one_host);

// Merges the blobs of serialize_host, in order. Hosts are identified by
// hostname + boot id; repeats are dropped. host_of_view (optional) gets,
// per blob, its host index in the result: map_ranks(topo, host_of_view)
// when blob i came from rank i. Throws Error(InvalidArgument) on a bad blob.
Topology merge_hosts(const std::vector<std::string>& views,
                     std::vector<int>* host_of_view = nullptr);

}  // namespace colossus::topology
