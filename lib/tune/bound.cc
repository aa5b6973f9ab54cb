#include "tune/bound.hpp"

#include <algorithm>

namespace colossus::tune {

std::string bound_of(double time_us, const BusyTimes& b) {
  const double most = std::max({b.nic_us, b.intra_us, b.memory_us});
  if (!(most > time_us / 2)) return "latency";
  return b.nic_us == most ? "NIC" : b.intra_us == most ? "intra-node" : "memory";
}

}  // namespace colossus::tune
