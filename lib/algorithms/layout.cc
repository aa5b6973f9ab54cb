#include "algorithms/layout.hpp"

#include <algorithm>
#include <map>

#include "colossus/error.hpp"

namespace colossus::algorithms {

Layout Layout::single_node(int nranks) {
  return from_nodes(std::vector<int>(static_cast<std::size_t>(nranks), 0));
}

Layout Layout::blocks(int nodes, int per_node) {
  if (nodes < 1 || per_node < 1) {
    throw Error(ErrorCode::InvalidArgument, "Layout::blocks: nodes and per_node must be >= 1");
  }
  std::vector<int> node_of;
  for (int n = 0; n < nodes; ++n)
    node_of.insert(node_of.end(), static_cast<std::size_t>(per_node), n);
  return from_nodes(node_of);
}

Layout Layout::from_nodes(const std::vector<int>& node_of) {
  Layout l;
  std::map<int, int> dense;
  for (const int id : node_of) {
    const auto [it, fresh] = dense.emplace(id, static_cast<int>(dense.size()));
    if (fresh) l.members_.emplace_back();
    const int node = it->second;
    l.node_.push_back(node);
    l.local_.push_back(static_cast<int>(l.members_[static_cast<std::size_t>(node)].size()));
    l.members_[static_cast<std::size_t>(node)].push_back(static_cast<int>(l.node_.size()) - 1);
  }
  return l;
}

int Layout::max_per_node() const {
  std::size_t m = 0;
  for (const auto& v : members_) m = std::max(m, v.size());
  return static_cast<int>(m);
}

bool Layout::uniform() const {
  return std::all_of(members_.begin(), members_.end(),
                     [&](const auto& v) { return v.size() == members_.front().size(); });
}

std::string Layout::describe() const {
  if (members_.empty()) return "0 ranks";
  if (uniform()) {
    return std::to_string(nnodes()) + (nnodes() == 1 ? " node x " : " nodes x ") +
           std::to_string(members_.front().size()) + " ranks";
  }
  std::size_t lo = members_.front().size(), hi = lo;
  for (const auto& v : members_) lo = std::min(lo, v.size()), hi = std::max(hi, v.size());
  return std::to_string(nnodes()) + " nodes, " + std::to_string(lo) + ".." + std::to_string(hi) +
         " ranks each";
}

}  // namespace colossus::algorithms
