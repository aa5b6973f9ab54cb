#include "colossus-topo/print.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace colossus::topo_tool {

using namespace topology;

namespace {

constexpr std::size_t kHostsInFull = 4;  // more than this: hosts of one shape print once
constexpr int kRanksInFull = 32;

double gib(std::uint64_t b) { return static_cast<double>(b) / (1ull << 30); }

std::string speed(double gbits) {
  if (gbits <= 0) return "speed unknown";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g Gb/s", gbits);
  return buf;
}

// PCIe distance of two devices of one host, nvidia-smi's names.
Affinity pci_distance(const Topology& t, Id sw_a, int root_a, Id numa_a, Id sw_b, int root_b,
                      Id numa_b) {
  for (Id a = sw_a; a != kNone; a = t.pci_switches[a].parent)
    for (Id b = sw_b; b != kNone; b = t.pci_switches[b].parent)
      if (a == b) return Affinity::SamePciSwitch;
  if (root_a >= 0 && root_a == root_b) return Affinity::SameRoot;
  return numa_a == numa_b || numa_a == kNone || numa_b == kNone ? Affinity::SameNuma
                                                                : Affinity::CrossSocket;
}

void gpu_line(std::FILE* out, const Topology& t, Id i, int indent) {
  const Gpu& g = t.gpus[i];
  std::fprintf(out, "%*sGPU%d %s %s  PCIe %g GB/s", indent, "", g.local,
               g.model == kNone ? "(unknown model)" : t.str(g.model).c_str(),
               pci_to_string(g.pci).c_str(), g.pcie_gbps);
  if (g.nvlinks > 0)
    std::fprintf(
        out, ", NVLink %d links %g GB/s%s", g.nvlinks, g.nvlink_gbps,
        g.nvdomain != kNone ? (" (domain " + std::to_string(g.nvdomain) + ")").c_str() : "");
  if (g.rail >= 0) std::fprintf(out, ", rail %d", g.rail);
  std::fputc('\n', out);
}

void nic_line(std::FILE* out, const Topology& t, Id i, int indent) {
  const Nic& c = t.nics[i];
  std::fprintf(out, "%*sNIC %s", indent, "", t.str(c.name).c_str());
  if (c.netdev != kNone && c.netdev != c.name) std::fprintf(out, " (%s)", t.str(c.netdev).c_str());
  std::fprintf(out, " %s  %s, %s%s, %s", pci_to_string(c.pci).c_str(), speed(c.gbits).c_str(),
               c.layer == LinkLayer::InfiniBand ? "InfiniBand"
               : c.layer == LinkLayer::Ethernet ? "Ethernet"
                                                : "link layer unknown",
               c.rdma ? " RDMA" : "", c.up ? "up" : "down");
  if (c.rail >= 0) std::fprintf(out, ", rail %d", c.rail);
  std::fputc('\n', out);
}

void pci_subtree(std::FILE* out, const Topology& t, const Host& h, Id sw, Id numa, int indent) {
  for (Id s = h.first_pci_switch; s < h.first_pci_switch + h.num_pci_switch; ++s) {
    const PciSwitch& p = t.pci_switches[s];
    if (p.parent != sw || (sw == kNone && p.numa != numa)) continue;
    std::fprintf(out, "%*sPCIe switch %d%s%s  %g GB/s up\n", indent, "", s - h.first_pci_switch,
                 p.pci ? " " : "", p.pci ? pci_to_string(p.pci).c_str() : "", p.gbps);
    pci_subtree(out, t, h, s, numa, indent + 2);
  }
  for (Id g = h.first_gpu; g < h.first_gpu + h.num_gpu; ++g)
    if (t.gpus[g].pci_switch == sw && (sw != kNone || t.gpus[g].numa == numa))
      gpu_line(out, t, g, indent);
  for (Id n = h.first_nic; n < h.first_nic + h.num_nic; ++n)
    if (t.nics[n].pci_switch == sw && (sw != kNone || t.nics[n].numa == numa))
      nic_line(out, t, n, indent);
}

void host_tree(std::FILE* out, const Topology& t, Id hi) {
  const Host& h = t.hosts[hi];
  std::fprintf(
      out, "Host %d %s%s%s: %d cores, %d PUs, %d NUMA, %.1f GiB%s%s; host memory path %g GB/s\n",
      hi, h.hostname.c_str(), h.boot_id.empty() ? "" : " boot ", h.boot_id.substr(0, 8).c_str(),
      h.cores, h.pus, h.num_numa, gib(h.memory_bytes), h.cpu_model == kNone ? "" : ", ",
      t.str(h.cpu_model).c_str(), h.mem_gbps);
  for (Id n = h.first_numa; n < h.first_numa + h.num_numa; ++n) {
    std::fprintf(out, "  NUMA %d: %d cores, %.1f GiB\n", t.numas[n].os_index, t.numas[n].cores,
                 gib(t.numas[n].memory_bytes));
    pci_subtree(out, t, h, kNone, n, 4);
  }
  if (h.num_numa == 0) pci_subtree(out, t, h, kNone, kNone, 2);
}

// nvidia-smi topo -m: X self, NV# NVLink (# links), PIX/PHB/NODE/SYS PCIe distance.
void matrix(std::FILE* out, const Topology& t, Id hi) {
  const Host& h = t.hosts[hi];
  if (h.num_gpu == 0) return;
  struct Dev {
    std::string label;
    Id sw;
    int root;
    Id numa;
    Id gpu;
  };
  std::vector<Dev> devs;
  for (Id g = h.first_gpu; g < h.first_gpu + h.num_gpu; ++g)
    devs.push_back({"GPU" + std::to_string(t.gpus[g].local), t.gpus[g].pci_switch, t.gpus[g].root,
                    t.gpus[g].numa, g});
  for (Id n = h.first_nic; n < h.first_nic + h.num_nic; ++n)
    devs.push_back({"NIC" + std::to_string(n - h.first_nic), t.nics[n].pci_switch, t.nics[n].root,
                    t.nics[n].numa, kNone});
  std::map<std::pair<Id, Id>, int> direct;  // GPU-GPU NVLink counts
  for (const Link& l : t.links)
    if (l.type == LinkType::NvLink && l.a.kind == Kind::Gpu && l.b.kind == Kind::Gpu)
      direct[{std::min(l.a.index, l.b.index), std::max(l.a.index, l.b.index)}] += l.count;
  const std::string title = "Matrix (host " + std::to_string(hi) + ")";
  std::fprintf(out, "  %-16s", title.c_str());
  for (const Dev& d : devs) std::fprintf(out, "%-6s", d.label.c_str());
  std::fprintf(out, "NUMA\n");
  for (const Dev& r : devs) {
    std::fprintf(out, "  %-16s", r.label.c_str());
    for (const Dev& c : devs) {
      std::string cell;
      if (&r == &c)
        cell = "X";
      else if (r.gpu != kNone && c.gpu != kNone && t.gpus[r.gpu].nvdomain != kNone &&
               t.gpus[r.gpu].nvdomain == t.gpus[c.gpu].nvdomain)
        cell = "NV" + std::to_string(std::min(t.gpus[r.gpu].nvlinks, t.gpus[c.gpu].nvlinks));
      else if (r.gpu != kNone && c.gpu != kNone &&
               direct.count({std::min(r.gpu, c.gpu), std::max(r.gpu, c.gpu)}))
        cell = "NV" + std::to_string(direct[{std::min(r.gpu, c.gpu), std::max(r.gpu, c.gpu)}]);
      else
        cell = to_string(pci_distance(t, r.sw, r.root, r.numa, c.sw, c.root, c.numa));
      std::fprintf(out, "%-6s", cell.c_str());
    }
    std::fprintf(out, "%d\n", r.numa == kNone ? -1 : t.numas[r.numa].os_index);
  }
  std::fprintf(
      out,
      "  Legend: X self, NV# NVLink (# links), PIX same PCIe switch, PHB same host bridge,\n"
      "          NODE same NUMA domain, SYS across sockets\n");
}

bool same_shape(const Host& a, const Host& b) {
  return a.cores == b.cores && a.pus == b.pus && a.num_numa == b.num_numa &&
         a.num_gpu == b.num_gpu && a.num_nic == b.num_nic && a.num_pci_switch == b.num_pci_switch &&
         a.memory_bytes == b.memory_bytes && a.cpu_model == b.cpu_model;
}

void network(std::FILE* out, const Topology& t) {
  if (t.switches.empty()) {
    if (t.hosts.size() > 1)
      std::fprintf(out, "Network: no switch data (hosts assumed on one switch)\n");
    return;
  }
  const std::size_t n = t.switches.size();
  std::vector<int> down(n, 0), up(n, 0);
  for (const Link& l : t.links) {
    if (l.type != LinkType::Network) continue;
    if (l.a.kind == Kind::NetSwitch && l.b.kind == Kind::NetSwitch) {
      const bool a_low = t.switches[l.a.index].tier < t.switches[l.b.index].tier;
      up[a_low ? l.a.index : l.b.index] += l.count;
      down[a_low ? l.b.index : l.a.index] += l.count;
    } else {
      down[l.a.kind == Kind::NetSwitch ? l.a.index : l.b.index] += l.count;
    }
  }
  std::fprintf(out, "Network: %d tier%s, %zu switches\n", t.tiers(), t.tiers() == 1 ? "" : "s", n);
  static const char* const names[] = {"", "leaf", "spine", "core"};
  for (int tier = 1; tier <= t.tiers(); ++tier) {
    int count = 0, dmin = 1 << 30, dmax = 0, umin = 1 << 30, umax = 0, ports = 0, rails = 0;
    double gbits = 0;
    for (std::size_t s = 0; s < n; ++s) {
      if (t.switches[s].tier != tier) continue;
      ++count;
      dmin = std::min(dmin, down[s]), dmax = std::max(dmax, down[s]);
      umin = std::min(umin, up[s]), umax = std::max(umax, up[s]);
      ports = t.switches[s].ports, gbits = t.switches[s].port_gbits;
      rails = std::max(rails, t.switches[s].rail + 1);
    }
    std::fprintf(
        out, "  tier %d (%s): %d switches of %d x %g Gb/s ports; down %d..%d, up %d..%d ports used",
        tier, tier <= 3 ? names[tier] : "upper", count, ports, gbits, dmin, dmax, umin, umax);
    if (tier == 1 && rails > 1) std::fprintf(out, "; one rail each (%d rails)", rails);
    std::fputc('\n', out);
  }
}

}  // namespace

