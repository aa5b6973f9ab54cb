// config_nccl.cc: NCCL's environment variables, mapped onto Config's fields.
//
// A process that swaps NCCL for colossus keeps its NCCL_* settings: those
// with a colossus meaning set the same field as their COLOSSUS_* variable
// (which wins when both are set), a bad value of one of them is a warning
// like a bad COLOSSUS_* value, and every other NCCL_* variable is listed once
// at INFO as ignored. The NCCL_TESTS_* variables belong to the *_perf tools.
#include <algorithm>
#include <cstring>
#include <string>

#include "base/config_parse.hpp"

namespace colossus::base {

const std::vector<ConfigVar>& nccl_vars() {
  static const std::vector<ConfigVar> vars = {
      {"NCCL_DEBUG", "as COLOSSUS_DEBUG: VERSION, WARN, INFO, TRACE (and NONE)"},
      {"NCCL_DEBUG_FILE", "as COLOSSUS_DEBUG_FILE (%h host, %p pid)"},
      {"NCCL_DEBUG_SUBSYS", "as COLOSSUS_DEBUG_SUBSYS (INIT,COLL,...; ^ inverts)"},
      {"NCCL_ALGO", "as COLOSSUS_ALGO; names colossus lacks (NVLS, PAT, ...) warn at init"},
      {"NCCL_SOCKET_IFNAME", "as COLOSSUS_SOCKET_IFNAME"},
      {"NCCL_COMM_ID",
       "host:port: as COLOSSUS_BOOTSTRAP_ADDR, where the rank calling ncclGetUniqueId listens"},
      {"NCCL_TOPO_FILE",
       "as COLOSSUS_TOPO_FILE (colossus's XML; a file it cannot load warns, then discovery)"},
      {"NCCL_TOPO_DUMP_FILE", "as COLOSSUS_TOPO_DUMP_FILE (written in colossus's XML)"},
      {"NCCL_MIN_NCHANNELS", "fewest channels the tuner may pick (1..64)"},
      {"NCCL_MAX_NCHANNELS", "most channels the tuner may pick (1..64)"},
      {"NCCL_SOCKET_NTHREADS", "times NCCL_NSOCKS_PERTHREAD: COLOSSUS_SOCKET_NSOCKS (at most 16)"},
      {"NCCL_NSOCKS_PERTHREAD", "times NCCL_SOCKET_NTHREADS: COLOSSUS_SOCKET_NSOCKS (at most 16)"},
      {"NCCL_SHM_DISABLE", "1: as COLOSSUS_TRANSPORT=tcp; 0: no effect"},
      {"NCCL_BUFFSIZE",
       "bytes of one connection's FIFO: COLOSSUS_SLOT_BYTES = NCCL_BUFFSIZE / COLOSSUS_FIFO_DEPTH"},
  };
  return vars;
}

namespace detail {

namespace {

// The value of `nccl` when it is set and `colossus` is not; a set `nccl` that
// `colossus` overrides is noted as such.
const char* nccl_value(Config& c, const char* nccl, const char* colossus) {
  const char* v = env_get(nccl);
  if (v && env_get(colossus)) {
    c.nccl_honoured.push_back(std::string(nccl) + "=" + v + " (" + colossus + " wins)");
    return nullptr;
  }
  return v;
}

void honour(Config& c, const char* nccl, const char* v) {
  c.nccl_honoured.push_back(std::string(nccl) + "=" + v);
}

// host:port with a port in 1..65535, as NCCL_COMM_ID must be.
bool host_port(const char* v) {
  const char* colon = std::strrchr(v, ':');
  long port = 0;
  return colon && colon != v && parse_int(colon + 1, 1, 65535, &port);
}

void read_logging(Config& c) {
  if (const char* v = nccl_value(c, "NCCL_DEBUG", "COLOSSUS_DEBUG")) {
    if (parse_log_level(v, &c.log_level, &c.log_version))
      honour(c, "NCCL_DEBUG", v);
    else
      warn(c, "NCCL_DEBUG", v, "expected VERSION, WARN, INFO or TRACE");
  }
  if (const char* v = nccl_value(c, "NCCL_DEBUG_FILE", "COLOSSUS_DEBUG_FILE"))
    c.log_file = v, honour(c, "NCCL_DEBUG_FILE", v);
  if (const char* v = nccl_value(c, "NCCL_DEBUG_SUBSYS", "COLOSSUS_DEBUG_SUBSYS")) {
    if (parse_log_subsys(v, &c.log_subsys))
      honour(c, "NCCL_DEBUG_SUBSYS", v);
    else
      warn(c, "NCCL_DEBUG_SUBSYS", v, "expected subsystems (INIT, COLL, ..., ALL), ^ inverts");
  }
}

void read_strings(Config& c) {
  static const struct {
    const char* nccl;
    const char* colossus;
    std::string Config::*field;
    std::string Config::*var;  // where the field names its source, if it does
  } strings[] = {
      {"NCCL_ALGO", "COLOSSUS_ALGO", &Config::algo, &Config::algo_var},
      {"NCCL_SOCKET_IFNAME", "COLOSSUS_SOCKET_IFNAME", &Config::socket_ifname, nullptr},
      {"NCCL_TOPO_FILE", "COLOSSUS_TOPO_FILE", &Config::topo_file, &Config::topo_file_var},
      {"NCCL_TOPO_DUMP_FILE", "COLOSSUS_TOPO_DUMP_FILE", &Config::topo_dump_file, nullptr},
  };
  for (const auto& s : strings) {
    if (const char* v = nccl_value(c, s.nccl, s.colossus)) {
      c.*s.field = v;
      if (s.var) c.*s.var = s.nccl;
      honour(c, s.nccl, v);
    }
  }
  if (const char* v = nccl_value(c, "NCCL_COMM_ID", "COLOSSUS_BOOTSTRAP_ADDR")) {
    if (host_port(v))
      c.bootstrap_addr = v, c.bootstrap_addr_var = "NCCL_COMM_ID", honour(c, "NCCL_COMM_ID", v);
    else
      warn(c, "NCCL_COMM_ID", v, "expected host:port");
  }
}

void read_channels(Config& c) {
  long lo = 1, hi = 64;
  const char* vlo = nccl_value(c, "NCCL_MIN_NCHANNELS", "COLOSSUS_NCHANNELS");
  const char* vhi = nccl_value(c, "NCCL_MAX_NCHANNELS", "COLOSSUS_NCHANNELS");
  if (vhi && !parse_int(vhi, 1, 64, &hi))
    warn(c, "NCCL_MAX_NCHANNELS", vhi, "expected an integer in 1..64"), vhi = nullptr;
  if (vlo && !parse_int(vlo, 1, hi, &lo))
    warn(c, "NCCL_MIN_NCHANNELS", vlo, "expected an integer in 1..NCCL_MAX_NCHANNELS"),
        vlo = nullptr;
  if (vhi) c.max_nchannels = static_cast<int>(hi), honour(c, "NCCL_MAX_NCHANNELS", vhi);
  if (vlo) c.min_nchannels = static_cast<int>(lo), honour(c, "NCCL_MIN_NCHANNELS", vlo);
}

void read_sockets(Config& c) {
  long threads = 1, socks = 1;
  const char* vt = nccl_value(c, "NCCL_SOCKET_NTHREADS", "COLOSSUS_SOCKET_NSOCKS");
  const char* vs = nccl_value(c, "NCCL_NSOCKS_PERTHREAD", "COLOSSUS_SOCKET_NSOCKS");
  if (vt && !parse_int(vt, 1, 16, &threads))
    warn(c, "NCCL_SOCKET_NTHREADS", vt, "expected an integer in 1..16"), vt = nullptr;
  if (vs && !parse_int(vs, 1, 64, &socks))
    warn(c, "NCCL_NSOCKS_PERTHREAD", vs, "expected an integer in 1..64"), vs = nullptr;
  if (!vt && !vs) return;
  if (threads * socks > 64) {
    warn(c, vs ? "NCCL_NSOCKS_PERTHREAD" : "NCCL_SOCKET_NTHREADS", vs ? vs : vt,
         "NCCL_SOCKET_NTHREADS x NCCL_NSOCKS_PERTHREAD exceeds 64");
    return;
  }
  c.socket_nsocks = static_cast<int>(std::min(threads * socks, 16L));
  const std::string what = std::to_string(threads) + " threads x " + std::to_string(socks) +
                           " sockets: " + std::to_string(c.socket_nsocks) + " sockets per peer" +
                           (threads * socks > 16 ? ", colossus's most" : "");
  if (vt) honour(c, "NCCL_SOCKET_NTHREADS", vt);
  if (vs) honour(c, "NCCL_NSOCKS_PERTHREAD", vs);
  c.nccl_honoured.back() += " (" + what + ")";
}

void read_buffers(Config& c) {
  if (const char* v = nccl_value(c, "NCCL_SHM_DISABLE", "COLOSSUS_TRANSPORT")) {
    if (!std::strcmp(v, "1"))
      c.transport = "tcp", honour(c, "NCCL_SHM_DISABLE", v);
    else if (!std::strcmp(v, "0"))
      honour(c, "NCCL_SHM_DISABLE", v);
    else
      warn(c, "NCCL_SHM_DISABLE", v, "expected 0 or 1");
  }
  if (const char* v = nccl_value(c, "NCCL_BUFFSIZE", "COLOSSUS_SLOT_BYTES")) {
    std::size_t bytes = 0;
    const std::size_t depth = static_cast<std::size_t>(c.fifo_depth);
    if (parse_bytes(v, &bytes) && bytes / depth >= 64 && bytes / depth <= (1ull << 30))
      c.slot_bytes = bytes / depth, honour(c, "NCCL_BUFFSIZE", v);
    else
      warn(c, "NCCL_BUFFSIZE", v, "expected a size of 64..1G bytes per FIFO slot");
  }
}

}  // namespace

void read_nccl_env(Config& c) {
  read_logging(c);
  read_strings(c);
  read_channels(c);
  read_sockets(c);
  read_buffers(c);
  for (std::string& name : env_names_not_in("NCCL_", nccl_vars())) {
    if (name.rfind("NCCL_TESTS_", 0) != 0) c.nccl_ignored.push_back(std::move(name));
  }
}

}  // namespace detail

}  // namespace colossus::base
