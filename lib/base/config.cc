#include "base/config.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "base/config_parse.hpp"
#include "colossus/colossus.hpp"

extern char** environ;

namespace colossus::base {

namespace detail {

const char* env_get(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

bool parse_int(const char* text, long lo, long hi, long* out) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text, &end, 10);
  if (errno || end == text || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool parse_log_level(const char* text, LogLevel* level, bool* version) {
  static const struct {
    const char* name;
    LogLevel level;
  } levels[] = {{"NONE", LogLevel::None},
                {"VERSION", LogLevel::None},
                {"WARN", LogLevel::Warn},
                {"INFO", LogLevel::Info},
                {"TRACE", LogLevel::Trace}};
  for (const auto& l : levels) {
    if (strcasecmp(text, l.name) != 0) continue;
    *level = l.level;
    *version = !strcasecmp(text, "VERSION");
    return true;
  }
  return false;
}

bool parse_log_subsys(const char* text, unsigned* mask) {
  static const struct {
    const char* name;
    LogSub sub;
  } subs[] = {{"INIT", LogSub::Init},
              {"COLL", LogSub::Coll},
              {"P2P", LogSub::P2P},
              {"SHM", LogSub::Shm},
              {"NET", LogSub::Net},
              {"GRAPH", LogSub::Graph},
              {"TUNING", LogSub::Tuning},
              {"ENV", LogSub::Env},
              {"ALLOC", LogSub::Alloc},
              {"CALL", LogSub::Call},
              {"PROXY", LogSub::Proxy},
              {"NVLS", LogSub::Nvls},
              {"BOOTSTRAP", LogSub::Bootstrap},
              {"REG", LogSub::Reg},
              {"PROFILE", LogSub::Profile},
              {"RAS", LogSub::Ras},
              {"ALL", LogSub::All}};
  const bool invert = *text == '^';
  std::string list(text + (invert ? 1 : 0));
  unsigned bits = 0;
  std::size_t at = 0;
  do {
    const std::size_t comma = list.find(',', at);
    const std::string name = list.substr(at, comma == std::string::npos ? comma : comma - at);
    bool known = false;
    for (const auto& s : subs) {
      if (strcasecmp(name.c_str(), s.name) == 0) bits |= static_cast<unsigned>(s.sub), known = true;
    }
    if (!known) return false;
    at = comma == std::string::npos ? comma : comma + 1;
  } while (at != std::string::npos);
  *mask = invert ? ~bits : bits;
  return true;
}

std::vector<std::string> env_names_not_in(const char* prefix, const std::vector<ConfigVar>& vars) {
  std::vector<std::string> names;
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, prefix, std::strlen(prefix)) != 0) continue;
    std::string name(*e, std::strcspn(*e, "="));
    bool known = false;
    for (const auto& var : vars) known = known || name == var.name;
    if (!known) names.push_back(std::move(name));
  }
  return names;
}

void warn(Config& c, const char* var, const char* val, const char* why) {
  c.warnings.push_back(std::string(var) + "=" + val + " ignored: " + why);
}

}  // namespace detail

using detail::env_get;
using detail::parse_int;
using detail::warn;

bool parse_bytes(const std::string& text, std::size_t* out) {
  const char* c = text.c_str();
  // Whole part, exactly (no overflow past what a size_t holds).
  unsigned __int128 whole = 0;
  bool digits = false;
  for (; *c >= '0' && *c <= '9'; ++c, digits = true) {
    whole = whole * 10 + static_cast<unsigned>(*c - '0');
    if (whole > std::numeric_limits<std::size_t>::max()) return false;
  }
  // Fraction as num / den, its first 18 digits (the rest cannot change a byte count).
  unsigned long long num = 0, den = 1;
  if (*c == '.') {
    for (++c; *c >= '0' && *c <= '9'; ++c, digits = true) {
      if (den < 1000000000000000000ull) num = num * 10 + static_cast<unsigned>(*c - '0'), den *= 10;
    }
  }
  if (!digits) return false;
  unsigned long long mult = 1;
  switch (*c) {
    case 'k':
    case 'K': mult = 1ull << 10; break;
    case 'm':
    case 'M': mult = 1ull << 20; break;
    case 'g':
    case 'G': mult = 1ull << 30; break;
    default: break;
  }
  if (mult != 1) {
    ++c;
    if (*c == 'B' || *c == 'b') ++c;
  }
  if (*c != '\0') return false;
  const unsigned __int128 bytes = whole * mult + static_cast<unsigned __int128>(num) * mult / den;
  if (bytes > std::numeric_limits<std::size_t>::max()) return false;
  *out = static_cast<std::size_t>(bytes);
  return true;
}

