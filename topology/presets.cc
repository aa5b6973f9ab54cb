// Preset systems. Each number says where it comes from; "assumed" marks a
// value no public source gives, chosen to be typical.
#include "topology/presets.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "colossus/error.hpp"

namespace colossus::topology {

namespace {

constexpr std::uint64_t kGiB = 1ull << 30;
// PCIe Gen5 x16: 32 GT/s x 16 lanes x 128b/130b / 8 = 63.0 GB/s per direction.
constexpr double kPcieGen5x16 = 63.0;
// PCIe Gen6 x16: 64 GT/s x 16 / 8 = 128 GB/s raw, 121 after FLIT overhead (242/256).
constexpr double kPcieGen6x16 = 121.0;
// Latencies of one hop, assumed (no vendor publishes them per path): NVLink
// through an NVSwitch ~0.3 us per GPU-switch hop, PCIe through a switch
// ~0.5 us per hop (NCCL's tuning table puts NVLink at 0.6 us and PCIe at
// 1 us end to end, src/graph/tuning.cc hwLat).
constexpr double kNvLinkHopUs = 0.3;
constexpr double kPcieHopUs = 0.5;

struct NodeSpec {
  const char* hostname_prefix;
  const char* cpu_model;
  int sockets, cores_per_socket, threads_per_core;
  std::uint64_t mem_per_socket;
  int gpus;
  const char* gpu_model;
  double gpu_pcie_gbps;
  int nvlinks;             // per GPU
  double nvlink_gbps;      // per link, GB/s per direction
  int nvswitches;          // per NVLink domain
  int hosts_per_nvdomain;  // 1: NVSwitches on the host's baseboard; >1: rack-level domain
  int pci_switches;        // per host; GPUs and NICs spread evenly over them
  int nics;
  double nic_gbits;
  LinkLayer layer;
  bool rdma;
  double nic_pcie_gbps;
};

void add_host(Topology& t, const NodeSpec& s, int index, Id cpu_model, Id gpu_model,
              const std::vector<Id>& nic_names, const std::vector<Id>& netdevs) {
  char name[32];
  std::snprintf(name, sizeof name, "%s%05d", s.hostname_prefix, index);
  const Id h = static_cast<Id>(t.hosts.size());
  Host host;
  host.hostname = name;
  host.cpu_model = cpu_model;
  host.cores = s.sockets * s.cores_per_socket;
  host.pus = host.cores * s.threads_per_core;
  host.memory_bytes = s.mem_per_socket * s.sockets;
  t.hosts.push_back(std::move(host));
  const Id numa0 = static_cast<Id>(t.numas.size());
  for (int k = 0; k < s.sockets; ++k)
    t.numas.push_back({h, k, s.cores_per_socket, s.mem_per_socket});
  const Id sw0 = static_cast<Id>(t.pci_switches.size());
  for (int k = 0; k < s.pci_switches; ++k) {
    const Id numa = numa0 + k * s.sockets / s.pci_switches;
    t.pci_switches.push_back({h, kNone, numa, k, 0, kPcieGen5x16});
    t.links.push_back({{Kind::PciSwitch, sw0 + k},
                       {Kind::Numa, numa},
                       LinkType::Pcie,
                       16,
                       kPcieGen5x16,
                       kPcieHopUs});
  }
  // NVLink domain: one per host, or one per `hosts_per_nvdomain` hosts whose
  // NVSwitches are created with the domain's first host.
  const Id domain = s.gpus > 0 && s.nvswitches > 0 ? index / s.hosts_per_nvdomain : kNone;
  if (domain != kNone && index % s.hosts_per_nvdomain == 0)
    for (int k = 0; k < s.nvswitches; ++k)
      t.nvswitches.push_back({s.hosts_per_nvdomain == 1 ? h : kNone, domain});
  const Id nvsw0 = domain == kNone ? kNone : static_cast<Id>(t.nvswitches.size()) - s.nvswitches;
  for (int i = 0; i < s.gpus; ++i) {
    const int k = i * s.pci_switches / s.gpus;
    Gpu g;
    g.host = h;
    g.pci_switch = sw0 + k;
    g.numa = t.pci_switches[sw0 + k].numa;
    g.root = k;
    g.pci = static_cast<PciAddr>((0x11 + 0x1e * i) << 8);  // synthetic bus numbers
    g.model = gpu_model;
    g.local = i;
    g.rail = i;
    g.pcie_gbps = s.gpu_pcie_gbps;
    g.nvdomain = domain;
    g.nvlinks = domain == kNone ? 0 : s.nvlinks;
    g.nvlink_gbps = g.nvlinks * s.nvlink_gbps;
    const Id gi = static_cast<Id>(t.gpus.size());
    t.gpus.push_back(g);
    t.links.push_back({{Kind::Gpu, gi},
                       {Kind::PciSwitch, sw0 + k},
                       LinkType::Pcie,
                       16,
                       s.gpu_pcie_gbps,
                       kPcieHopUs});
    if (domain == kNone) continue;
    // Links spread over the switches, the remainder to the outer ones: DGX
    // H100 wires each GPU 5+4+4+5 to its 4 NVSwitches (DGX H100 user guide).
    const int base = s.nvlinks / s.nvswitches, rem = s.nvlinks % s.nvswitches;
    for (int k2 = 0; k2 < s.nvswitches; ++k2) {
      const int n = base + ((k2 < rem / 2 || k2 >= s.nvswitches - (rem - rem / 2)) ? 1 : 0);
      if (n > 0)
        t.links.push_back({{Kind::Gpu, gi},
                           {Kind::NvSwitch, nvsw0 + k2},
                           LinkType::NvLink,
                           n,
                           n * s.nvlink_gbps,
                           kNvLinkHopUs});
    }
  }
  for (int i = 0; i < s.nics; ++i) {
    const int k = s.pci_switches ? i * s.pci_switches / s.nics : -1;
    Nic c;
    c.host = h;
    c.pci_switch = k >= 0 ? sw0 + k : kNone;
    c.numa = k >= 0 ? t.pci_switches[sw0 + k].numa : numa0;
    c.root = k;
    c.pci = static_cast<PciAddr>((0x10 + 0x1e * i) << 8);
    c.name = nic_names[i];
    c.netdev = netdevs[i];
    c.gbits = s.nic_gbits;
    c.layer = s.layer;
    c.rdma = s.rdma;
    c.rail = i;
    t.nics.push_back(c);
    if (k >= 0)
      t.links.push_back({{Kind::Nic, static_cast<Id>(t.nics.size() - 1)},
                         {Kind::PciSwitch, sw0 + k},
                         LinkType::Pcie,
                         16,
                         s.nic_pcie_gbps,
                         kPcieHopUs});
  }
}

Topology build(const std::string& source, const NodeSpec& s, int nodes, const FabricSpec& fabric,
               const char* nic_fmt, const char* netdev_fmt) {
  Topology t;
  t.source = source;
  const Id cpu = t.intern(s.cpu_model);
  const Id gpu = s.gpus ? t.intern(s.gpu_model) : kNone;
  std::vector<Id> names, netdevs;
  char buf[32];
  for (int i = 0; i < s.nics; ++i) {
    std::snprintf(buf, sizeof buf, nic_fmt, i);
    names.push_back(t.intern(buf));
    std::snprintf(buf, sizeof buf, netdev_fmt, i);
    netdevs.push_back(t.intern(buf));
  }
  const std::size_t per = static_cast<std::size_t>(nodes);
  t.hosts.reserve(per);
  t.gpus.reserve(per * s.gpus);
  t.nics.reserve(per * s.nics);
  t.links.reserve(per * (s.gpus * (1 + s.nvswitches) + s.nics * 3 + s.pci_switches));
  for (int i = 0; i < nodes; ++i) add_host(t, s, i, cpu, gpu, names, netdevs);
  build_rail_fabric(t, fabric);
  t.finish();
  return t;
}

[[noreturn]] void bad_spec(std::string_view spec, const std::string& why) {
  std::string names;
  for (const std::string& n : preset_names()) names += (names.empty() ? "" : ", ") + n;
  throw Error(ErrorCode::InvalidArgument, "topology preset '" + std::string(spec) + "': " + why +
                                              " (expected NAME or NAME:nodes=N; names: " + names +
                                              ")");
}

}  // namespace

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> names = {"laptop", "dgx-h100", "colossus", "gb200-nvl72"};
  return names;
}

