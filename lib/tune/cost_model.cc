#include "tune/cost_model.hpp"

#include <sstream>

namespace colossus::tune {

std::string CostModel::describe() const {
  std::ostringstream os;
  os << "cost model (" << source << "): intra " << intra.gbytes_per_s << " GB/s, "
     << intra.latency_us << " us, local " << local_gbytes_per_s << " GB/s traffic; inter "
     << inter.gbytes_per_s << " GB/s x " << nics_per_node << " NIC(s)/node, " << inter.latency_us
     << " us; step " << step_us << " us";
  if (cores_per_node > 0) os << "; " << cores_per_node << " cores/node";
  return os.str();
}

CostModel host_memory_model(int cores_per_node) {
  CostModel m;
  // Shared-memory hop between processes: bench/RESULTS.md "tuner calibration"
  // (2-rank 8-byte allreduce ~0.45 us for 2 steps; 2-rank 32 MiB busbw ~4 GB/s).
  m.intra = {4.0, 0.2};
  m.local_gbytes_per_s = 11.0;  // 2 x memcpy's 5.5 GB/s payload (64 MiB) on the dev VM
  // No network between host-memory ranks of one machine; a tcp loopback hop
  // is what an "inter" step would cost if the layout says otherwise.
  m.inter = {1.0, 30.0};
  m.cores_per_node = cores_per_node;
  m.source = "host memory defaults";
  return m;
}

}  // namespace colossus::tune
