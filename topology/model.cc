#include "topology/model.hpp"

#include <cctype>
#include <cstdio>
#include <string>

#include "colossus/error.hpp"

namespace colossus::topology {

const char* to_string(Kind kind) {
  switch (kind) {
    case Kind::Host: return "host";
    case Kind::Numa: return "numa";
    case Kind::Gpu: return "gpu";
    case Kind::Nic: return "nic";
    case Kind::PciSwitch: return "pci_switch";
    case Kind::NvSwitch: return "nvswitch";
    case Kind::NetSwitch: return "switch";
  }
  return "?";
}

const char* to_string(LinkType type) {
  switch (type) {
    case LinkType::Pcie: return "pcie";
    case LinkType::NvLink: return "nvlink";
    case LinkType::Network: return "net";
    case LinkType::Memory: return "mem";
  }
  return "?";
}

const char* to_string(LinkLayer layer) {
  switch (layer) {
    case LinkLayer::Ethernet: return "eth";
    case LinkLayer::InfiniBand: return "ib";
    case LinkLayer::Unknown: break;
  }
  return "unknown";
}

const char* to_string(Affinity a) {
  switch (a) {
    case Affinity::SamePciSwitch: return "PIX";
    case Affinity::SameRoot: return "PHB";
    case Affinity::SameNuma: return "NODE";
    case Affinity::CrossSocket: return "SYS";
    case Affinity::None: break;
  }
  return "-";
}

std::string pci_to_string(PciAddr a) {
  if (a == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04x:%02x:%02x.%x", a >> 16, (a >> 8) & 0xff, (a >> 3) & 0x1f,
                a & 7);
  return buf;
}

bool parse_pci(std::string_view text, PciAddr* out) {
  if (text == "-") {
    *out = 0;
    return true;
  }
  // Strictly DOMAIN:BUS:DEV.FN in hex (sscanf would take "0x" prefixes and signs).
  unsigned v[4] = {0, 0, 0, 0};
  const char seps[4] = {':', ':', '.', '\0'};
  std::size_t i = 0;
  for (int f = 0; f < 4; ++f) {
    const std::size_t start = i;
    for (; i < text.size() && std::isxdigit(static_cast<unsigned char>(text[i])) && i - start < 8;
         ++i)
      v[f] = v[f] * 16 + static_cast<unsigned>(
                             std::isdigit(static_cast<unsigned char>(text[i]))
                                 ? text[i] - '0'
                                 : std::tolower(static_cast<unsigned char>(text[i])) - 'a' + 10);
    if (i == start) return false;
    if (seps[f] == '\0') {
      if (i != text.size()) return false;
    } else if (i >= text.size() || text[i++] != seps[f]) {
      return false;
    }
  }
  if (v[0] > 0xffff || v[1] > 0xff || v[2] > 0x1f || v[3] > 7) return false;
  *out = v[0] << 16 | v[1] << 8 | v[2] << 3 | v[3];
  return true;
}

Id Topology::intern(std::string_view s) {
  for (std::size_t i = 0; i < strings.size(); ++i)
    if (strings[i] == s) return static_cast<Id>(i);
  strings.emplace_back(s);
  return static_cast<Id>(strings.size() - 1);
}

const std::string& Topology::str(Id id) const {
  static const std::string empty;
  return id >= 0 && static_cast<std::size_t>(id) < strings.size() ? strings[id] : empty;
}

namespace {

[[noreturn]] void bad(const char* kind, std::size_t i, const std::string& why) {
  throw Error(ErrorCode::InvalidArgument,
              std::string("topology: ") + kind + " " + std::to_string(i) + ": " + why);
}

// Objects of one kind must be grouped by host, hosts ascending; returns the
// ranges into the hosts' first/num fields.
template <typename T>
void ranges(const char* kind, const std::vector<T>& objs, std::vector<Host>& hosts, Id Host::*first,
            Id Host::*num) {
  for (Host& h : hosts) h.*first = 0, h.*num = 0;
  Id prev = 0;
  for (std::size_t i = 0; i < objs.size(); ++i) {
    const Id h = objs[i].host;
    if (h < 0 || static_cast<std::size_t>(h) >= hosts.size()) bad(kind, i, "no such host");
    if (h < prev) bad(kind, i, "objects must be grouped by host, hosts in order");
    if (hosts[h].*num == 0) hosts[h].*first = static_cast<Id>(i);
    ++(hosts[h].*num);
    prev = h;
  }
  for (Host& h : hosts)
    if (h.*num == 0) h.*first = static_cast<Id>(objs.size());
}

}  // namespace

void Topology::finish() {
  ranges("numa", numas, hosts, &Host::first_numa, &Host::num_numa);
  ranges("gpu", gpus, hosts, &Host::first_gpu, &Host::num_gpu);
  ranges("nic", nics, hosts, &Host::first_nic, &Host::num_nic);
  ranges("pci_switch", pci_switches, hosts, &Host::first_pci_switch, &Host::num_pci_switch);
  auto check_ref = [&](const char* kind, std::size_t i, Id ref, std::size_t n, const char* what) {
    if (ref != kNone && (ref < 0 || static_cast<std::size_t>(ref) >= n))
      bad(kind, i, std::string("bad ") + what + " " + std::to_string(ref));
  };
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    check_ref("gpu", i, gpus[i].numa, numas.size(), "numa");
    check_ref("gpu", i, gpus[i].pci_switch, pci_switches.size(), "pci_switch");
    check_ref("gpu", i, gpus[i].model, strings.size(), "string");
  }
  for (std::size_t i = 0; i < nics.size(); ++i) {
    check_ref("nic", i, nics[i].numa, numas.size(), "numa");
    check_ref("nic", i, nics[i].pci_switch, pci_switches.size(), "pci_switch");
    check_ref("nic", i, nics[i].name, strings.size(), "string");
    check_ref("nic", i, nics[i].netdev, strings.size(), "string");
  }
  for (std::size_t i = 0; i < pci_switches.size(); ++i) {
    // Parents precede children, so walking up always terminates.
    if (pci_switches[i].parent >= static_cast<Id>(i))
      bad("pci_switch", i, "parent must come first");
    check_ref("pci_switch", i, pci_switches[i].parent, pci_switches.size(), "parent");
  }
  for (std::size_t i = 0; i < hosts.size(); ++i)
    check_ref("host", i, hosts[i].cpu_model, strings.size(), "string");
  auto count_of = [&](Kind k) -> std::size_t {
    switch (k) {
      case Kind::Host: return hosts.size();
      case Kind::Numa: return numas.size();
      case Kind::Gpu: return gpus.size();
      case Kind::Nic: return nics.size();
      case Kind::PciSwitch: return pci_switches.size();
      case Kind::NvSwitch: return nvswitches.size();
      case Kind::NetSwitch: return switches.size();
    }
    return 0;
  };
  for (std::size_t i = 0; i < links.size(); ++i) {
    check_ref("link", i, links[i].a.index, count_of(links[i].a.kind), to_string(links[i].a.kind));
    check_ref("link", i, links[i].b.index, count_of(links[i].b.kind), to_string(links[i].b.kind));
    if (links[i].a.index == kNone || links[i].b.index == kNone) bad("link", i, "missing end");
  }
}

