// config.hpp: the one place that reads COLOSSUS_* and NCCL_* environment variables.
//
// Every knob of the library is a field here with its default, its variable
// and a line of help; nothing else calls getenv for COLOSSUS_*. An unknown
// COLOSSUS_* variable (a typo, usually) is reported once at WARN.
//
// NCCL's variables that have a colossus meaning (nccl_vars()) set the same
// fields, in every process that loads libcolossus (C++ API and libnccl.so.2
// alike); where the COLOSSUS_* variable of a field is set too, it wins. The
// other NCCL_* variables are listed once at INFO as ignored (config_nccl.cc).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace colossus::base {

enum class LogLevel : int { None = 0, Warn = 1, Info = 2, Trace = 3 };

// Subsystems a log line may belong to: NCCL_DEBUG_SUBSYS's names, NCCL's bits.
enum class LogSub : unsigned {
  Init = 1u << 0,
  Coll = 1u << 1,
  P2P = 1u << 2,
  Shm = 1u << 3,
  Net = 1u << 4,
  Graph = 1u << 5,
  Tuning = 1u << 6,
  Env = 1u << 7,
  Alloc = 1u << 8,
  Call = 1u << 9,
  Proxy = 1u << 10,
  Nvls = 1u << 11,
  Bootstrap = 1u << 12,
  Reg = 1u << 13,
  Profile = 1u << 14,
  Ras = 1u << 15,
  All = ~0u,
};

struct Config {
  LogLevel log_level = LogLevel::Warn;  // COLOSSUS_DEBUG=NONE|VERSION|WARN|INFO|TRACE
  std::string log_file;                 // COLOSSUS_DEBUG_FILE (%h host, %p pid); "" = stderr
  unsigned log_subsys = ~0u;            // COLOSSUS_DEBUG_SUBSYS: LogSub bits of INFO/TRACE lines
  bool log_version = false;             // COLOSSUS_DEBUG=VERSION: print the version line once
  double timeout_s = 300;               // COLOSSUS_TIMEOUT_S: deadline of every wait
  int nchannels = 2;                    // COLOSSUS_NCHANNELS
  std::size_t chunk_bytes = 512 << 10;  // COLOSSUS_CHUNK_BYTES: Plan pipelining unit
  std::size_t slot_bytes = 512 << 10;   // COLOSSUS_SLOT_BYTES: transport FIFO slot size
  bool nchannels_set = false;           // the variables above were given: the tuner keeps them
  bool chunk_set = false;
  int min_nchannels = 1;   // NCCL_MIN_NCHANNELS, NCCL_MAX_NCHANNELS: bounds of the tuned
  int max_nchannels = 64;  // channel counts (ignored when nchannels_set)
  int fifo_depth = 4;      // COLOSSUS_FIFO_DEPTH: slots per connection
  // COLOSSUS_SHM_CMA_MIN: smallest shm message the receiver reads straight
  // from the sender's memory (one copy, process_vm_readv); "off" = never.
  std::size_t shm_cma_min = 256 << 10;
  bool shm_cma = true;
  std::string algo;                        // COLOSSUS_ALGO (NCCL_ALGO syntax)
  std::string algo_var = "COLOSSUS_ALGO";  // or NCCL_ALGO: a bad NCCL_ALGO only warns
  std::string topo;             // COLOSSUS_TOPO: preset or XML to map ranks onto; "" = hosts
  std::string socket_ifname;    // COLOSSUS_SOCKET_IFNAME (NCCL's syntax); "" = auto
  int socket_nsocks = 2;        // COLOSSUS_SOCKET_NSOCKS: tcp sockets per peer and channel
  std::string transport;        // COLOSSUS_TRANSPORT: "" (auto), "shm", "tcp" or "ucx"
  std::string ucx_tls;          // COLOSSUS_UCX_TLS: passed to UCX as UCX_TLS; "" = UCX's choice
  std::string ucx_net_devices;  // COLOSSUS_UCX_NET_DEVICES: passed as UCX_NET_DEVICES
  std::string bootstrap_addr;   // COLOSSUS_BOOTSTRAP_ADDR: rank 0's listen address; "" = auto
  std::string bootstrap_addr_var = "COLOSSUS_BOOTSTRAP_ADDR";  // or NCCL_COMM_ID: who set it
  std::string topo_file;  // COLOSSUS_TOPO_FILE: topology XML to load instead of discovering
  std::string topo_file_var = "COLOSSUS_TOPO_FILE";  // or NCCL_TOPO_FILE: a bad one only warns
  std::string topo_dump_file;  // COLOSSUS_TOPO_DUMP_FILE (%h host, %p pid): write the topology

  // Problems found while reading (bad values, unknown variables), one per line.
  std::vector<std::string> warnings;
  // NCCL_* variables in force ("NCCL_ALGO=ring", "NCCL_ALGO=ring (COLOSSUS_ALGO wins)")
  // and the NCCL_* names with no colossus meaning, for the INFO lines.
  std::vector<std::string> nccl_honoured;
  std::vector<std::string> nccl_ignored;

  static Config from_env();
};

// Parsed once per process, on first use.
const Config& env_config();

struct ConfigVar {
  const char* name;
  const char* help;
};
// Every COLOSSUS_* variable Config reads, for --help texts and the README.
const std::vector<ConfigVar>& config_vars();
// Every NCCL_* variable Config honours, with the field it sets.
const std::vector<ConfigVar>& nccl_vars();

// The one byte-size grammar of the library, its tools and benchmarks:
// digits with an optional fraction, then an optional unit K, M or G (any
// case, powers of 1024) that may be followed by B: "123", "4K", "512KB",
// "1.5k" (1536), "64M", "2G". A fraction of a byte is dropped ("1.5" is 1).
// False on anything else (a sign, spaces, an exponent, "4X", "4KK", "8B")
// and on a size that does not fit a size_t.
bool parse_bytes(const std::string& text, std::size_t* out);

}  // namespace colossus::base