Topology make_preset(std::string_view spec) {
  const std::size_t colon = spec.find(':');
  const std::string_view name = spec.substr(0, colon);
  long nodes = -1;
  if (colon != std::string_view::npos) {
    const std::string opt(spec.substr(colon + 1));
    if (opt.rfind("nodes=", 0) != 0) bad_spec(spec, "unknown option '" + opt + "'");
    char* end = nullptr;
    errno = 0;
    nodes = std::strtol(opt.c_str() + 6, &end, 10);
    // 200,000 nodes is 1.6M GPUs: past any system built, and still fast to build.
    if (errno || end == opt.c_str() + 6 || *end || nodes < 1 || nodes > 200000)
      bad_spec(spec, "nodes must be an integer in 1..200000");
  }
  const std::string source = "preset " + std::string(spec);
  if (name == "laptop") {
    // A developer laptop, assumed: 8 cores x 2 threads, 32 GiB, one NUMA
    // domain, no GPU, 1 GbE (nodes > 1: laptops on one 48-port 1 GbE switch,
    // store-and-forward ~5 us assumed).
    const NodeSpec s{
        "laptop-", "generic laptop CPU", 1,     8, 2, 32 * kGiB, 0, "", 0, 0, 0, 0, 1, 0, 1,
        1,         LinkLayer::Ethernet,  false, 0};
    return build(source, s, nodes < 0 ? 1 : static_cast<int>(nodes), {48, 1, 5.0, 10.0}, "eth%d",
                 "eth%d");
  }
  if (name == "dgx-h100") {
    // NVIDIA DGX H100 datasheet / user guide: 2 x Xeon Platinum 8480C (56
    // cores), 2 TB memory; 8 x H100 SXM5 with 18 NVLink4 links of 25 GB/s per
    // direction (450 GB/s) to 4 third-generation NVSwitches; 8 x ConnectX-7
    // 400 Gb/s (InfiniBand NDR) for the compute fabric; PCIe Gen5 switches
    // pairing GPUs with NICs (4 switches, 2 GPUs + 2 NICs each, 2 per socket).
    // Fabric: DGX SuperPOD reference architecture, QM9700 64-port NDR switches,
    // rail-optimized; 0.2 us switch latency assumed.
    const NodeSpec s{"dgx-h100-",
                     "Intel Xeon Platinum 8480C",
                     2,
                     56,
                     2,
                     1024 * kGiB,
                     8,
                     "H100",
                     kPcieGen5x16,
                     18,
                     25.0,
                     4,
                     1,
                     4,
                     8,
                     400,
                     LinkLayer::InfiniBand,
                     true,
                     kPcieGen5x16};
    return build(source, s, nodes < 0 ? 1 : static_cast<int>(nodes), {64, 400, 0.2, 1.0}, "mlx5_%d",
                 "ibp%ds0");
  }
  if (name == "colossus") {
    // xAI Colossus (ServeTheHome tour, Oct 2024; NVIDIA press release):
    // 100,000 H100 in Supermicro HGX H100 nodes of 8 GPUs (NVSwitch as in
    // the DGX H100 above), 8 nodes per rack, one BlueField-3 400GbE SuperNIC
    // per GPU (RoCE), NVIDIA Spectrum-X SN5600 switches used as 128 x 400G
    // ports, rail-optimized three tiers, 1:1. CPUs and memory are not
    // published: 2 x 56 cores and 2 TB assumed. Switch latency 0.6 us assumed.
    const NodeSpec s{"colossus-",
                     "x86-64 (2 sockets, assumed)",
                     2,
                     56,
                     2,
                     1024 * kGiB,
                     8,
                     "H100",
                     kPcieGen5x16,
                     18,
                     25.0,
                     4,
                     1,
                     4,
                     8,
                     400,
                     LinkLayer::Ethernet,
                     true,
                     kPcieGen5x16};
    return build(source, s, nodes < 0 ? 12500 : static_cast<int>(nodes), {128, 400, 0.6, 1.0},
                 "mlx5_%d", "eth%d");
  }
  if (name == "gb200-nvl72") {
    // NVIDIA GB200 NVL72 spec: 18 compute trays per rack, each 2 Grace CPUs
    // (72 Neoverse V2 cores, 480 GB LPDDR5X each) and 4 Blackwell GPUs; 9
    // NVLink switch trays = 18 NVSwitch chips; NVLink5 1.8 TB/s per GPU =
    // 18 links x 50 GB/s per direction (900 GB/s); one ConnectX-8 800 Gb/s
    // SuperNIC per GPU on PCIe Gen6. Fabric: Quantum-X800 Q3400, 144 ports of
    // 800 Gb/s XDR InfiniBand, rail-optimized; 0.2 us switch latency assumed.
    const NodeSpec s{"gb200-",
                     "NVIDIA Grace (Neoverse V2)",
                     2,
                     72,
                     1,
                     480ull * 1000 * 1000 * 1000,
                     4,
                     "B200",
                     kPcieGen6x16,
                     18,
                     50.0,
                     18,
                     18,
                     2,
                     4,
                     800,
                     LinkLayer::InfiniBand,
                     true,
                     kPcieGen6x16};
    return build(source, s, nodes < 0 ? 18 : static_cast<int>(nodes), {144, 800, 0.2, 1.0},
                 "mlx5_%d", "ibp%ds0");
  }
  bad_spec(spec, "unknown preset");
}

}  // namespace colossus::topology
