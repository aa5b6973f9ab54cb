// "Hosts" of a one-machine testbed: a host is a network namespace at
// /run/netns/NAME (as `ip netns add NAME` makes it), optionally paired with a
// UTS namespace bind-mounted at /run/colossus-testbed/NAME.uts that gives it
// its own hostname. scripts/testbed.sh creates both; colossus-run only enters
// them. Entering needs CAP_SYS_ADMIN (root).
#pragma once

#include <string>

namespace colossus::run {

inline constexpr const char* kNetnsDir = "/run/netns";
inline constexpr const char* kUtsDir = "/run/colossus-testbed";

// True when /run/netns/NAME exists.
bool host_exists(const std::string& name);

// Moves the calling process into host NAME, as `ip netns exec` would, plus
// its UTS namespace when one exists. For a freshly forked child only: it
// also makes a private mount namespace with /sys remounted, so the rank's
// /sys/class/net lists the host's interfaces, not the machine's. On failure
// writes nothing and returns false with *error set.
bool enter_host(const std::string& name, std::string* error);

// "ADDR:PORT" for rank 0 to listen on: ADDR is 127.0.0.1 when host is empty,
// otherwise the host's first IPv4 address that is up and not loopback; PORT
// is one the kernel reports free there right now. (Another process could take
// it before rank 0 binds: the usual race of every launcher that picks ports.)
// Throws std::runtime_error.
std::string pick_bootstrap_addr(const std::string& host);

}  // namespace colossus::run
