#include "tune/from_topology.hpp"

#include <set>
#include <string>

namespace colossus::tune {

CostModel cost_model(const topology::PathModel& paths, const std::string& source) {
  const topology::RankMap& map = paths.map();
  CostModel m;
  m.source = source;
  if (map.nranks() == 0) return m;
  const topology::Id host0 = map.ranks[0].host;
  const auto& topo = paths.topology();
  m.cores_per_node = topo.hosts[static_cast<std::size_t>(host0)].cores;

  int peer_here = -1, peer_away = -1;
  std::set<topology::Id> nics;
  for (int r = 0; r < map.nranks(); ++r) {
    const auto& place = map.ranks[static_cast<std::size_t>(r)];
    if (place.host == host0) {
      if (r != 0 && peer_here < 0) peer_here = r;
      if (place.nic != topology::kNone) nics.insert(place.nic);
    } else if (peer_away < 0) {
      peer_away = r;
    }
  }
  if (peer_here >= 0) {
    const topology::PathCost p = paths.intra_node(0, peer_here);
    const bool cpu = std::string(p.via) == "host memory";
    m.intra = {p.gbytes_per_s * (cpu ? kCpuCopyEfficiency : 1.0), p.latency_us};
  }
  // Copy loops: CPU ranks move memory at about twice memcpy's payload rate
  // (read + write); GPU ranks at their HBM rate.
  const auto& host = topo.hosts[static_cast<std::size_t>(host0)];
  m.local_gbytes_per_s = map.ranks[0].gpu != topology::kNone ? kGpuLocalGBps : 2 * host.mem_gbps;
  const topology::PathCost nic = paths.inter_node(0);
  if (nic.gbytes_per_s > 0) {
    m.inter.gbytes_per_s = nic.gbytes_per_s;
    m.inter.latency_us =
        peer_away >= 0 ? paths.network_latency_us(0, peer_away) : 2 * nic.latency_us;
  }
  m.nics_per_node = std::max<int>(1, static_cast<int>(nics.size()));
  return m;
}

}  // namespace colossus::tune