int Topology::tiers() const {
  int t = 0;
  for (const NetSwitch& s : switches) t = s.tier > t ? s.tier : t;
  return t;
}

Affinity Topology::affinity(Id gpu, Id nic) const {
  const Gpu& g = gpus[gpu];
  const Nic& n = nics[nic];
  if (g.host != n.host) return Affinity::None;
  for (Id a = g.pci_switch; a != kNone; a = pci_switches[a].parent)
    for (Id b = n.pci_switch; b != kNone; b = pci_switches[b].parent)
      if (a == b) return Affinity::SamePciSwitch;
  if (g.root >= 0 && g.root == n.root) return Affinity::SameRoot;
  if (g.numa == n.numa || g.numa == kNone || n.numa == kNone) return Affinity::SameNuma;
  return Affinity::CrossSocket;
}

std::vector<Id> Topology::links_of(Ref r) const {
  std::vector<Id> out;
  for (std::size_t i = 0; i < links.size(); ++i)
    if (links[i].a == r || links[i].b == r) out.push_back(static_cast<Id>(i));
  return out;
}

bool Topology::operator==(const Topology& o) const {
  return strings == o.strings && hosts == o.hosts && numas == o.numas && gpus == o.gpus &&
         nics == o.nics && pci_switches == o.pci_switches && nvswitches == o.nvswitches &&
         switches == o.switches && links == o.links;
}

}  // namespace colossus::topology
