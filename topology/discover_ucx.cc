// UCX: the network devices UCX can use (through UCT, UCX's transport
// layer), their transports and bandwidth. They mark RDMA NICs (rc, dc and
// ud are verbs transports) and fill the RDMA rates libibverbs left at 0.
//
// Built only with COLOSSUS_TOPO_UCX (libucx-dev found at configure time).
#include <string>

#include "base/logging.hpp"
#include "topology/discover.hpp"
#include "topology/discover_parts.hpp"

#ifdef COLOSSUS_TOPO_UCX
#include <ucs/async/async_fwd.h>
#include <uct/api/uct.h>
#endif

namespace colossus::topology {

#ifdef COLOSSUS_TOPO_UCX

namespace {

bool is_verbs(const std::string& tl) {
  return tl.rfind("rc", 0) == 0 || tl.rfind("dc", 0) == 0 || tl.rfind("ud", 0) == 0;
}

// UCX's bandwidth estimate of one transport on one device, bytes/s; 0 when
// the interface cannot be opened here.
double bandwidth(uct_md_h md, uct_worker_h worker, const uct_tl_resource_desc_t& tl) {
  uct_iface_config_t* config = nullptr;
  if (uct_md_iface_config_read(md, tl.tl_name, nullptr, nullptr, &config) != UCS_OK) return 0;
  uct_iface_params_t params{};
  params.field_mask = UCT_IFACE_PARAM_FIELD_OPEN_MODE | UCT_IFACE_PARAM_FIELD_DEVICE;
  params.open_mode = UCT_IFACE_OPEN_MODE_DEVICE;
  params.mode.device.tl_name = tl.tl_name;
  params.mode.device.dev_name = tl.dev_name;
  uct_iface_h iface = nullptr;
  double bw = 0;
  if (uct_iface_open(md, worker, &params, config, &iface) == UCS_OK) {
    uct_iface_attr_t attr{};
    if (uct_iface_query(iface, &attr) == UCS_OK)
      bw = attr.bandwidth.dedicated + attr.bandwidth.shared;
    uct_iface_close(iface);
  }
  uct_config_release(config);
  return bw;
}

void devices_of(uct_component_h comp, uct_worker_h worker, std::vector<UcxDevice>* out) {
  uct_component_attr_t attr{};
  attr.field_mask = UCT_COMPONENT_ATTR_FIELD_MD_RESOURCE_COUNT;
  if (uct_component_query(comp, &attr) != UCS_OK || attr.md_resource_count == 0) return;
  std::vector<uct_md_resource_desc_t> mds(attr.md_resource_count);
  attr.field_mask = UCT_COMPONENT_ATTR_FIELD_MD_RESOURCES;
  attr.md_resources = mds.data();
  if (uct_component_query(comp, &attr) != UCS_OK) return;
  for (const auto& m : mds) {
    uct_md_config_t* config = nullptr;
    if (uct_md_config_read(comp, nullptr, nullptr, &config) != UCS_OK) continue;
    uct_md_h md = nullptr;
    const ucs_status_t st = uct_md_open(comp, m.md_name, config, &md);
    uct_config_release(config);
    if (st != UCS_OK) continue;
    uct_tl_resource_desc_t* tls = nullptr;
    unsigned n = 0;
    if (uct_md_query_tl_resources(md, &tls, &n) == UCS_OK) {
      for (unsigned i = 0; i < n; ++i) {
        if (tls[i].dev_type != UCT_DEVICE_TYPE_NET) continue;
        UcxDevice d;
        d.name = tls[i].dev_name;
        d.transport = tls[i].tl_name;
        d.rdma = is_verbs(d.transport);
        d.bandwidth_Bps = bandwidth(md, worker, tls[i]);
        out->push_back(d);
      }
      uct_release_tl_resource_list(tls);
    }
    uct_md_close(md);
  }
}

std::vector<UcxDevice> query_devices() {
  std::vector<UcxDevice> out;
  ucs_async_context_t* async = nullptr;
  if (ucs_async_context_create(UCS_ASYNC_MODE_THREAD_SPINLOCK, &async) != UCS_OK) return out;
  uct_worker_h worker = nullptr;
  if (uct_worker_create(async, UCS_THREAD_MODE_SINGLE, &worker) == UCS_OK) {
    uct_component_h* comps = nullptr;
    unsigned n = 0;
    if (uct_query_components(&comps, &n) == UCS_OK) {
      for (unsigned i = 0; i < n; ++i) devices_of(comps[i], worker, &out);
      uct_release_component_list(comps);
    }
    uct_worker_destroy(worker);
  }
  ucs_async_context_destroy(async);
  return out;
}

}  // namespace

// Devices do not change while a process runs: asked once.
std::vector<UcxDevice> ucx_network_devices() {
  static const std::vector<UcxDevice> devices = query_devices();
  return devices;
}

#else

std::vector<UcxDevice> ucx_network_devices() { return {}; }

#endif

namespace detail {

void discover_ucx(Topology& t) {
#ifndef COLOSSUS_TOPO_UCX
  CLOG_SUB(Info, Graph) << "topology: built without UCX: UCX's devices not looked at";
#else
  for (const UcxDevice& d : ucx_network_devices()) {
    const std::string base = d.name.substr(0, d.name.find(':'));  // "mlx5_0:1" -> "mlx5_0"
    Nic* nic = nullptr;
    for (Nic& c : t.nics) {
      if (t.str(c.name) == base || (c.netdev != kNone && t.str(c.netdev) == base)) nic = &c;
    }
    if (!nic && d.rdma) {  // hwloc and libibverbs missed it: add it
      Nic c;
      c.host = 0;
      c.numa = t.numas.empty() ? kNone : 0;
      c.name = t.intern(base);
      t.nics.push_back(c);
      nic = &t.nics.back();
    }
    if (!nic) continue;
    if (d.rdma) nic->rdma = true;
    // UCX's figure for a verbs transport comes from the port's rate; for tcp
    // it is a guess (100 Mb/s where sysfs has no speed), so it is not used.
    if (d.rdma && nic->gbits == 0 && d.bandwidth_Bps > 0) nic->gbits = d.bandwidth_Bps * 8 / 1e9;
    CLOG_SUB(Trace, Graph) << "topology: UCX device " << d.name << " (" << d.transport << "), "
                           << d.bandwidth_Bps * 8 / 1e9 << " Gb/s";
  }
#endif
}

}  // namespace detail

}  // namespace colossus::topology
