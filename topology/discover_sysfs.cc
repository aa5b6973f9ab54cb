// sysfs: Ethernet speed and link state (/sys/class/net/*), which hwloc does
// not report and ibverbs only knows for RDMA-capable ports.
#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "base/logging.hpp"
#include "topology/discover_parts.hpp"

namespace colossus::topology::detail {

namespace {

const char* const kNet = "/sys/class/net/";

std::string read_word(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  in >> s;
  return s;
}

std::vector<std::string> interfaces() {
  std::vector<std::string> out;
  if (DIR* d = opendir(kNet)) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.emplace_back(e->d_name);
    closedir(d);
  }
  std::sort(out.begin(), out.end());  // readdir order is arbitrary; output must not be
  return out;
}

// Reads speed (Mb/s; -1 or absent when the driver cannot tell, as for
// virtio) and operstate into `c`.
void fill(Nic& c, const std::string& ifname) {
  const std::string dir = kNet + ifname + "/";
  const long mbits = std::strtol(read_word(dir + "speed").c_str(), nullptr, 10);
  if (mbits > 0 && c.gbits == 0) c.gbits = mbits / 1000.0;
  const std::string state = read_word(dir + "operstate");
  if (!c.rdma) c.up = state == "up" || state == "unknown";
  // type 32 = ARPHRD_INFINIBAND (IPoIB); 1 = Ethernet.
  if (c.layer == LinkLayer::Unknown)
    c.layer = read_word(dir + "type") == "32" ? LinkLayer::InfiniBand : LinkLayer::Ethernet;
}

}  // namespace

void discover_sysfs(Topology& t) {
  const std::vector<std::string> ifs = interfaces();
  if (ifs.empty()) {
    CLOG_SUB(Info, Graph) << "topology: " << kNet << " unreadable: Ethernet speeds unknown";
    return;
  }
  for (const std::string& ifname : ifs) {
    const PciAddr pci = pci_of_sysfs_device(kNet + ifname + "/device");
    for (Nic& c : t.nics) {
      const bool named = t.str(c.netdev) == ifname;
      if (named || (pci != 0 && c.pci == pci && c.netdev == kNone)) {
        c.netdev = t.intern(ifname);
        fill(c, ifname);
      }
    }
  }
  if (!t.nics.empty()) return;
  // No PCI NIC (a container with veth, a VM hwloc cannot see into): take the
  // up, non-loopback interfaces so the host still shows its way out.
  for (const std::string& ifname : ifs) {
    if (ifname == "lo" || read_word(kNet + ifname + "/operstate") != "up") continue;
    Nic c;
    c.host = 0;
    c.numa = t.numas.empty() ? kNone : 0;
    c.name = c.netdev = t.intern(ifname);
    fill(c, ifname);
    t.nics.push_back(c);
  }
}

}  // namespace colossus::topology::detail
