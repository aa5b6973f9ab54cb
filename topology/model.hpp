// model.hpp: the one graph type for discovered and synthetic systems.
//
// Contract of Topology:
//  - Objects live in one vector per kind (hosts, NUMA domains, GPUs, NICs,
//    PCIe switches, NVSwitches, network switches) and refer to each other by
//    integer index into those vectors (-1 = none). No per-object heap nodes:
//    strings an object needs (GPU model, NIC name) are indices into one
//    interned string table, so 100,000 GPUs cost a few MB and build in ms.
//  - Objects of a host are stored contiguously and hosts in order: every
//    per-host object is added after its host and before the next host
//    (Host::first_* / num_* describe the range; finish() checks and fills them).
//  - Links join two objects (Ref = kind + index) with a bandwidth in GB/s per
//    direction (1 GB/s = 1e9 bytes/s; a 400 Gb/s port is 50 GB/s) and a
//    latency in microseconds. Links never allocate per object either.
//  - Two Topologies compare equal (operator==) when every field is equal; the
//    XML round trip (xml.hpp) preserves equality exactly.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace colossus::topology {

using Id = std::int32_t;
constexpr Id kNone = -1;

// Host memory copy bandwidth used for CPU-only ranks on one host when the
// topology does not say (XML: <host mem_gbps=...>). 10 GB/s per direction is
// what one core's memcpy through a shared-memory FIFO reaches on current x86
// servers (STREAM copy, single thread); conservative on purpose.
constexpr double kDefaultHostMemGBps = 10.0;

enum class Kind : std::uint8_t { Host, Numa, Gpu, Nic, PciSwitch, NvSwitch, NetSwitch };
const char* to_string(Kind kind);  // "host", "numa", ...

enum class LinkType : std::uint8_t { Pcie, NvLink, Network, Memory };
const char* to_string(LinkType type);  // "pcie", "nvlink", "net", "mem"

enum class LinkLayer : std::uint8_t { Unknown, Ethernet, InfiniBand };
const char* to_string(LinkLayer layer);  // "unknown", "eth", "ib"

// How close a GPU and a NIC are on the PCIe tree (nvidia-smi topo -m names).
enum class Affinity : std::uint8_t {
  SamePciSwitch,  // PIX/PXB: a common PCIe switch, traffic stays below the root complex
  SameRoot,       // PHB: through one host bridge (root complex)
  SameNuma,       // NODE: across host bridges of one NUMA domain
  CrossSocket,    // SYS: across the inter-socket link
  None,           // different hosts or unknown
};
const char* to_string(Affinity a);  // "PIX", "PHB", "NODE", "SYS", "-"

struct Ref {
  Kind kind = Kind::Host;
  Id index = kNone;
  auto operator<=>(const Ref&) const = default;
};

// PCI address packed as domain<<16 | bus<<8 | device<<3 | function; 0 = unknown.
using PciAddr = std::uint32_t;
std::string pci_to_string(PciAddr addr);              // "0000:18:00.0"; "-" for 0
bool parse_pci(std::string_view text, PciAddr* out);  // inverse; false on garbage

struct Host {
  std::string hostname;
  std::string boot_id;   // /proc/sys/kernel/random/boot_id; "" for presets
  Id cpu_model = kNone;  // string table index
  int cores = 0, pus = 0;
  std::uint64_t memory_bytes = 0;
  double mem_gbps = kDefaultHostMemGBps;  // host memory path for CPU-only ranks, GB/s
  // Filled by Topology::finish(): this host's objects are [first, first + num).
  Id first_numa = 0, num_numa = 0, first_gpu = 0, num_gpu = 0, first_nic = 0, num_nic = 0;
  Id first_pci_switch = 0, num_pci_switch = 0;
  bool operator==(const Host&) const = default;
};

struct Numa {
  Id host = kNone;
  int os_index = 0;
  int cores = 0;
  std::uint64_t memory_bytes = 0;
  bool operator==(const Numa&) const = default;
};

