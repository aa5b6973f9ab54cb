// interfaces.hpp: this host's network interfaces, and which one to use.
//
// The bootstrap takes an interface by name ("eth0:5000") and picks its
// default address here; the tcp transport listens on the interface that
// COLOSSUS_SOCKET_IFNAME selects. That variable uses NCCL_SOCKET_IFNAME's
// syntax, so operators can reuse the value they already have:
//   "eth,ib"      interfaces whose name starts with eth or ib
//   "^docker,lo"  every interface except those starting with docker or lo
//   "=eth0"       exactly eth0 (and "^=eth0": all but exactly eth0)
// Candidates are taken in the kernel's order; the first match wins.
#pragma once

#include <string>
#include <vector>

#include "bootstrap/address.hpp"

namespace colossus::bootstrap {

class IfnameFilter {
 public:
  // An empty spec gives the default filter (see choose_interface).
  static IfnameFilter parse(const std::string& spec);
  bool matches(const std::string& ifname) const;
  bool is_default() const { return names_.empty(); }
  bool exclude() const { return exclude_; }
  bool exact() const { return exact_; }
  const std::vector<std::string>& names() const { return names_; }

 private:
  bool exclude_ = false;
  bool exact_ = false;
  std::vector<std::string> names_;
};

struct NetInterface {
  std::string name;
  bool up = false;
  bool loopback = false;
  Endpoint addr;  // AF_INET or AF_INET6, port 0
};

// Up interfaces with an IPv4 or a routable IPv6 address, one entry per
// address, in the kernel's order of interfaces, IPv4 entries of an interface
// before its IPv6 ones. Link-local IPv6 addresses need a scope id that a peer
// on another host cannot use: listed only with include_link_local.
std::vector<NetInterface> list_interfaces(bool include_link_local = false);

// The interface to listen on, or nullptr when none matches. The default
// (empty spec) is the first up interface that is neither loopback nor a
// container bridge (docker*, virbr*: local-only addresses a remote peer
// cannot reach), else the first loopback one; with a spec, the first up
// interface that matches it, loopback included when the spec allows it.
const NetInterface* choose_interface(const std::vector<NetInterface>& candidates,
                                     const std::string& spec);

}  // namespace colossus::bootstrap
