// discover_parts.hpp: the discovery sources, each filling in what it can.
//
// Called in this order on a Topology holding nothing; each must leave it
// valid (Topology::finish() passes) and must not throw.
#pragma once

#include "topology/model.hpp"

namespace colossus::topology::detail {

// Host, NUMA, PCIe switches, GPUs and NICs with PCI addresses.
void discover_hwloc(Topology& t);
// RDMA devices: name, port state, speed x width, link layer; matched to NICs by PCI address.
void discover_ibverbs(Topology& t);
void discover_ucx(Topology& t);  // after ibverbs and sysfs: fills what they left
// Ethernet speed and state from /sys/class/net for NICs with a netdev.
void discover_sysfs(Topology& t);
// NVLink links, peers and NVSwitches; GPU names.
void discover_nvml(Topology& t);

// "/sys/bus/pci/devices/0000:18:00.0" style resolution of a sysfs device
// link to its PCI address; 0 if it is not a PCI device.
PciAddr pci_of_sysfs_device(const std::string& device_link);

}  // namespace colossus::topology::detail