const std::vector<ConfigVar>& config_vars() {
  static const std::vector<ConfigVar> vars = {
      {"COLOSSUS_DEBUG",
       "log level: NONE, VERSION (the version line only), WARN (default), INFO, TRACE"},
      {"COLOSSUS_DEBUG_FILE", "write logs to this file instead of stderr (%h host, %p pid)"},
      {"COLOSSUS_DEBUG_SUBSYS",
       "subsystems of INFO/TRACE lines, NCCL_DEBUG_SUBSYS syntax (INIT,TUNING; ^NET; default "
       "ALL); WARN lines always show"},
      {"COLOSSUS_TIMEOUT_S", "seconds any wait may last before it fails (default 300)"},
      {"COLOSSUS_NCHANNELS", "parallel channels per collective (default 2, 1..64)"},
      {"COLOSSUS_CHUNK_BYTES", "pipelining chunk of a Plan step (default 512K)"},
      {"COLOSSUS_SLOT_BYTES", "transport FIFO slot size (default 512K)"},
      {"COLOSSUS_FIFO_DEPTH", "slots per connection (default 4, 2..64)"},
      {"COLOSSUS_SHM_CMA_MIN",
       "shm messages from this size up are read straight from the sender's memory, one copy "
       "instead of two (process_vm_readv); off = never (default 256K)"},
      {"COLOSSUS_ALGO",
       "algorithms the tuner may pick, NCCL_ALGO syntax (ring, tree, hierarchical, "
       "recursive_doubling; ^ring; allreduce:tree;allgather:ring)"},
      {"COLOSSUS_TOPO",
       "map the ranks onto a preset (dgx-h100:nodes=2) or topology XML file instead "
       "of the hosts they run on"},
      {"COLOSSUS_SOCKET_IFNAME",
       "tcp interfaces: prefixes, ^ excludes, = exact (eth,^docker,=eth0); default: first up "
       "non-loopback"},
      {"COLOSSUS_SOCKET_NSOCKS",
       "tcp sockets per peer and channel; large messages are striped (default 2, 1..16)"},
      {"COLOSSUS_BOOTSTRAP_ADDR",
       "rank 0's rendezvous address: ip, ip:port, [ipv6]:port, interface or host name "
       "(default: first up non-loopback IPv4 interface, ephemeral port)"},
      {"COLOSSUS_TRANSPORT",
       "force one transport between processes: shm, tcp or ucx (default: shm "
       "within a host; across hosts ucx where UCX reports an RDMA device, else tcp)"},
      {"COLOSSUS_UCX_TLS",
       "the transports UCX may use, in UCX_TLS syntax (e.g. tcp, sm, rc_x,sm); "
       "default: UCX's own choice or UCX_TLS"},
      {"COLOSSUS_UCX_NET_DEVICES",
       "the devices UCX may use, in UCX_NET_DEVICES syntax (e.g. mlx5_0:1, eth0)"},
      {"COLOSSUS_TOPO_FILE",
       "topology XML file to load instead of discovering this host (see "
       "topology/README.md)"},
      {"COLOSSUS_TOPO_DUMP_FILE",
       "write this host's topology as XML to this file (%h host, %p pid)"},
      // Set per rank by colossus-run (tools/colossus-run) for the launcher detection.
      {"COLOSSUS_RANK", "this process's rank, 0..WORLD_SIZE-1 (set by colossus-run)"},
      {"COLOSSUS_WORLD_SIZE", "number of ranks in the job (set by colossus-run)"},
      {"COLOSSUS_LOCAL_RANK", "rank among the ranks on this host (set by colossus-run)"},
      {"COLOSSUS_LOCAL_SIZE", "number of ranks on this host (set by colossus-run)"},
      {"COLOSSUS_JOB_ID", "random hex id of one colossus-run launch, the same for all its ranks"},
  };
  return vars;
}

