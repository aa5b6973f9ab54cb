// libibverbs: RDMA devices, their port state, rate and link layer.
//
// Built only with COLOSSUS_TOPO_IBVERBS (libibverbs-dev found at configure
// time); otherwise discovery says once at INFO that RDMA NICs are not looked at.
#include <limits.h>
#include <stdlib.h>

#include <string>

#include "base/logging.hpp"
#include "topology/discover_parts.hpp"

#ifdef COLOSSUS_TOPO_IBVERBS
#include <infiniband/verbs.h>
#endif

namespace colossus::topology::detail {

PciAddr pci_of_sysfs_device(const std::string& device_link) {
  char real[PATH_MAX];
  if (!realpath(device_link.c_str(), real)) return 0;
  const std::string path(real);
  const std::string last = path.substr(path.rfind('/') + 1);
  PciAddr a = 0;
  return parse_pci(last, &a) ? a : 0;
}

#ifdef COLOSSUS_TOPO_IBVERBS

namespace {

// Gb/s per lane of ibv_port_attr::active_speed (IBTA encoding: SDR 2.5,
// DDR 5, QDR 10, FDR10 10.3125, FDR 14.0625, EDR 25.78125, HDR 50, NDR 100;
// data rates after 64b/66b rounded to what vendors quote: 25/50/100).
double lane_gbits(unsigned speed) {
  switch (speed) {
    case 1: return 2.5;
    case 2: return 5;
    case 4:
    case 8: return 10;
    case 16: return 14;
    case 32: return 25;
    case 64: return 50;
    case 128: return 100;
    case 256: return 200;  // XDR (active_speed_ex in newer rdma-core)
  }
  return 0;
}

int lanes(unsigned width) {
  switch (width) {
    case 1: return 1;
    case 2: return 4;
    case 4: return 8;
    case 8: return 12;
    case 16: return 2;
  }
  return 0;
}

}  // namespace

void discover_ibverbs(Topology& t) {
  int n = 0;
  ibv_device** list = ibv_get_device_list(&n);
  if (!list || n == 0) {
    CLOG_SUB(Info, Graph) << "topology: libibverbs: no RDMA devices";
    if (list) ibv_free_device_list(list);
    return;
  }
  for (int i = 0; i < n; ++i) {
    const std::string name = ibv_get_device_name(list[i]);
    const PciAddr pci = pci_of_sysfs_device("/sys/class/infiniband/" + name + "/device");
    ibv_context* ctx = ibv_open_device(list[i]);
    if (!ctx) continue;
    ibv_device_attr dev{};
    ibv_port_attr port{};
    // Port 1: every NIC colossus targets exposes one port per PCI function.
    if (ibv_query_device(ctx, &dev) == 0 && dev.phys_port_cnt >= 1 &&
        ibv_query_port(ctx, 1, &port) == 0) {
      Nic* nic = nullptr;
      for (Nic& c : t.nics)
        if ((pci != 0 && c.pci == pci) || t.str(c.name) == name) nic = &c;
      if (!nic) {  // hwloc missed it (filtered or virtual function): add it
        Nic c;
        c.host = 0;
        c.numa = t.numas.empty() ? kNone : 0;
        c.pci = pci;
        t.nics.push_back(c);
        nic = &t.nics.back();
      }
      nic->name = t.intern(name);
      nic->rdma = true;
      nic->up = port.state == IBV_PORT_ACTIVE;
      nic->layer =
          port.link_layer == IBV_LINK_LAYER_ETHERNET ? LinkLayer::Ethernet : LinkLayer::InfiniBand;
#ifdef COLOSSUS_IBV_SPEED_EX
      const unsigned speed = port.active_speed_ex ? port.active_speed_ex : port.active_speed;
#else
      const unsigned speed = port.active_speed;
#endif
      const double gbits = lane_gbits(speed) * lanes(port.active_width);
      if (gbits > 0) nic->gbits = gbits;
    }
    ibv_close_device(ctx);
  }
  ibv_free_device_list(list);
}

#else

void discover_ibverbs(Topology&) {
  CLOG_SUB(Info, Graph)
      << "topology: built without libibverbs: RDMA NIC speed and state not discovered";
}

#endif

}  // namespace colossus::topology::detail
