// interfaces.hpp: which network interface the tcp transport listens on.
//
// COLOSSUS_SOCKET_IFNAME uses NCCL_SOCKET_IFNAME's syntax, so operators can
// reuse the value they already have:
//   "eth,ib"      interfaces whose name starts with eth or ib
//   "^docker,lo"  every interface except those starting with docker or lo
//   "=eth0"       exactly eth0 (and "^=eth0": all but exactly eth0)
// Candidates are taken in the kernel's order; the first match wins.
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

namespace colossus::transport::tcp {

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
  sockaddr_storage addr{};  // AF_INET or AF_INET6, port 0
  socklen_t addr_len = 0;
};

// Up interfaces with an IPv4 or a routable IPv6 address (link-local IPv6
// needs a scope id that a peer on another host cannot use), one entry per
// address, IPv4 entries of an interface before its IPv6 ones.
std::vector<NetInterface> list_interfaces();

// The interface to listen on, or nullptr when none matches. The default
// (empty spec) is the first up interface that is neither loopback nor a
// container bridge (docker*, virbr*: local-only addresses a remote peer
// cannot reach), else the first loopback one; with a spec, the first up
// interface that matches it, loopback included when the spec allows it.
const NetInterface* choose_interface(const std::vector<NetInterface>& candidates,
                                     const std::string& spec);

}  // namespace colossus::transport::tcp
