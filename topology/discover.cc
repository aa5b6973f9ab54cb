// Discovery orchestration, COLOSSUS_TOPO_FILE / _DUMP_FILE, and the
// serialize/merge pair that builds the global view from per-host views.
#include "topology/discover.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "base/config.hpp"
#include "base/logging.hpp"
#include "colossus/error.hpp"
#include "topology/discover_parts.hpp"
#include "topology/xml.hpp"

namespace colossus::topology {

namespace {

// Copies host `h` of `src` and everything of it into `dst` as a new host.
// NVLink domains get fresh numbers; rack-level NVSwitches (host = none) and
// the network are not per-host and are left out.
void append_host(Topology& dst, const Topology& src, Id h) {
  const Host& sh = src.hosts[h];
  const Id H = static_cast<Id>(dst.hosts.size());
  auto str = [&](Id s) { return s == kNone ? kNone : dst.intern(src.str(s)); };
  Host host = sh;
  host.cpu_model = str(sh.cpu_model);
  dst.hosts.push_back(host);
  const Id numa0 = static_cast<Id>(dst.numas.size()),
           sw0 = static_cast<Id>(dst.pci_switches.size());
  const Id gpu0 = static_cast<Id>(dst.gpus.size()), nic0 = static_cast<Id>(dst.nics.size());
  auto numa = [&](Id i) { return i == kNone ? kNone : numa0 + (i - sh.first_numa); };
  auto sw = [&](Id i) { return i == kNone ? kNone : sw0 + (i - sh.first_pci_switch); };
  Id next_domain = 0;
  for (const Gpu& g : dst.gpus) next_domain = std::max(next_domain, g.nvdomain + 1);
  for (const NvSwitch& s : dst.nvswitches) next_domain = std::max(next_domain, s.nvdomain + 1);
  std::map<Id, Id> domains;
  auto domain = [&](Id d) {
    return d == kNone
               ? kNone
               : domains.emplace(d, next_domain + static_cast<Id>(domains.size())).first->second;
  };
  for (Id i = sh.first_numa; i < sh.first_numa + sh.num_numa; ++i)
    dst.numas.push_back({H, src.numas[i].os_index, src.numas[i].cores, src.numas[i].memory_bytes});
  for (Id i = sh.first_pci_switch; i < sh.first_pci_switch + sh.num_pci_switch; ++i) {
    PciSwitch s = src.pci_switches[i];
    s.host = H, s.parent = sw(s.parent), s.numa = numa(s.numa);
    dst.pci_switches.push_back(s);
  }
  for (Id i = sh.first_gpu; i < sh.first_gpu + sh.num_gpu; ++i) {
    Gpu g = src.gpus[i];
    g.host = H, g.numa = numa(g.numa), g.pci_switch = sw(g.pci_switch), g.model = str(g.model);
    g.nvdomain = domain(g.nvdomain);
    dst.gpus.push_back(g);
  }
  for (Id i = sh.first_nic; i < sh.first_nic + sh.num_nic; ++i) {
    Nic c = src.nics[i];
    c.host = H, c.numa = numa(c.numa), c.pci_switch = sw(c.pci_switch);
    c.name = str(c.name), c.netdev = str(c.netdev);
    dst.nics.push_back(c);
  }
  std::map<Id, Id> nvsw;
  for (std::size_t i = 0; i < src.nvswitches.size(); ++i)
    if (src.nvswitches[i].host == h) {
      nvsw[static_cast<Id>(i)] = static_cast<Id>(dst.nvswitches.size());
      dst.nvswitches.push_back({H, domain(src.nvswitches[i].nvdomain)});
    }
  // A link is copied when both ends are this host's; returns false otherwise.
  auto remap = [&](Ref& r) {
    auto in = [&](Id first, Id num) { return r.index >= first && r.index < first + num; };
    switch (r.kind) {
      case Kind::Host: return r.index == h ? (r.index = H, true) : false;
      case Kind::Numa:
        return in(sh.first_numa, sh.num_numa) ? (r.index = numa(r.index), true) : false;
      case Kind::PciSwitch:
        return in(sh.first_pci_switch, sh.num_pci_switch) ? (r.index = sw(r.index), true) : false;
      case Kind::Gpu:
        return in(sh.first_gpu, sh.num_gpu) ? (r.index = gpu0 + (r.index - sh.first_gpu), true)
                                            : false;
      case Kind::Nic:
        return in(sh.first_nic, sh.num_nic) ? (r.index = nic0 + (r.index - sh.first_nic), true)
                                            : false;
      case Kind::NvSwitch: {
        auto it = nvsw.find(r.index);
        return it != nvsw.end() ? (r.index = it->second, true) : false;
      }
      case Kind::NetSwitch: return false;
    }
    return false;
  };
  for (const Link& l : src.links) {
    Link c = l;
    if (remap(c.a) && remap(c.b)) dst.links.push_back(c);
  }
}

std::string expand(const std::string& pattern) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size()) {
      const char c = pattern[++i];
      out += c == 'h' ? std::string(host) : c == 'p' ? std::to_string(getpid()) : std::string(1, c);
    } else {
      out += pattern[i];
    }
  }
  return out;
}

}  // namespace

