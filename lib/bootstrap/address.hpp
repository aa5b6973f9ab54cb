// address.hpp: IPv4/IPv6 endpoints of the bootstrap.
//
// Parses the address specs users write ("10.0.0.1:5000", "[fe80::1%eth0]:5000",
// "eth0", "node7:5000"), picks this host's default interface, and converts an
// endpoint to and from the fixed-size form a UniqueId carries. The fixed form
// uses its own family codes (4, 6), not the OS's AF_* values, so an id means
// the same thing on every host of a job.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace colossus::bootstrap {

struct Endpoint {
  sockaddr_storage ss{};
  socklen_t len = 0;

  int family() const { return ss.ss_family; }
  uint16_t port() const;
  void set_port(uint16_t port);
  const sockaddr* addr() const { return reinterpret_cast<const sockaddr*>(&ss); }
  sockaddr* addr() { return reinterpret_cast<sockaddr*>(&ss); }
  // The same family's wildcard address ("0.0.0.0", "::") with this port.
  Endpoint wildcard() const;
  // "10.0.0.1:5000", "[::1]:5000".
  std::string str() const;
};

// An endpoint inside a UniqueId: plain bytes, 24 of them.
struct WireAddress {
  uint8_t family;     // 4 or 6; 0 = none
  uint8_t reserved;   // zero
  uint16_t port;      // host byte order
  uint32_t scope_id;  // IPv6 link-local scope, else zero
  uint8_t ip[16];     // IPv4 in the first 4 bytes, the rest zero
};
static_assert(sizeof(WireAddress) == 24, "WireAddress is part of the UniqueId layout");

WireAddress to_wire(const Endpoint& endpoint);
// False (with *why) on an unknown family or nonzero reserved bytes.
bool from_wire(const WireAddress& wire, Endpoint* out, std::string* why);

struct ResolvedSpec {
  Endpoint endpoint;
  // True when the spec named an IP literal or an interface: an address this
  // host can bind. A host name may resolve, on the host itself, to an address
  // that other hosts cannot reach (Debian maps its own name to 127.0.1.1), so
  // a listener for a named host binds the wildcard address instead.
  bool numeric = false;
};

// The one host[:port] syntax of the library (COLOSSUS_COMM_ID,
// COLOSSUS_BOOTSTRAP_ADDR, the tcp transport's address table): "host",
// "host:port", "[ipv6]", "[ipv6]:port", and a bare IPv6 address (two or more
// colons) as a host without a port. False with *why on an empty host, an
// empty port, a port that is not a number in 0..65535, or junk after ']'.
struct HostPort {
  std::string host;
  bool has_port = false;
  uint16_t port = 0;
};
bool split_host_port(const std::string& text, HostPort* out, std::string* why);

// "ip", "ip:port", "[ipv6]:port", "ipv6", "ifname", "ifname:port",
// "hostname", "hostname:port"; the port defaults to 0 (ephemeral). False
// with *why on a spec that does not parse or resolve.
bool resolve_spec(const std::string& spec, ResolvedSpec* out, std::string* why);

// A numeric "ip:port" or "[ipv6]:port" with a nonzero port, as Endpoint::str()
// writes it; false on anything else (host names are not resolved).
bool parse_endpoint(const std::string& text, Endpoint* out);

// The first non-loopback IPv4 address of an interface that is up (docker
// and libvirt bridges skipped: other hosts cannot reach them), else
// 127.0.0.1. Port 0.
Endpoint default_endpoint();

// The local address a socket is bound to.
Endpoint local_endpoint(int fd);

}  // namespace colossus::bootstrap
