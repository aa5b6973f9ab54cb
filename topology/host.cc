#include "topology/host.hpp"

#include <hwloc.h>
#include <unistd.h>

#include <cstdio>

namespace colossus::topology {

namespace {

int count(hwloc_topology_t topo, hwloc_obj_type_t type) {
  const int n = hwloc_get_nbobjs_by_type(topo, type);
  return n > 0 ? n : 0;
}

HostInfo discover() {
  HostInfo h;
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  h.hostname = name;
  hwloc_topology_t topo = nullptr;
  if (hwloc_topology_init(&topo) != 0) return h;
  if (hwloc_topology_load(topo) == 0) {
    h.cores = count(topo, HWLOC_OBJ_CORE);
    h.pus = count(topo, HWLOC_OBJ_PU);
    h.numa_nodes = count(topo, HWLOC_OBJ_NUMANODE);
    hwloc_obj_t root = hwloc_get_root_obj(topo);
    h.memory_bytes = root->total_memory;
    if (hwloc_obj_t pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0)) {
      if (const char* model = hwloc_obj_get_info_by_name(pkg, "CPUModel")) h.cpu_model = model;
    }
  }
  hwloc_topology_destroy(topo);
  return h;
}

}  // namespace

std::string HostInfo::summary() const {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s: %d cores, %d PUs, %d NUMA node%s, %.1f GiB%s%s",
                hostname.c_str(), cores, pus, numa_nodes, numa_nodes == 1 ? "" : "s",
                static_cast<double>(memory_bytes) / (1ull << 30), cpu_model.empty() ? "" : ", ",
                cpu_model.c_str());
  return buf;
}

const HostInfo& local_host() {
  static const HostInfo info = discover();
  return info;
}

}  // namespace colossus::topology