Topology discover_host() {
  Topology t;
  t.source = "discovered";
  try {
    detail::discover_hwloc(t);
    detail::discover_ibverbs(t);
    detail::discover_sysfs(t);
    detail::discover_ucx(t);
    detail::discover_nvml(t);
    t.finish();
  } catch (const std::exception& e) {
    // A source broke the model's rules (a bug): keep what hwloc said about the host.
    CLOG(Warn) << "topology: discovery failed (" << e.what() << "); using the host alone";
    Topology bare;
    bare.source = "discovered";
    bare.hosts.push_back(t.hosts.empty() ? Host{} : t.hosts[0]);
    bare.hosts[0].cpu_model = kNone;
    bare.finish();
    return bare;
  }
  return t;
}

namespace {

// The host's view from COLOSSUS_TOPO_FILE (or NCCL_TOPO_FILE).
Topology view_from_file(const base::Config& cfg) {
  Topology f = load_xml(cfg.topo_file);
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  if (f.hosts.size() == 1) {
    // A one-host file describes this host's hardware, whichever host loads
    // it: it takes this host's identity, so that ranks on several hosts
    // sharing one file stay several hosts in the merged view.
    f.hosts[0].hostname = name;
    std::ifstream("/proc/sys/kernel/random/boot_id") >> f.hosts[0].boot_id;
    return f;
  }
  Id found = kNone;
  for (std::size_t h = 0; h < f.hosts.size() && found == kNone; ++h)
    if (f.hosts[h].hostname == name) found = static_cast<Id>(h);
  if (found == kNone)
    throw Error(ErrorCode::InvalidArgument, cfg.topo_file_var + "=" + cfg.topo_file + " has " +
                                                std::to_string(f.hosts.size()) +
                                                " hosts, none named " + name);
  Topology t;
  append_host(t, f, found);
  t.finish();
  t.source = f.source;
  return t;
}

}  // namespace

Topology local_view() {
  const base::Config& cfg = base::env_config();
  Topology t;
  bool loaded = false;
  if (!cfg.topo_file.empty()) {
    try {
      t = view_from_file(cfg);
      loaded = true;
      CLOG_SUB(Info, Graph) << "topology: loaded " << cfg.topo_file << " instead of discovering";
    } catch (const std::exception& e) {
      // NCCL_TOPO_FILE is often NCCL's own XML, set for every job of a machine.
      if (cfg.topo_file_var == "COLOSSUS_TOPO_FILE") throw;
      CLOG(Warn) << cfg.topo_file_var << "=" << cfg.topo_file << " ignored: " << e.what()
                 << " (colossus reads its own topology XML); discovering";
    }
  }
  if (!loaded) t = discover_host();
  if (!cfg.topo_dump_file.empty()) {
    const std::string path = expand(cfg.topo_dump_file);
    try {
      save_xml(t, path);
      CLOG_SUB(Info, Graph) << "topology: wrote " << path;
    } catch (const std::exception& e) {
      CLOG(Warn) << "topology dump to " << path << ": " << e.what();
    }
  }
  return t;
}

std::string serialize_host(const Topology& one_host) {
  if (one_host.hosts.size() != 1)
    throw Error(ErrorCode::InvalidArgument,
                "serialize_host: expected one host, got " + std::to_string(one_host.hosts.size()));
  Topology only;
  append_host(only, one_host, 0);
  only.finish();
  return to_xml(only);
}

Topology merge_hosts(const std::vector<std::string>& views, std::vector<int>* host_of_view) {
  Topology t;
  t.source = "merged";
  std::map<std::pair<std::string, std::string>, int> seen;
  if (host_of_view) host_of_view->assign(views.size(), -1);
  for (std::size_t i = 0; i < views.size(); ++i) {
    const Topology v = from_xml(views[i], "host view " + std::to_string(i));
    if (v.hosts.size() != 1)
      throw Error(ErrorCode::InvalidArgument, "merge_hosts: view " + std::to_string(i) + " holds " +
                                                  std::to_string(v.hosts.size()) +
                                                  " hosts, expected 1");
    const auto key = std::make_pair(v.hosts[0].hostname, v.hosts[0].boot_id);
    auto it = seen.find(key);
    if (it == seen.end()) {
      it = seen.emplace(key, static_cast<int>(t.hosts.size())).first;
      append_host(t, v, 0);
    }
    if (host_of_view) (*host_of_view)[i] = it->second;
  }
  t.finish();
  return t;
}

}  // namespace colossus::topology
