// hwloc: the host, its NUMA domains and the PCI tree down to GPUs and NICs.
#include <hwloc.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>

#include "base/logging.hpp"
#include "topology/discover_parts.hpp"

namespace colossus::topology::detail {

namespace {

bool is_pci_bridge(hwloc_obj_t o) {
  return o && o->type == HWLOC_OBJ_BRIDGE && o->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_PCI;
}
bool is_host_bridge(hwloc_obj_t o) {
  return o && o->type == HWLOC_OBJ_BRIDGE && o->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_HOST;
}

PciAddr addr_of(const hwloc_obj_attr_u::hwloc_pcidev_attr_s& p) {
  return static_cast<PciAddr>((p.domain & 0xffff) << 16 | p.bus << 8 | (p.dev & 0x1f) << 3 |
                              (p.func & 7));
}

std::string read_line(const char* path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

class Walker {
 public:
  Walker(Topology& t, hwloc_topology_t topo) : t_(t), topo_(topo) {
    int n = 0;
    for (hwloc_obj_t b = hwloc_get_next_bridge(topo, nullptr); b;
         b = hwloc_get_next_bridge(topo, b))
      if (is_host_bridge(b)) roots_[b] = n++;
  }

  Id numa_of(hwloc_obj_t o) const {
    hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(topo_, o);
    if (!anc || !anc->nodeset) return t_.numas.empty() ? kNone : 0;
    const int os = hwloc_bitmap_first(anc->nodeset);
    for (std::size_t i = 0; i < t_.numas.size(); ++i)
      if (t_.numas[i].os_index == os) return static_cast<Id>(i);
    return t_.numas.empty() ? kNone : 0;
  }

  int root_of(hwloc_obj_t o) const {
    for (hwloc_obj_t p = o->parent; p; p = p->parent)
      if (is_host_bridge(p)) return roots_.at(p);
    return -1;
  }

  // Lowest PCIe switch above `dev`. Walking up: the first PCI bridge is a
  // switch's downstream port (or a root port, then there is no switch); its
  // parent bridge is that switch's upstream port, which names the switch.
  Id switch_above(hwloc_obj_t dev) {
    std::vector<hwloc_obj_t> chain;  // upstream ports, lowest first
    for (hwloc_obj_t x = dev->parent; is_pci_bridge(x);) {
      hwloc_obj_t p = x->parent;
      if (!is_pci_bridge(p)) break;  // x is a root port
      chain.push_back(p);
      x = p->parent;
    }
    Id parent = kNone;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      auto found = switches_.find(*it);
      if (found == switches_.end()) {
        PciSwitch s;
        s.host = 0;
        s.parent = parent;
        s.numa = numa_of(*it);
        s.root = root_of(*it);
        s.pci = addr_of((*it)->attr->bridge.upstream.pci);
        s.gbps = (*it)->attr->bridge.upstream.pci.linkspeed;
        t_.pci_switches.push_back(s);
        found = switches_.emplace(*it, static_cast<Id>(t_.pci_switches.size() - 1)).first;
      }
      parent = found->second;
    }
    return parent;
  }

 private:
  Topology& t_;
  hwloc_topology_t topo_;
  std::map<hwloc_obj_t, int> roots_;
  std::map<hwloc_obj_t, Id> switches_;
};

}  // namespace
extern hwloc_topology_t hwloc_plugin_anchor;
namespace {

// hwloc loads its plugins (hwloc_pci and the libpciaccess under it) when the
// first topology is initialized and unloads them when the last one is
// destroyed; what they allocated is then unreachable, a leak under
// LeakSanitizer on every communicator's discovery. One topology that is
// never destroyed keeps them loaded for the life of the process.
void keep_plugins_loaded() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (hwloc_topology_init(&hwloc_plugin_anchor) != 0) hwloc_plugin_anchor = nullptr;
  });
}

}  // namespace