void print_topology(std::FILE* out, const Topology& t) {
  std::fprintf(
      out, "Topology: %s: %zu host%s, %zu GPUs, %zu NICs, %zu NVSwitches, %zu network switches\n",
      t.source.c_str(), t.hosts.size(), t.hosts.size() == 1 ? "" : "s", t.gpus.size(),
      t.nics.size(), t.nvswitches.size(), t.switches.size());
  const std::size_t full = t.hosts.size() <= kHostsInFull ? t.hosts.size() : 1;
  for (std::size_t h = 0; h < full; ++h) {
    host_tree(out, t, static_cast<Id>(h));
    // Hosts of one shape have one matrix: print it for the first only.
    if (h == 0 || !same_shape(t.hosts[h], t.hosts[0])) matrix(out, t, static_cast<Id>(h));
  }
  if (full < t.hosts.size()) {
    std::size_t same = 0;
    for (const Host& h : t.hosts) same += same_shape(h, t.hosts[0]);
    std::fprintf(out, "Hosts 1..%zu (%s .. %s): %zu of the same shape as host 0",
                 t.hosts.size() - 1, t.hosts[1].hostname.c_str(), t.hosts.back().hostname.c_str(),
                 same - 1);
    std::fprintf(out,
                 same == t.hosts.size() ? "\n" : ", %zu different (--file a dump to see them)\n",
                 t.hosts.size() - same);
  }
  int rails = 0;
  for (const Gpu& g : t.gpus) rails = std::max(rails, g.rail + 1);
  if (rails > 0)
    std::fprintf(out,
                 "Rails: %d; rail r = GPU r and NIC r of every host, on rail r's leaf switches\n",
                 rails);
  std::map<Id, int> domains;
  for (const Gpu& g : t.gpus)
    if (g.nvdomain != kNone) ++domains[g.nvdomain];
  if (!domains.empty()) {
    std::map<int, int> sizes;  // GPUs per domain -> how many domains
    for (const auto& [d, n] : domains) ++sizes[n];
    std::fprintf(out, "NVLink domains:");
    for (const auto& [size, count] : sizes) std::fprintf(out, " %d x %d GPUs", count, size);
    std::fprintf(out, " (%zu NVSwitches)\n", t.nvswitches.size());
  }
  network(out, t);
}