Config Config::from_env() {
  Config c;
  if (const char* v = env_get("COLOSSUS_DEBUG")) {
    if (!detail::parse_log_level(v, &c.log_level, &c.log_version))
      warn(c, "COLOSSUS_DEBUG", v, "expected NONE, VERSION, WARN, INFO or TRACE");
  }
  if (const char* v = env_get("COLOSSUS_DEBUG_FILE")) c.log_file = v;
  if (const char* v = env_get("COLOSSUS_DEBUG_SUBSYS")) {
    if (!detail::parse_log_subsys(v, &c.log_subsys))
      warn(c, "COLOSSUS_DEBUG_SUBSYS", v, "expected subsystems (INIT, COLL, ..., ALL), ^ inverts");
  }
  if (const char* v = env_get("COLOSSUS_TIMEOUT_S")) {
    char* end = nullptr;
    const double t = std::strtod(v, &end);
    if (end != v && *end == '\0' && t > 0 && t < 1e7)
      c.timeout_s = t;
    else
      warn(c, "COLOSSUS_TIMEOUT_S", v, "expected a positive number of seconds");
  }
  long n = 0;
  if (const char* v = env_get("COLOSSUS_NCHANNELS")) {
    if (parse_int(v, 1, 64, &n))
      c.nchannels = static_cast<int>(n), c.nchannels_set = true;
    else
      warn(c, "COLOSSUS_NCHANNELS", v, "expected an integer in 1..64");
  }
  if (const char* v = env_get("COLOSSUS_FIFO_DEPTH")) {
    if (parse_int(v, 2, 64, &n))
      c.fifo_depth = static_cast<int>(n);
    else
      warn(c, "COLOSSUS_FIFO_DEPTH", v, "expected an integer in 2..64 (a ring needs 2 slots)");
  }
  std::size_t bytes = 0;
  if (const char* v = env_get("COLOSSUS_CHUNK_BYTES")) {
    if (parse_bytes(v, &bytes) && bytes >= 16 && bytes <= (1ull << 30))
      c.chunk_bytes = bytes, c.chunk_set = true;
    else
      warn(c, "COLOSSUS_CHUNK_BYTES", v, "expected a size in 16..1G");
  }
  if (const char* v = env_get("COLOSSUS_SLOT_BYTES")) {
    if (parse_bytes(v, &bytes) && bytes >= 64 && bytes <= (1ull << 30))
      c.slot_bytes = bytes;
    else
      warn(c, "COLOSSUS_SLOT_BYTES", v, "expected a size in 64..1G");
  }
  if (const char* v = env_get("COLOSSUS_SHM_CMA_MIN")) {
    if (!strcasecmp(v, "off"))
      c.shm_cma = false;
    else if (parse_bytes(v, &bytes))
      c.shm_cma_min = bytes;
    else
      warn(c, "COLOSSUS_SHM_CMA_MIN", v, "expected a size or off");
  }
  if (const char* v = env_get("COLOSSUS_ALGO")) c.algo = v;
  if (const char* v = env_get("COLOSSUS_TOPO")) c.topo = v;  // parsed by topology/ when used
  if (const char* v = env_get("COLOSSUS_BOOTSTRAP_ADDR"))
    c.bootstrap_addr = v;  // parsed where used
  if (const char* v = env_get("COLOSSUS_SOCKET_IFNAME")) c.socket_ifname = v;
  if (const char* v = env_get("COLOSSUS_UCX_TLS")) c.ucx_tls = v;  // checked by UCX
  if (const char* v = env_get("COLOSSUS_UCX_NET_DEVICES")) c.ucx_net_devices = v;
  if (const char* v = env_get("COLOSSUS_TOPO_FILE"))
    c.topo_file = v;  // read (and checked) by topology/
  if (const char* v = env_get("COLOSSUS_TOPO_DUMP_FILE")) c.topo_dump_file = v;
  if (const char* v = env_get("COLOSSUS_SOCKET_NSOCKS")) {
    if (parse_int(v, 1, 16, &n))
      c.socket_nsocks = static_cast<int>(n);
    else
      warn(c, "COLOSSUS_SOCKET_NSOCKS", v, "expected an integer in 1..16");
  }
  if (const char* v = env_get("COLOSSUS_TRANSPORT")) {
    if (!strcasecmp(v, "shm") || !strcasecmp(v, "tcp") || !strcasecmp(v, "ucx")) {
      c.transport = v;
      for (auto& ch : c.transport) ch = static_cast<char>(tolower(ch));
    } else {
      warn(c, "COLOSSUS_TRANSPORT", v, "expected shm, tcp or ucx");
    }
  }

  detail::read_nccl_env(c);

  // Catch typos: any COLOSSUS_* that is not ours.
  for (const std::string& name : detail::env_names_not_in("COLOSSUS_", config_vars()))
    c.warnings.push_back("unknown variable " + name + " ignored");
  return c;
}

const Config& env_config() {
  static const Config config = Config::from_env();
  return config;
}

}  // namespace colossus::base

namespace colossus {

std::vector<EnvSetting> environment_settings() {
  std::vector<EnvSetting> out;
  for (const auto* vars : {&base::config_vars(), &base::nccl_vars()}) {
    for (const base::ConfigVar& v : *vars) {
      const char* value = base::env_get(v.name);
      out.push_back({v.name, v.help, value != nullptr, value ? value : ""});
    }
  }
  return out;
}

}  // namespace colossus
