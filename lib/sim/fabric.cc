#include "sim/fabric.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include "colossus/error.hpp"

namespace colossus::sim {

Fabric::Fabric(algorithms::Layout layout, const tune::CostModel& model)
    : layout_(std::move(layout)), model_(model), per_node_(std::max(1, layout_.max_per_node())) {
  nic_index_.resize(static_cast<std::size_t>(layout_.nranks()));
  nic_rate_.assign(static_cast<std::size_t>(layout_.nranks()), model_.inter.gbytes_per_s);
  nic_burst_.assign(static_cast<std::size_t>(layout_.nranks()), 0.0);
  nic_peak_ = nic_burst_;
}

Fabric Fabric::uniform(algorithms::Layout layout, const tune::CostModel& model) {
  Fabric f(std::move(layout), model);
  const int nics = std::max(1, model.nics_per_node);
  for (int r = 0; r < f.nranks(); ++r)
    f.nic_index_[static_cast<std::size_t>(r)] = f.layout_.local_index(r) % nics;
  f.find_asymmetry();
  return f;
}

Fabric Fabric::from_paths(const topology::PathModel& paths, const tune::CostModel& model) {
  const topology::RankMap& map = paths.map();
  Fabric f(algorithms::Layout::from_nodes(map.node_of_rank()), model);
  f.paths_ = &paths;
  // A NIC's index among the NICs its host's ranks send through, in order of
  // first use: equal on every node when nodes are alike.
  std::map<std::pair<int, topology::Id>, int> index;
  std::vector<int> used(static_cast<std::size_t>(f.layout_.nnodes()), 0);
  for (int r = 0; r < f.nranks(); ++r) {
    const auto& place = map.ranks[static_cast<std::size_t>(r)];
    const int node = f.layout_.node_of(r);
    auto [it, fresh] = index.try_emplace({node, place.nic}, used[static_cast<std::size_t>(node)]);
    if (fresh) ++used[static_cast<std::size_t>(node)];
    f.nic_index_[static_cast<std::size_t>(r)] = it->second;
    const double rate = paths.inter_node(r).gbytes_per_s;
    f.nic_rate_[static_cast<std::size_t>(r)] = rate > 0 ? rate : model.inter.gbytes_per_s;
    if (place.nic != topology::kNone) {
      const topology::Nic& nic = paths.topology().nics[static_cast<std::size_t>(place.nic)];
      if (nic.burst_bytes > 0 && nic.peak_gbits > nic.gbits) {
        f.nic_burst_[static_cast<std::size_t>(r)] = nic.burst_bytes;
        f.nic_peak_[static_cast<std::size_t>(r)] = nic.peak_gbits / 8;
      }
    }
  }
  f.find_asymmetry();
  return f;
}

double Fabric::nic_gbytes_per_s(int rank) const {
  return nic_rate_[static_cast<std::size_t>(rank)];
}

double Fabric::cores_gbytes_per_s() const {
  const int cores = model_.cores_per_node;
  return cores > 0 && per_node_ > cores ? cores * model_.local_gbytes_per_s : 0.0;
}

double Fabric::latency_us(int from, int to) const {
  if (same_node(from, to)) return model_.intra_latency_us(per_node_);
  return paths_ ? paths_->network_latency_us(from, to) : model_.inter.latency_us;
}

void Fabric::find_asymmetry() {
  asymmetry_.clear();
  if (!layout_.uniform()) {
    asymmetry_ = "nodes hold different numbers of ranks (" + layout_.describe() + ")";
    return;
  }
  const int per = per_node_;
  for (int r = 0; r < nranks(); ++r) {
    const int base = r % per;
    if (layout_.node_of(r) != r / per) {
      asymmetry_ = "ranks are not in consecutive blocks per node (rank " + std::to_string(r) +
                   " is on node " + std::to_string(layout_.node_of(r)) + ")";
      return;
    }
    const auto i = static_cast<std::size_t>(r), b = static_cast<std::size_t>(base);
    if (nic_index_[i] != nic_index_[b] || nic_rate_[i] != nic_rate_[b] ||
        nic_burst_[i] != nic_burst_[b] || nic_peak_[i] != nic_peak_[b]) {
      asymmetry_ =
          "rank " + std::to_string(r) + "'s NIC differs from rank " + std::to_string(base) + "'s";
      return;
    }
  }
}

std::string Fabric::describe() const {
  std::ostringstream os;
  os << nranks() << " ranks, " << layout_.describe() << "; on-node " << intra_gbytes_per_s()
     << " GB/s, " << model_.intra_latency_us(per_node_) << " us";
  if (layout_.nnodes() > 1) {
    os << "; NIC " << nic_rate_.front() << " GB/s";
    if (nic_burst_.front() > 0)
      os << " (tbf: " << nic_burst_.front() << " B at " << nic_peak_.front() << " GB/s)";
    if (paths_ == nullptr) os << ", " << model_.inter.latency_us << " us";
  }
  os << "; memory " << memory_gbytes_per_s() << " GB/s";
  if (cores_gbytes_per_s() > 0) os << " (" << model_.cores_per_node << " cores per node shared)";
  os << "; step " << model_.step_us << " us";
  return os.str();
}

}  // namespace colossus::sim
