// config.hpp: the one place that reads COLOSSUS_* environment variables.
//
// Every knob of the library is a field here with its default, its variable
// and a line of help; nothing else calls getenv for COLOSSUS_*. An unknown
// COLOSSUS_* variable (a typo, usually) is reported once at WARN.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace colossus::base {

enum class LogLevel : int { None = 0, Warn = 1, Info = 2, Trace = 3 };

struct Config {
  LogLevel log_level = LogLevel::Warn;  // COLOSSUS_DEBUG=NONE|WARN|INFO|TRACE
  std::string log_file;                 // COLOSSUS_DEBUG_FILE (%h host, %p pid); "" = stderr
  double timeout_s = 300;               // COLOSSUS_TIMEOUT_S: deadline of every wait
  int nchannels = 2;                    // COLOSSUS_NCHANNELS
  std::size_t chunk_bytes = 512 << 10;  // COLOSSUS_CHUNK_BYTES: Plan pipelining unit
  std::size_t slot_bytes = 512 << 10;   // COLOSSUS_SLOT_BYTES: transport FIFO slot size
  bool nchannels_set = false;           // the variables above were given: the tuner keeps them
  bool chunk_set = false;
  int fifo_depth = 4;  // COLOSSUS_FIFO_DEPTH: slots per connection
  // COLOSSUS_SHM_CMA_MIN: smallest shm message the receiver reads straight
  // from the sender's memory (one copy, process_vm_readv); "off" = never.
  std::size_t shm_cma_min = 256 << 10;
  bool shm_cma = true;
  std::string algo;            // COLOSSUS_ALGO (NCCL_ALGO syntax)
  std::string topo;            // COLOSSUS_TOPO: preset or XML to map ranks onto; "" = hosts
  std::string socket_ifname;   // COLOSSUS_SOCKET_IFNAME (NCCL's syntax); "" = auto
  int socket_nsocks = 2;       // COLOSSUS_SOCKET_NSOCKS: tcp sockets per peer and channel
  std::string transport;       // COLOSSUS_TRANSPORT: "" (auto), "shm" or "tcp"
  std::string bootstrap_addr;  // COLOSSUS_BOOTSTRAP_ADDR: rank 0's listen address; "" = auto
  std::string topo_file;       // COLOSSUS_TOPO_FILE: topology XML to load instead of discovering
  std::string topo_dump_file;  // COLOSSUS_TOPO_DUMP_FILE (%h host, %p pid): write the topology

  // Problems found while reading (bad values, unknown variables), one per line.
  std::vector<std::string> warnings;

  static Config from_env();
};

// Parsed once per process, on first use.
const Config& env_config();

struct ConfigVar {
  const char* name;
  const char* help;
};
// Every variable Config reads, for --help texts and the README.
const std::vector<ConfigVar>& config_vars();

// The one byte-size grammar of the library, its tools and benchmarks:
// digits with an optional fraction, then an optional unit K, M or G (any
// case, powers of 1024) that may be followed by B: "123", "4K", "512KB",
// "1.5k" (1536), "64M", "2G". A fraction of a byte is dropped ("1.5" is 1).
// False on anything else (a sign, spaces, an exponent, "4X", "4KK", "8B")
// and on a size that does not fit a size_t.
bool parse_bytes(const std::string& text, std::size_t* out);

}  // namespace colossus::base
