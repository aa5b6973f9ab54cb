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
  }
  f.find_asymmetry();
  return f;
}

double Fabric::nic_gbytes_per_s(int rank) const { return nic_rate_[static_cast<std::size_t>(rank)]; }

double Fabric::intra_gbytes_per_s() const { return model_.intra_rate(per_node_); }

double Fabric::memory_gbytes_per_s() const { return model_.local_rate(per_node_); }

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
    if (nic_index_[static_cast<std::size_t>(r)] != nic_index_[static_cast<std::size_t>(base)] ||
        nic_rate_[static_cast<std::size_t>(r)] != nic_rate_[static_cast<std::size_t>(base)]) {
      asymmetry_ = "rank " + std::to_string(r) + "'s NIC differs from rank " +
                   std::to_string(base) + "'s";
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
    if (paths_ == nullptr) os << ", " << model_.inter.latency_us << " us";
  }
  os << "; memory " << memory_gbytes_per_s() << " GB/s; step " << model_.step_us << " us";
  return os.str();
}

}  // namespace colossus::sim
