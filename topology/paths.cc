// PathModel: the cost-model facts of mapped ranks (see mapping.hpp).
#include <algorithm>
#include <mutex>

#include "colossus/error.hpp"
#include "topology/mapping.hpp"

namespace colossus::topology {

namespace {

// End-to-end latencies of one intra-node transfer, from NCCL's tuning table
// (src/graph/tuning.cc hwLat, LL protocol): NVLink 0.6 us, PCIe 1.0 us.
constexpr double kNvLinkPathUs = 0.6;
constexpr double kPciePathUs = 1.0;

}  // namespace

PathModel::PathModel(const Topology& topo, RankMap map) : topo_(topo), map_(std::move(map)) {
  leaf_of_nic_.assign(topo_.nics.size(), kNone);
  nic_latency_.resize(topo_.nics.size());
  for (std::size_t n = 0; n < topo_.nics.size(); ++n)
    nic_latency_[n] = topo_.nics[n].rdma ? kRdmaNicLatencyUs : kTcpNicLatencyUs;
  std::vector<std::pair<Id, Id>> up;  // (lower switch, upper switch)
  for (const Link& l : topo_.links) {
    if (l.type != LinkType::Network) continue;
    Ref a = l.a, b = l.b;
    if (b.kind == Kind::Nic) std::swap(a, b);
    if (a.kind == Kind::Nic && b.kind == Kind::NetSwitch) {
      leaf_of_nic_[a.index] = b.index;
      if (l.latency_us > 0) nic_latency_[a.index] = l.latency_us;
    } else if (a.kind == Kind::NetSwitch && b.kind == Kind::NetSwitch) {
      const int ta = topo_.switches[a.index].tier, tb = topo_.switches[b.index].tier;
      if (ta < tb) up.emplace_back(a.index, b.index);
      if (tb < ta) up.emplace_back(b.index, a.index);
    }
  }
  std::sort(up.begin(), up.end());
  up.erase(std::unique(up.begin(), up.end()), up.end());
  up_begin_.assign(topo_.switches.size() + 1, 0);
  for (const auto& [lo, hi] : up) ++up_begin_[lo + 1];
  for (std::size_t s = 0; s < topo_.switches.size(); ++s) up_begin_[s + 1] += up_begin_[s];
  up_ids_.reserve(up.size());
  for (const auto& e : up) up_ids_.push_back(e.second);  // sorted by lower switch already
  for (const RankPlace& p : map_.ranks)
    if (p.host < 0 || static_cast<std::size_t>(p.host) >= topo_.hosts.size())
      throw Error(ErrorCode::InvalidArgument, "PathModel: rank map does not fit the topology");
}

PathCost PathModel::intra_node(int rank_a, int rank_b) const {
  const RankPlace& a = map_.ranks.at(rank_a);
  const RankPlace& b = map_.ranks.at(rank_b);
  if (a.host != b.host)
    throw Error(ErrorCode::InvalidArgument, "intra_node: ranks " + std::to_string(rank_a) +
                                                " and " + std::to_string(rank_b) +
                                                " are on different hosts");
  const Host& h = topo_.hosts[a.host];
  const PathCost memory{h.mem_gbps, kHostMemLatencyUs, "host memory", 1};
  if (a.gpu == kNone || b.gpu == kNone) return memory;
  const Gpu& ga = topo_.gpus[a.gpu];
  const Gpu& gb = topo_.gpus[b.gpu];
  if (ga.nvdomain != kNone && ga.nvdomain == gb.nvdomain)
    return {std::min(ga.nvlink_gbps, gb.nvlink_gbps), kNvLinkPathUs, "NVSwitch", 1};
  // Direct NVLinks (no switch): the links joining the two GPUs.
  double direct = 0;
  if (ga.nvlinks > 0 && gb.nvlinks > 0) {
    for (const Link& l : topo_.links)
      if (l.type == LinkType::NvLink &&
          ((l.a == Ref{Kind::Gpu, a.gpu} && l.b == Ref{Kind::Gpu, b.gpu}) ||
           (l.b == Ref{Kind::Gpu, a.gpu} && l.a == Ref{Kind::Gpu, b.gpu})))
        direct += l.gbps;
  }
  if (direct > 0) return {direct, kNvLinkPathUs, "NVLink", 1};
  const double pcie = std::min(ga.pcie_gbps, gb.pcie_gbps);
  if (pcie > 0) return {pcie, kPciePathUs, "PCIe", 1};
  return memory;  // PCIe link width unknown: staging through host memory is the safe guess
}

PathCost PathModel::inter_node(int rank) const {
  const RankPlace& p = map_.ranks.at(rank);
  if (p.nic == kNone) return {0, 0, "none", 0};
  const Nic& c = topo_.nics[p.nic];
  const char* via = c.layer == LinkLayer::InfiniBand ? "InfiniBand" : c.rdma ? "RoCE" : "Ethernet";
  return {(c.gbits > 0 ? c.gbits : kUnknownNicGbits) / 8, nic_latency_[p.nic], via,
          p.nic_shared_by};
}

int PathModel::switch_tiers(int rank_a, int rank_b) const {
  const RankPlace& a = map_.ranks.at(rank_a);
  const RankPlace& b = map_.ranks.at(rank_b);
  if (a.host == b.host) return 0;
  if (a.nic == kNone || b.nic == kNone) return 1;
  const Id la = leaf_of_nic_[a.nic], lb = leaf_of_nic_[b.nic];
  if (la == kNone || lb == kNone) return 1;
  if (la == lb) return topo_.switches[la].tier;
  // Memoized per leaf pair: the simulator asks for millions of rank pairs
  // over a few thousand leaves.
  const std::uint64_t key =
      (std::uint64_t(std::min(la, lb)) << 32) | std::uint64_t(std::max(la, lb));
  {
    std::lock_guard<std::mutex> lock(memo_mu_);
    if (const auto it = tiers_memo_.find(key); it != tiers_memo_.end()) return it->second;
  }
  const int tiers = climb_tiers(la, lb);
  std::lock_guard<std::mutex> lock(memo_mu_);
  tiers_memo_.emplace(key, tiers);
  return tiers;
}

int PathModel::climb_tiers(Id la, Id lb) const {
  // Climb both sides one tier at a time until they meet.
  std::vector<Id> sa{la}, sb{lb}, next;
  auto climb = [&](std::vector<Id>& s) {
    next.clear();
    for (Id x : s)
      next.insert(next.end(), up_ids_.begin() + up_begin_[x], up_ids_.begin() + up_begin_[x + 1]);
    std::sort(next.begin(), next.end());
    next.erase(std::unique(next.begin(), next.end()), next.end());
    s.swap(next);
  };
  for (int step = 0; step < 8 && !sa.empty() && !sb.empty(); ++step) {
    climb(sa);
    climb(sb);
    std::vector<Id> both;
    std::set_intersection(sa.begin(), sa.end(), sb.begin(), sb.end(), std::back_inserter(both));
    if (!both.empty()) return topo_.switches[both.front()].tier;
  }
  return topo_.tiers() + 1;  // disconnected in the model: say "beyond the top"
}

// The simulator charges this per pair (sim::Fabric::latency_us); the tuner
// takes it once, for rank 0 and its nearest other host
// (tune::cost_model), so its latency is this at one tier
// (tune/cost_model.hpp explains the difference).
double PathModel::network_latency_us(int rank_a, int rank_b) const {
  const int tiers = switch_tiers(rank_a, rank_b);
  if (tiers == 0) return 0;
  const RankPlace& a = map_.ranks.at(rank_a);
  const RankPlace& b = map_.ranks.at(rank_b);
  double sw = 0;
  if (a.nic != kNone && leaf_of_nic_[a.nic] != kNone)
    sw = topo_.switches[leaf_of_nic_[a.nic]].latency_us;
  const double nic_a = a.nic != kNone ? nic_latency_[a.nic] : kTcpNicLatencyUs;
  const double nic_b = b.nic != kNone ? nic_latency_[b.nic] : kTcpNicLatencyUs;
  return nic_a + nic_b + (2 * tiers - 1) * sw;
}

}  // namespace colossus::topology
