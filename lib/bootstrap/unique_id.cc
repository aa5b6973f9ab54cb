#include "bootstrap/unique_id.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "base/config.hpp"
#include "base/logging.hpp"
#include "bootstrap/frame.hpp"
#include "colossus/error.hpp"

namespace colossus::bootstrap {

namespace {

// Listeners made by make_unique_id and not yet taken by rank 0's Bootstrap.
struct Registry {
  struct Entry {
    uint64_t secret;
    uint16_t port;
    pid_t maker;  // a child of a fork sees its parent's entries: a different pid
    Fd listener;
  };
  std::mutex mu;
  std::vector<Entry> entries;
};

Registry& registry() {
  static Registry r;
  return r;
}

UniqueId id_for(const Endpoint& root, uint64_t secret) {
  UniqueId id{};
  id.magic = kUniqueIdMagic;
  id.version = kProtocolVersion;
  id.secret = secret;
  id.root = to_wire(root);
  return id;
}

// The spec in force and where it came from, for error messages.
struct Choice {
  std::string spec;
  std::string source;
};

Choice choose_spec(const std::string& bind_spec) {
  if (!bind_spec.empty()) return {bind_spec, "argument"};
  const base::Config& env = base::env_config();
  if (!env.bootstrap_addr.empty()) return {env.bootstrap_addr, env.bootstrap_addr_var};
  return {"", ""};
}

ResolvedSpec resolve_or_throw(const Choice& choice) {
  ResolvedSpec r;
  std::string why;
  if (!resolve_spec(choice.spec, &r, &why)) {
    throw Error(ErrorCode::InvalidArgument,
                "bootstrap address '" + choice.spec + "' (" + choice.source + "): " + why);
  }
  return r;
}

}  // namespace

uint64_t random_secret() {
  uint64_t secret = 0;
  std::size_t got = 0;
  auto* bytes = reinterpret_cast<unsigned char*>(&secret);
  while (got < sizeof secret) {
    const ssize_t n = getrandom(bytes + got, sizeof secret - got, 0);
    if (n > 0)
      got += static_cast<std::size_t>(n);
    else if (n < 0 && errno != EINTR)
      break;
  }
  if (got < sizeof secret) {  // old kernels and some sandboxes lack getrandom
    got = 0;
    const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && got < sizeof secret) {
      const ssize_t n = ::read(fd, bytes + got, sizeof secret - got);
      if (n > 0)
        got += static_cast<std::size_t>(n);
      else if (n == 0 || errno != EINTR)
        break;
    }
    if (fd >= 0) ::close(fd);
  }
  if (got < sizeof secret) {
    throw Error(ErrorCode::SystemError, "bootstrap: no source of random bytes for the job secret");
  }
  return secret;
}

UniqueId make_unique_id(const std::string& bind_spec) {
  return make_unique_id(bind_spec, random_secret());
}

UniqueId make_unique_id(const std::string& bind_spec, uint64_t secret) {
  const Choice choice = choose_spec(bind_spec);
  Endpoint advertised, bind_at;
  if (choice.spec.empty()) {
    advertised = bind_at = default_endpoint();
  } else {
    const ResolvedSpec r = resolve_or_throw(choice);
    advertised = r.endpoint;
    bind_at = r.numeric ? r.endpoint : r.endpoint.wildcard();
  }
  Fd listener = listen_on(bind_at);
  advertised.set_port(local_endpoint(listener.get()).port());
  const UniqueId id = id_for(advertised, secret);
  CLOG_SUB(Info, Bootstrap) << "bootstrap: rank 0 listens on "
                            << local_endpoint(listener.get()).str() << " as " << advertised.str()
                            << (choice.source.empty() ? "" : " (from " + choice.source + ")");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.entries.push_back({secret, advertised.port(), ::getpid(), std::move(listener)});
  return id;
}

UniqueId make_spare_id(Endpoint near) {
  near.set_port(0);
  Fd listener = listen_on(near);
  near.set_port(local_endpoint(listener.get()).port());
  const uint64_t secret = random_secret();
  const UniqueId id = id_for(near, secret);
  CLOG_SUB(Trace, Bootstrap) << "bootstrap: spare rendezvous on " << near.str();
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.entries.push_back({secret, near.port(), ::getpid(), std::move(listener)});
  return id;
}

UniqueId unique_id_for(const std::string& where, uint64_t secret) {
  const ResolvedSpec r = resolve_or_throw({where, "rendezvous address"});
  if (r.endpoint.port() == 0) {
    throw Error(ErrorCode::InvalidArgument,
                "bootstrap address '" + where + "': the other ranks need rank 0's port");
  }
  return id_for(r.endpoint, secret);
}

std::string to_string(const UniqueId& id) {
  static const char kDigits[] = "0123456789abcdef";
  const auto* bytes = reinterpret_cast<const unsigned char*>(&id);
  std::string text;
  text.reserve(2 * sizeof id);
  for (std::size_t i = 0; i < sizeof id; ++i) {
    text.push_back(kDigits[bytes[i] >> 4]);
    text.push_back(kDigits[bytes[i] & 15]);
  }
  return text;
}

bool parse_unique_id(const std::string& text, UniqueId* id) {
  std::size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  if (end - begin != 2 * sizeof(UniqueId)) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  UniqueId parsed{};
  auto* bytes = reinterpret_cast<unsigned char*>(&parsed);
  for (std::size_t i = 0; i < sizeof parsed; ++i) {
    const int hi = nibble(text[begin + 2 * i]), lo = nibble(text[begin + 2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  std::string why;
  if (!check_unique_id(parsed, &why)) return false;
  *id = parsed;
  return true;
}

bool check_unique_id(const UniqueId& id, std::string* why) {
  if (id.magic != kUniqueIdMagic) {
    *why = "not a colossus unique id (bad magic)";
    return false;
  }
  if (id.version != kProtocolVersion) {
    *why = "unique id of protocol v" + std::to_string(id.version) + ", we speak v" +
           std::to_string(kProtocolVersion);
    return false;
  }
  for (const uint8_t b : id.padding) {
    if (b != 0) {
      *why = "unique id with nonzero padding (corrupted?)";
      return false;
    }
  }
  Endpoint root;
  if (!from_wire(id.root, &root, why)) return false;
  if (root.port() == 0) {
    *why = "unique id without a port";
    return false;
  }
  return true;
}

void discard_unique_id(const UniqueId& id) { take_listener(id).reset(); }

void drop_inherited_listener(const UniqueId& id) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::erase_if(r.entries, [&](const Registry::Entry& e) {
    return e.secret == id.secret && e.port == id.root.port && e.maker != ::getpid();
  });
}

Fd take_listener(const UniqueId& id) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (auto it = r.entries.begin(); it != r.entries.end(); ++it) {
    if (it->secret == id.secret && it->port == id.root.port) {
      Fd listener = std::move(it->listener);
      r.entries.erase(it);
      return listener;
    }
  }
  return {};
}

UniqueId with_secret(const UniqueId& id, uint64_t secret) {
  UniqueId out = id;
  out.secret = secret;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (Registry::Entry& e : r.entries) {
    if (e.secret == id.secret && e.port == id.root.port) {
      e.secret = secret;
      break;
    }
  }
  return out;
}

}  // namespace colossus::bootstrap