struct PciSwitch {
  Id host = kNone;
  Id parent = kNone;  // upstream switch, kNone = directly under a root port
  Id numa = kNone;
  int root = -1;    // host bridge (root complex) index on the host, -1 unknown
  PciAddr pci = 0;  // upstream port's address
  double gbps = 0;  // upstream link, GB/s per direction
  bool operator==(const PciSwitch&) const = default;
};

struct Gpu {
  Id host = kNone;
  Id numa = kNone;
  Id pci_switch = kNone;  // lowest PCIe switch above it
  int root = -1;          // host bridge index on the host
  PciAddr pci = 0;
  Id model = kNone;        // string table index ("H100")
  int local = 0;           // index on its host (CUDA/NVML order)
  int rail = -1;           // rail-optimized fabric: which rail its NIC is on
  double pcie_gbps = 0;    // its PCIe link, GB/s per direction
  Id nvdomain = kNone;     // NVLink domain (GPUs reaching each other via NVSwitch)
  int nvlinks = 0;         // NVLink links to switches or peers
  double nvlink_gbps = 0;  // all its NVLinks together, GB/s per direction
  bool operator==(const Gpu&) const = default;
};

struct Nic {
  Id host = kNone;
  Id numa = kNone;
  Id pci_switch = kNone;
  int root = -1;
  PciAddr pci = 0;    // 0 for virtual interfaces
  Id name = kNone;    // "mlx5_0" (RDMA device) or "eth0"
  Id netdev = kNone;  // Ethernet interface name, if any
  double gbits = 0;   // port rate, Gb/s (0 = unknown)
  // A token-bucket shaper on the port (tc tbf): up to burst_bytes above
  // `gbits` may leave at peak_gbits after the port idled. 0: a plain port
  // (real NICs send at their line rate, never above it).
  double burst_bytes = 0;
  double peak_gbits = 0;
  LinkLayer layer = LinkLayer::Unknown;
  bool rdma = false;
  bool up = true;
  int rail = -1;
  bool operator==(const Nic&) const = default;
};

struct NvSwitch {
  Id host = kNone;  // kNone: in a rack-level NVLink domain (NVL72 switch trays)
  Id nvdomain = kNone;
  bool operator==(const NvSwitch&) const = default;
};

struct NetSwitch {
  int tier = 1;           // 1 leaf, 2 spine, 3 core
  int ports = 0;          // radix
  double port_gbits = 0;  // per port, Gb/s
  double latency_us = 0;  // port to port
  int rail = -1;          // leaf of one rail, -1 otherwise
  int group = -1;         // pod (tiers 1-2) or plane (tier 3)
  bool operator==(const NetSwitch&) const = default;
};

struct Link {
  Ref a, b;
  LinkType type = LinkType::Pcie;
  int count = 1;    // parallel lanes/ports/links folded into this one
  double gbps = 0;  // all of them together, GB/s per direction
  double latency_us = 0;
  bool operator==(const Link&) const = default;
};

class Topology {
 public:
  std::string source;  // "discovered", "preset dgx-h100:nodes=2", "file x.xml"
  std::vector<std::string> strings;
  std::vector<Host> hosts;
  std::vector<Numa> numas;
  std::vector<Gpu> gpus;
  std::vector<Nic> nics;
  std::vector<PciSwitch> pci_switches;
  std::vector<NvSwitch> nvswitches;
  std::vector<NetSwitch> switches;
  std::vector<Link> links;

  // Interns `s` (linear in the number of distinct strings: keep them few).
  Id intern(std::string_view s);
  const std::string& str(Id id) const;  // "" for kNone

  // Checks the per-host ordering and references, fills Host::first_*/num_*.
  // Throws Error(InvalidArgument) naming the first bad object.
  void finish();

  // Network tiers present (0 = no switches).
  int tiers() const;
  Affinity affinity(Id gpu, Id nic) const;
  // Every link touching `r`; linear in links (for printing, not hot paths).
  std::vector<Id> links_of(Ref r) const;

  bool operator==(const Topology& o) const;  // all but `source`
};

}  // namespace colossus::topology
