#include "topology/mapping.hpp"

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "colossus/error.hpp"

namespace colossus::topology {

namespace {

// Chooses each GPU rank's NIC: same rail first, then the closest on the PCIe
// tree, then the one fewest ranks use so far, then the fastest, then the
// lowest index (deterministic). CPU-only ranks share the host's fastest NIC.
void assign_nics(const Topology& t, const Host& h, std::vector<RankPlace*>& on_host) {
  if (h.num_nic == 0) return;
  std::vector<int> users(static_cast<std::size_t>(h.num_nic), 0);
  Id fastest = h.first_nic;
  for (Id n = h.first_nic; n < h.first_nic + h.num_nic; ++n)
    if (t.nics[n].up && (t.nics[n].gbits > t.nics[fastest].gbits || !t.nics[fastest].up))
      fastest = n;
  for (RankPlace* p : on_host) {
    if (p->gpu == kNone) {
      p->nic = fastest;
    } else {
      const Gpu& g = t.gpus[p->gpu];
      auto key = [&](Id n) {
        const Nic& c = t.nics[n];
        const int rail_miss = (g.rail >= 0 && c.rail == g.rail) ? 0 : 1;
        return std::make_tuple(!c.up, rail_miss, static_cast<int>(t.affinity(p->gpu, n)),
                               users[n - h.first_nic], -c.gbits, n);
      };
      Id best = h.first_nic;
      for (Id n = h.first_nic + 1; n < h.first_nic + h.num_nic; ++n)
        if (key(n) < key(best)) best = n;
      p->nic = best;
    }
    ++users[p->nic - h.first_nic];
  }
  for (RankPlace* p : on_host) p->nic_shared_by = users[p->nic - h.first_nic];
}

RankMap finish_map(const Topology& t, RankMap m) {
  std::vector<std::vector<RankPlace*>> by_host(t.hosts.size());
  for (RankPlace& p : m.ranks) by_host[p.host].push_back(&p);
  for (std::size_t h = 0; h < t.hosts.size(); ++h) {
    for (RankPlace* p : by_host[h]) {
      if (p->gpu != kNone) p->rail = t.gpus[p->gpu].rail;
    }
    assign_nics(t, t.hosts[h], by_host[h]);
    for (RankPlace* p : by_host[h])
      if (p->rail < 0 && p->nic != kNone) p->rail = t.nics[p->nic].rail;
  }
  return m;
}

}  // namespace

RankMap map_ranks(const Topology& t, int nranks, int per_host) {
  if (t.hosts.empty())
    throw Error(ErrorCode::InvalidArgument, "map_ranks: the topology has no host");
  if (nranks < 1) throw Error(ErrorCode::InvalidArgument, "map_ranks: need at least one rank");
  const long hosts = static_cast<long>(t.hosts.size());
  if (per_host <= 0)
    per_host = t.hosts[0].num_gpu > 0 ? t.hosts[0].num_gpu
                                      : static_cast<int>((nranks + hosts - 1) / hosts);
  if (static_cast<long>(nranks) > hosts * per_host)
    throw Error(ErrorCode::InvalidArgument,
                "map_ranks: " + std::to_string(nranks) + " ranks do not fit " +
                    std::to_string(hosts) + " host(s) x " + std::to_string(per_host) +
                    " ranks of " + t.source +
                    " (use more nodes, e.g. a preset's :nodes=N, or more ranks per host)");
  std::vector<int> host_of(nranks);
  for (int r = 0; r < nranks; ++r) host_of[r] = r / per_host;
  return map_ranks(t, host_of);
}

RankMap map_ranks(const Topology& t, const std::vector<int>& host_of_rank) {
  RankMap m;
  m.ranks.resize(host_of_rank.size());
  std::vector<int> count(t.hosts.size(), 0);
  for (std::size_t r = 0; r < host_of_rank.size(); ++r) {
    const int h = host_of_rank[r];
    if (h < 0 || static_cast<std::size_t>(h) >= t.hosts.size())
      throw Error(ErrorCode::InvalidArgument, "map_ranks: rank " + std::to_string(r) + " on host " +
                                                  std::to_string(h) + ", which the topology lacks");
    RankPlace& p = m.ranks[r];
    p.host = h;
    p.local = count[h]++;
    // More ranks than GPUs: the extra ranks are CPU-only.
    if (p.local < t.hosts[h].num_gpu) p.gpu = t.hosts[h].first_gpu + p.local;
  }
  return finish_map(t, std::move(m));
}

std::vector<int> RankMap::node_of_rank() const {
  std::vector<int> out(ranks.size());
  for (std::size_t r = 0; r < ranks.size(); ++r) out[r] = ranks[r].host;
  return out;
}

std::string RankMap::describe() const {
  int hosts = 0, max_local = 0, gpus = 0;
  std::vector<char> seen;
  for (const RankPlace& p : ranks) {
    if (static_cast<std::size_t>(p.host) >= seen.size()) seen.resize(p.host + 1, 0);
    hosts += !seen[p.host];
    seen[p.host] = 1;
    max_local = std::max(max_local, p.local + 1);
    gpus += p.gpu != kNone;
  }
  char buf[160];
  std::snprintf(buf, sizeof buf, "%d ranks on %d host%s, up to %d per host, %d with a GPU",
                nranks(), hosts, hosts == 1 ? "" : "s", max_local, gpus);
  return buf;
}

}  // namespace colossus::topology
