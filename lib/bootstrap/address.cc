#include "bootstrap/address.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace colossus::bootstrap {

uint16_t Endpoint::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

void Endpoint::set_port(uint16_t port) {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(port);
}

Endpoint Endpoint::wildcard() const {
  Endpoint any;
  any.storage.ss_family = storage.ss_family;
  any.length = length;
  any.set_port(port());  // the rest stays zero: INADDR_ANY, in6addr_any
  return any;
}

std::string Endpoint::str() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text,
              sizeof text);
    return std::string(text) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
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
    std::memcpy(wire.ip, &reinterpret_cast<const sockaddr_in*>(&endpoint.storage)->sin_addr, 4);
  } else if (endpoint.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&endpoint.storage);
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
    auto* in = reinterpret_cast<sockaddr_in*>(&e.storage);
    in->sin_family = AF_INET;
    std::memcpy(&in->sin_addr, wire.ip, 4);
    e.length = sizeof(sockaddr_in);
  } else if (wire.family == 6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&e.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_scope_id = wire.scope_id;
    std::memcpy(&in6->sin6_addr, wire.ip, 16);
    e.length = sizeof(sockaddr_in6);
  } else {
    *why = "unknown address family " + std::to_string(wire.family);
    return false;
  }
  e.set_port(wire.port);
  *out = e;
  return true;
}

namespace {

struct IfAddrsFree {
  void operator()(ifaddrs* list) const { freeifaddrs(list); }
};
using IfAddrs = std::unique_ptr<ifaddrs, IfAddrsFree>;

IfAddrs interfaces() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return nullptr;
  return IfAddrs(list);
}

Endpoint from_sockaddr(const sockaddr* sa) {
  Endpoint e;
  e.length = sa->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  std::memcpy(&e.storage, sa, e.length);
  e.set_port(0);
  return e;
}

// An interface named `name` that is up: its IPv4 address, else its IPv6 one.
bool interface_endpoint(const std::string& name, Endpoint* out) {
  const IfAddrs list = interfaces();
  const sockaddr* v6 = nullptr;
  for (const ifaddrs* i = list.get(); i; i = i->ifa_next) {
    if (!i->ifa_addr || name != i->ifa_name || !(i->ifa_flags & IFF_UP)) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      *out = from_sockaddr(i->ifa_addr);
      return true;
    }
    if (i->ifa_addr->sa_family == AF_INET6 && !v6) v6 = i->ifa_addr;
  }
  if (v6) *out = from_sockaddr(v6);
  return v6 != nullptr;
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

bool parse_port(const std::string& text, uint16_t* port) {
  if (text.empty() || text.size() > 5) return false;
  unsigned long v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned long>(c - '0');
  }
  if (v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

bool resolve_spec(const std::string& spec, ResolvedSpec* out, std::string* why) {
  auto reject = [why](std::string reason) {
    *why = std::move(reason);
    return false;
  };
  std::string host, port_text;
  if (!spec.empty() && spec[0] == '[') {
    const std::size_t close = spec.find(']');
    if (close == std::string::npos) return reject("'[' without ']'");
    host = spec.substr(1, close - 1);
    const std::string rest = spec.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return reject("junk after ']'");
    if (!rest.empty()) port_text = rest.substr(1);
    if (rest == ":") return reject("empty port");
  } else {
    const std::size_t colons = static_cast<std::size_t>(std::count(spec.begin(), spec.end(), ':'));
    const std::size_t last = spec.rfind(':');
    if (colons == 1) {
      host = spec.substr(0, last);
      port_text = spec.substr(last + 1);
      if (port_text.empty()) return reject("empty port");
    } else {
      host = spec;  // no port, or a bare IPv6 address
    }
  }
  if (host.empty()) return reject("empty host");
  uint16_t port = 0;
  if (!port_text.empty() && !parse_port(port_text, &port)) {
    return reject("port '" + port_text + "' is not a number in 0..65535");
  }
  ResolvedSpec r;
  std::string lookup_error;
  if (lookup(host, AI_NUMERICHOST, &r.endpoint, &lookup_error) ||
      interface_endpoint(host, &r.endpoint)) {
    r.numeric = true;
  } else if (!lookup(host, AI_ADDRCONFIG, &r.endpoint, &lookup_error)) {
    return reject("cannot resolve '" + host + "': " + lookup_error);
  }
  r.endpoint.set_port(port);
  *out = r;
  return true;
}

Endpoint default_endpoint() {
  const IfAddrs list = interfaces();
  for (const ifaddrs* i = list.get(); i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
    const std::string name = i->ifa_name;
    if (name.rfind("docker", 0) == 0 || name.rfind("virbr", 0) == 0) continue;
    return from_sockaddr(i->ifa_addr);
  }
  Endpoint loopback;
  auto* in = reinterpret_cast<sockaddr_in*>(&loopback.storage);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  loopback.length = sizeof(sockaddr_in);
  return loopback;
}

Endpoint local_endpoint(int fd) {
  Endpoint e;
  e.length = sizeof e.storage;
  if (getsockname(fd, e.addr(), &e.length) != 0) e = Endpoint{};
  return e;
}

}  // namespace colossus::bootstrap