// Not static: a store to an internal variable nobody reads may be dropped,
// and LeakSanitizer must find the anchor through it.
hwloc_topology_t hwloc_plugin_anchor = nullptr;

void discover_hwloc(Topology& t) {
  keep_plugins_loaded();
  Host host;
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  host.hostname = name;
  host.boot_id = read_line("/proc/sys/kernel/random/boot_id");
  t.hosts.push_back(host);
  hwloc_topology_t topo = nullptr;
  if (hwloc_topology_init(&topo) != 0) {
    CLOG_SUB(Info, Graph) << "topology: hwloc init failed: host without CPU details";
    return;
  }
  // GPUs, NICs and the bridges above them; other devices are not needed.
  hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  if (hwloc_topology_load(topo) != 0) {
    CLOG_SUB(Info, Graph) << "topology: hwloc load failed: host without CPU details";
    hwloc_topology_destroy(topo);
    return;
  }
  Host& h = t.hosts[0];
  h.cores = std::max(0, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE));
  h.pus = std::max(0, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU));
  h.memory_bytes = hwloc_get_root_obj(topo)->total_memory;
  if (hwloc_obj_t pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0))
    if (const char* model = hwloc_obj_get_info_by_name(pkg, "CPUModel"))
      h.cpu_model = t.intern(model);
  const int nnuma = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
  for (int i = 0; i < nnuma; ++i) {
    hwloc_obj_t n = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, i);
    Numa numa;
    numa.host = 0;
    numa.os_index = static_cast<int>(n->os_index);
    numa.cores =
        std::max(0, hwloc_get_nbobjs_inside_cpuset_by_type(topo, n->cpuset, HWLOC_OBJ_CORE));
    numa.memory_bytes = n->attr->numanode.local_memory;
    t.numas.push_back(numa);
  }
  if (t.numas.empty())
    t.numas.push_back({0, 0, h.cores, h.memory_bytes});  // hwloc always has one; be safe
  Walker walk(t, topo);
  // Two passes so GPUs and NICs each come out in PCI order (CUDA/NVML order).
  for (int pass = 0; pass < 2; ++pass) {
    for (hwloc_obj_t o = hwloc_get_next_pcidev(topo, nullptr); o;
         o = hwloc_get_next_pcidev(topo, o)) {
      const auto& p = o->attr->pcidev;
      const bool gpu = p.vendor_id == 0x10de && (p.class_id >> 8) == 0x03;
      const bool nic = (p.class_id >> 8) == 0x02;
      if ((pass == 0 && !gpu) || (pass == 1 && !nic)) continue;
      const Id sw = walk.switch_above(o);
      if (gpu) {
        Gpu g;
        g.host = 0;
        g.numa = walk.numa_of(o);
        g.pci_switch = sw;
        g.root = walk.root_of(o);
        g.pci = addr_of(p);
        g.local = static_cast<int>(t.gpus.size());
        g.pcie_gbps = p.linkspeed;
        if (const char* m = hwloc_obj_get_info_by_name(o, "PCIDevice")) g.model = t.intern(m);
        t.gpus.push_back(g);
        continue;
      }
      Nic c;
      c.host = 0;
      c.numa = walk.numa_of(o);
      c.pci_switch = sw;
      c.root = walk.root_of(o);
      c.pci = addr_of(p);
      for (hwloc_obj_t d = o->io_first_child; d; d = d->next_sibling) {
        if (d->type != HWLOC_OBJ_OS_DEVICE || !d->name) continue;
        if (d->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK) c.netdev = t.intern(d->name);
        if (d->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS)
          c.name = t.intern(d->name), c.rdma = true;
      }
      if (c.name == kNone) c.name = c.netdev;
      if (c.name == kNone) c.name = t.intern(pci_to_string(c.pci));
      if ((p.class_id & 0xff) == 0x07) c.layer = LinkLayer::InfiniBand;
      t.nics.push_back(c);
    }
  }
  hwloc_topology_destroy(topo);
}

}  // namespace colossus::topology::detail
