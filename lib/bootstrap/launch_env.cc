#include "bootstrap/launch_env.hpp"

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "bootstrap/address.hpp"
#include "colossus/error.hpp"

extern char** environ;

namespace colossus::bootstrap {

namespace {

const std::string* find(const Environment& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() || it->second.empty() ? nullptr : &it->second;
}

int to_int(const std::string& launcher, const char* name, const std::string& text, long lo,
           long hi) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (errno || end == text.c_str() || *end != '\0' || v < lo || v > hi) {
    throw Error(ErrorCode::InvalidArgument, launcher + " environment: " + name + "=" + text +
                                                " is not an integer in [" + std::to_string(lo) +
                                                ", " + std::to_string(hi) + "]");
  }
  return static_cast<int>(v);
}

// FNV-1a: a stable 64-bit digest of the launcher's job identity.
uint64_t digest(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

struct Launcher {
  const char* name;
  const char* rank;
  const char* size;
  const char* local_rank;
  std::vector<const char*> job_ids;  // concatenated into the job key
};

const std::vector<Launcher>& launchers() {
  static const std::vector<Launcher> all = {
      {"colossus-run",
       "COLOSSUS_RANK",
       "COLOSSUS_WORLD_SIZE",
       "COLOSSUS_LOCAL_RANK",
       {"COLOSSUS_JOB_ID"}},
      {"torchrun",
       "RANK",
       "WORLD_SIZE",
       "LOCAL_RANK",
       {"TORCHELASTIC_RUN_ID", "MASTER_ADDR", "MASTER_PORT"}},
      {"mpirun",
       "OMPI_COMM_WORLD_RANK",
       "OMPI_COMM_WORLD_SIZE",
       "OMPI_COMM_WORLD_LOCAL_RANK",
       {"OMPI_MCA_ess_base_jobid", "OMPI_MCA_orte_hnp_uri", "PMIX_NAMESPACE"}},
      {"srun", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", {"SLURM_JOB_ID", "SLURM_STEP_ID"}},
  };
  return all;
}

}  // namespace

Environment process_environment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

std::optional<LaunchInfo> detect_launch(const Environment& env) {
  for (const Launcher& l : launchers()) {
    const std::string* rank = find(env, l.rank);
    const std::string* size = find(env, l.size);
    if (!rank || !size) continue;
    LaunchInfo info;
    info.launcher = l.name;
    info.world_size = to_int(l.name, l.size, *size, 1, 1 << 24);
    info.rank = to_int(l.name, l.rank, *rank, 0, info.world_size - 1);
    if (const std::string* lr = find(env, l.local_rank)) {
      info.local_rank = to_int(l.name, l.local_rank, *lr, 0, info.world_size - 1);
    }
    std::string identity = l.name;
    for (const char* id : l.job_ids) {
      if (const std::string* v = find(env, id)) identity += std::string("|") + id + "=" + *v;
    }
    if (const std::string* addr = find(env, "COLOSSUS_BOOTSTRAP_ADDR")) {
      HostPort hp;
      std::string why;
      if (!split_host_port(*addr, &hp, &why) || !hp.has_port || hp.port == 0) {
        throw Error(ErrorCode::InvalidArgument,
                    "COLOSSUS_BOOTSTRAP_ADDR=" + *addr + " is not host:port with a nonzero port");
      }
      info.bootstrap_host = hp.host;
      info.bootstrap_port = hp.port;
    } else if (l.name == std::string("torchrun")) {
      const std::string* host = find(env, "MASTER_ADDR");
      const std::string* port = find(env, "MASTER_PORT");
      if (host && port) {
        info.bootstrap_host = *host;
        // torchrun's store owns MASTER_PORT; rendezvous one port above it.
        info.bootstrap_port = to_int(l.name, "MASTER_PORT", *port, 1, 65534) + 1;
      }
    }
    identity += "|" + info.bootstrap_host + ":" + std::to_string(info.bootstrap_port);
    info.job_key = digest(identity);
    return info;
  }
  return std::nullopt;
}

UniqueId launch_unique_id(const LaunchInfo& launch, const std::string& caller) {
  if (launch.bootstrap_host.empty()) {
    throw Error(ErrorCode::InvalidUsage,
                caller + ": " + launch.launcher +
                    " gives no rendezvous address; set COLOSSUS_BOOTSTRAP_ADDR=host:port (a port "
                    "free on rank 0's host)");
  }
  const std::string where = launch.bootstrap_host + ":" + std::to_string(launch.bootstrap_port);
  return launch.rank == 0 ? make_unique_id(where, launch.job_key)
                          : unique_id_for(where, launch.job_key);
}

}  // namespace colossus::bootstrap
