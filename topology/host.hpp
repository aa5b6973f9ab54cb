// host.hpp: what this host is, as hwloc sees it.
//
// The seed of the topology layer: cores, NUMA domains and memory of the
// local machine. Discovered once per process; never fails (what hwloc
// cannot tell is reported as unknown).
#pragma once

#include <cstdint>
#include <string>

namespace colossus::topology {

struct HostInfo {
  std::string hostname;
  int cores = 0;  // physical cores
  int pus = 0;    // hardware threads
  int numa_nodes = 0;
  std::uint64_t memory_bytes = 0;
  std::string cpu_model;        // "" if hwloc does not know it
  std::string summary() const;  // "host: 2 cores, 2 PUs, 1 NUMA node, 23.4 GiB"
};

const HostInfo& local_host();

}  // namespace colossus::topology
