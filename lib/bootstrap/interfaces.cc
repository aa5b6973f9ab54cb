#include "bootstrap/interfaces.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace colossus::bootstrap {

IfnameFilter IfnameFilter::parse(const std::string& spec) {
  IfnameFilter f;
  std::string rest = spec;
  if (!rest.empty() && rest[0] == '^') {
    f.exclude_ = true;
    rest.erase(0, 1);
  }
  if (!rest.empty() && rest[0] == '=') {
    f.exact_ = true;
    rest.erase(0, 1);
  }
  std::size_t start = 0;
  while (start <= rest.size()) {
    std::size_t comma = rest.find(',', start);
    if (comma == std::string::npos) comma = rest.size();
    std::string name = rest.substr(start, comma - start);
    // Tolerate "eth0, eth1" as written by hand.
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    if (!name.empty()) f.names_.push_back(name);
    start = comma + 1;
  }
  return f;
}

bool IfnameFilter::matches(const std::string& ifname) const {
  bool listed = false;
  for (const std::string& n : names_) {
    listed = listed || (exact_ ? ifname == n : ifname.compare(0, n.size(), n) == 0);
  }
  return exclude_ ? !listed : listed;
}

std::vector<NetInterface> list_interfaces(bool include_link_local) {
  std::vector<NetInterface> found;
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return {};
  for (ifaddrs* a = all; a; a = a->ifa_next) {
    if (!a->ifa_addr || !(a->ifa_flags & IFF_UP)) continue;
    const int family = a->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    NetInterface i;
    i.name = a->ifa_name;
    i.up = true;
    i.loopback = (a->ifa_flags & IFF_LOOPBACK) != 0;
    if (family == AF_INET6 && !include_link_local &&
        IN6_IS_ADDR_LINKLOCAL(&reinterpret_cast<const sockaddr_in6*>(a->ifa_addr)->sin6_addr)) {
      continue;
    }
    i.addr.len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    std::memcpy(&i.addr.ss, a->ifa_addr, i.addr.len);
    i.addr.set_port(0);
    found.push_back(i);
  }
  freeifaddrs(all);
  // Interfaces in the kernel's order of first appearance, each one's IPv4
  // addresses first: IPv4 is what a mixed cluster is most likely to route.
  std::vector<std::string> order;
  for (const NetInterface& i : found) {
    if (std::find(order.begin(), order.end(), i.name) == order.end()) order.push_back(i.name);
  }
  std::vector<NetInterface> out;
  for (const std::string& name : order) {
    for (int family : {AF_INET, AF_INET6}) {
      for (const NetInterface& i : found) {
        if (i.name == name && i.addr.family() == family) out.push_back(i);
      }
    }
  }
  return out;
}

const NetInterface* choose_interface(const std::vector<NetInterface>& candidates,
                                     const std::string& spec) {
  const IfnameFilter filter = IfnameFilter::parse(spec);
  if (!filter.is_default()) {
    for (const NetInterface& i : candidates) {
      if (i.up && filter.matches(i.name)) return &i;
    }
    return nullptr;
  }
  const IfnameFilter bridges = IfnameFilter::parse("docker,virbr");
  for (const NetInterface& i : candidates) {
    if (i.up && !i.loopback && !bridges.matches(i.name)) return &i;
  }
  for (const NetInterface& i : candidates) {
    if (i.up && i.loopback) return &i;
  }
  return nullptr;
}

}  // namespace colossus::bootstrap
