#include "bootstrap/address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "bootstrap/interfaces.hpp"

namespace colossus::bootstrap {

uint16_t Endpoint::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

void Endpoint::set_port(uint16_t port) {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(port);
}

Endpoint Endpoint::wildcard() const {
  Endpoint any;
  any.ss.ss_family = ss.ss_family;
  any.len = len;
  any.set_port(port());  // the rest stays zero: INADDR_ANY, in6addr_any
  return any;
}

std::string Endpoint::str() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    std::string scope;
    if (in6->sin6_scope_id != 0) scope = "%" + std::to_string(in6->sin6_scope_id);
    return "[" + std::string(text) + scope + "]:" + std::to_string(port());
  }
  return "(no address)";
}

WireAddress to_wire(const Endpoint& endpoint) {
  WireAddress wire{};
  wire.port = endpoint.port();
  if (endpoint.family() == AF_INET) {
    wire.family = 4;
    std::memcpy(wire.ip, &reinterpret_cast<const sockaddr_in*>(&endpoint.ss)->sin_addr, 4);
  } else if (endpoint.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&endpoint.ss);
    wire.family = 6;
    wire.scope_id = in6->sin6_scope_id;
    std::memcpy(wire.ip, &in6->sin6_addr, 16);
  }
  return wire;
}

bool from_wire(const WireAddress& wire, Endpoint* out, std::string* why) {
  Endpoint e;
  if (wire.reserved != 0) {
    *why = "nonzero reserved address bytes";
    return false;
  }
  if (wire.family == 4) {
    for (int i = 4; i < 16; ++i) {
      if (wire.ip[i] != 0) {
        *why = "IPv4 address with stray bytes";
        return false;
      }
    }
    auto* in = reinterpret_cast<sockaddr_in*>(&e.ss);
    in->sin_family = AF_INET;
    std::memcpy(&in->sin_addr, wire.ip, 4);
    e.len = sizeof(sockaddr_in);
  } else if (wire.family == 6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&e.ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_scope_id = wire.scope_id;
    std::memcpy(&in6->sin6_addr, wire.ip, 16);
    e.len = sizeof(sockaddr_in6);
  } else {
    *why = "unknown address family " + std::to_string(wire.family);
    return false;
  }
  e.set_port(wire.port);
  *out = e;
  return true;
}

namespace {

Endpoint from_sockaddr(const sockaddr* sa) {
  Endpoint e;
  e.len = sa->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  std::memcpy(&e.ss, sa, e.len);
  e.set_port(0);
  return e;
}

// An interface named `name` that is up: its IPv4 address, else its IPv6 one
// (link-local too: an address given by interface name is this host's to bind).
bool interface_endpoint(const std::string& name, Endpoint* out) {
  for (const NetInterface& i : list_interfaces(true)) {
    if (i.name == name) {
      *out = i.addr;
      return true;
    }
  }
  return false;
}

// getaddrinfo for a host, preferring IPv4 (the family every host of a
// cluster is most likely to route).
bool lookup(const std::string& host, int flags, Endpoint* out, std::string* why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0) {
    *why = gai_strerror(rc);
    return false;
  }
  const addrinfo* pick = nullptr;
  for (const addrinfo* a = found; a; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    if (!pick || (a->ai_family == AF_INET && pick->ai_family != AF_INET)) pick = a;
  }
  if (pick)
    *out = from_sockaddr(pick->ai_addr);
  else
    *why = "no IPv4 or IPv6 address";
  freeaddrinfo(found);
  return pick != nullptr;
}

}  // namespace

bool split_host_port(const std::string& text, HostPort* out, std::string* why) {
  auto reject = [why](std::string reason) {
    *why = std::move(reason);
    return false;
  };
  HostPort r;
  std::string port_text;
  bool port_given = false;
  if (!text.empty() && text[0] == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string::npos) return reject("'[' without ']'");
    r.host = text.substr(1, close - 1);
    const std::string rest = text.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return reject("junk after ']'");
    port_given = !rest.empty();
    if (port_given) port_text = rest.substr(1);
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const std::size_t colon = text.find(':');
    r.host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    port_given = true;
  } else {
    r.host = text;  // no port, or a bare IPv6 address
  }
  if (port_given && port_text.empty()) return reject("empty port");
  if (r.host.empty()) return reject("empty host");
  if (port_given) {
    unsigned long v = 0;
    const bool digits =
        port_text.size() <= 5 && port_text.find_first_not_of("0123456789") == std::string::npos;
    if (digits) v = std::stoul(port_text);
    if (!digits || v > 65535) return reject("port '" + port_text + "' is not a number in 0..65535");
    r.has_port = true;
    r.port = static_cast<uint16_t>(v);
  }
  *out = std::move(r);
  return true;
}

bool resolve_spec(const std::string& spec, ResolvedSpec* out, std::string* why) {
  HostPort hp;
  if (!split_host_port(spec, &hp, why)) return false;
  const std::string& host = hp.host;
  const uint16_t port = hp.port;
  ResolvedSpec r;
  std::string lookup_error;
  if (lookup(host, AI_NUMERICHOST, &r.endpoint, &lookup_error) ||
      interface_endpoint(host, &r.endpoint)) {
    r.numeric = true;
  } else if (!lookup(host, AI_ADDRCONFIG, &r.endpoint, &lookup_error)) {
    *why = "cannot resolve '" + host + "': " + lookup_error;
    return false;
  }
  r.endpoint.set_port(port);
  *out = r;
  return true;
}

bool parse_endpoint(const std::string& text, Endpoint* out) {
  HostPort hp;
  std::string why;
  Endpoint e;
  if (!split_host_port(text, &hp, &why) || !hp.has_port || hp.port == 0) return false;
  if (!lookup(hp.host, AI_NUMERICHOST, &e, &why)) return false;
  e.set_port(hp.port);
  *out = e;
  return true;
}

Endpoint default_endpoint() {
  std::vector<NetInterface> v4 = list_interfaces();
  std::erase_if(v4, [](const NetInterface& i) { return i.addr.family() != AF_INET; });
  const NetInterface* pick = choose_interface(v4, "");
  if (pick && !pick->loopback) return pick->addr;
  Endpoint loopback;
  auto* in = reinterpret_cast<sockaddr_in*>(&loopback.ss);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  loopback.len = sizeof(sockaddr_in);
  return loopback;
}

Endpoint local_endpoint(int fd) {
  Endpoint e;
  e.len = sizeof e.ss;
  if (getsockname(fd, e.addr(), &e.len) != 0) e = Endpoint{};
  return e;
}

}  // namespace colossus::bootstrap