void print_ranks(std::FILE* out, const PathModel& paths) {
  const RankMap& m = paths.map();
  const Topology& t = paths.topology();
  std::fprintf(out, "Ranks: %s\n", m.describe().c_str());
  std::fprintf(out, "  %-6s %-6s %-16s %-5s %-5s %-10s %-14s %s\n", "rank", "host", "hostname",
               "GPU", "rail", "NIC", "NIC speed", "NIC shared by");
  const int n = m.nranks();
  for (int r = 0; r < n; ++r) {
    if (n > kRanksInFull && r == kRanksInFull / 2) {
      std::fprintf(out, "  ... %d more ranks ...\n", n - kRanksInFull);
      r = n - kRanksInFull / 2;
    }
    const RankPlace& p = m.ranks[r];
    std::fprintf(out, "  %-6d %-6d %-16s %-5s %-5s %-10s %-14s %d\n", r, p.host,
                 t.hosts[p.host].hostname.c_str(),
                 p.gpu == kNone ? "-" : std::to_string(t.gpus[p.gpu].local).c_str(),
                 p.rail < 0 ? "-" : std::to_string(p.rail).c_str(),
                 p.nic == kNone ? "-" : t.str(t.nics[p.nic].name).c_str(),
                 p.nic == kNone ? "-" : speed(t.nics[p.nic].gbits).c_str(), p.nic_shared_by);
  }
  auto show = [&](const char* what, const PathCost& c) {
    std::fprintf(out, "  %-34s %8.2f GB/s per direction, %5.2f us, via %s", what, c.gbytes_per_s,
                 c.latency_us, c.via);
    if (c.shared_by > 1) std::fprintf(out, ", shared by %d ranks", c.shared_by);
    std::fputc('\n', out);
  };
  std::fprintf(out, "Paths (cost-model facts):\n");
  if (n > 1 && m.ranks[1].host == m.ranks[0].host)
    show("intra-node rank 0 <-> rank 1:", paths.intra_node(0, 1));
  show("inter-node rank 0:", paths.inter_node(0));
  // Peers: the first rank of the next host, of the middle host and the last rank.
  int last_host = 0;
  for (const RankPlace& p : m.ranks) last_host = std::max(last_host, p.host);
  std::vector<int> peers;
  for (int target : {m.ranks[0].host + 1, last_host / 2, last_host}) {
    for (int r = 0; r < n; ++r) {
      if (m.ranks[r].host != target || target == m.ranks[0].host) continue;
      if (std::find(peers.begin(), peers.end(), r) == peers.end())
        peers.push_back(target == last_host ? n - 1 : r);
      break;
    }
  }
  for (int other : peers) {
    const int tiers = paths.switch_tiers(0, other);
    std::fprintf(
        out, "  rank 0 -> rank %-6d (host %-5d)      %d switch tier%s crossed, %.2f us one way\n",
        other, m.ranks[other].host, tiers, tiers == 1 ? "" : "s",
        paths.network_latency_us(0, other));
  }
}

}  // namespace colossus::topo_tool
