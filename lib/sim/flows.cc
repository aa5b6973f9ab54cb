#include "sim/flows.hpp"

#include <algorithm>
#include <limits>

#include "colossus/error.hpp"

namespace colossus::sim {

int FlowSet::add_resource(double bytes_per_us, double burst_bytes, double peak_bytes_per_us) {
  if (!(bytes_per_us > 0)) {
    throw Error(ErrorCode::InvalidArgument, "simulator: a resource with no capacity (" +
                                                std::to_string(bytes_per_us) + " B/us)");
  }
  res_.push_back(Resource{});
  Resource& r = res_.back();
  r.capacity = bytes_per_us;
  if (burst_bytes > 0 && peak_bytes_per_us > bytes_per_us) {
    r.burst = burst_bytes;  // starts empty: calls follow each other back to back
    r.peak = peak_bytes_per_us;
  }
  return static_cast<int>(res_.size()) - 1;
}

void FlowSet::drain(double now, int flow) {
  due_.pop();
  const int rid = -1 - flow;
  Resource& r = res_[static_cast<std::size_t>(rid)];
  r.tokens = 0;  // what is left is below the 1% that counts as empty
  r.since = now;
  rebalance(now, &rid, 1);
}

int FlowSet::start(double now, double bytes, const Use* uses, int nuses, int owner) {
  int id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<int>(flows_.size());
    flows_.emplace_back();
  }
  Flow& f = flows_[static_cast<std::size_t>(id)];
  f.nuses = std::min(nuses, kMaxUses);
  for (int i = 0; i < f.nuses; ++i) f.uses[i] = uses[i];
  f.bytes = f.remaining = bytes;
  f.rate = 0;
  f.since = now;
  f.owner = owner;
  f.active = true;
  ++f.version;
  ++active_;
  int seeds[kMaxUses];
  for (int i = 0; i < f.nuses; ++i) {
    res_[static_cast<std::size_t>(f.uses[i].resource)].flows.push_back(id);
    seeds[i] = f.uses[i].resource;
  }
  rebalance(now, seeds, f.nuses);
  return id;
}

bool FlowSet::next(double* at, int* flow) {
  while (!due_.empty()) {
    const Due d = due_.top();
    const bool live = d.flow < 0
                          ? res_[static_cast<std::size_t>(-1 - d.flow)].version == d.version
                          : flows_[static_cast<std::size_t>(d.flow)].active &&
                                flows_[static_cast<std::size_t>(d.flow)].version == d.version;
    if (live) {
      *at = d.at;
      *flow = d.flow;
      return true;
    }
    due_.pop();  // superseded by a later rate change
  }
  return false;
}

void FlowSet::finish(double now, int id) {
  due_.pop();
  Flow& f = flows_[static_cast<std::size_t>(id)];
  f.active = false;
  ++f.version;
  --active_;
  int seeds[kMaxUses];
  for (int i = 0; i < f.nuses; ++i) {
    Resource& r = res_[static_cast<std::size_t>(f.uses[i].resource)];
    r.carried += f.bytes * f.uses[i].weight;
    auto it = std::find(r.flows.begin(), r.flows.end(), id);
    *it = r.flows.back();
    r.flows.pop_back();
    seeds[i] = f.uses[i].resource;
  }
  free_.push_back(id);
  rebalance(now, seeds, f.nuses);
}

void FlowSet::rebalance(double now, const int* seeds, int nseeds) {
  // The component: resources and flows reachable from the seeds.
  ++stamp_;
  comp_res_.clear();
  comp_flows_.clear();
  for (int i = 0; i < nseeds; ++i) {
    Resource& r = res_[static_cast<std::size_t>(seeds[i])];
    if (r.stamp != stamp_) r.stamp = stamp_, comp_res_.push_back(seeds[i]);
  }
  for (std::size_t k = 0; k < comp_res_.size(); ++k) {
    for (const int fid : res_[static_cast<std::size_t>(comp_res_[k])].flows) {
      Flow& f = flows_[static_cast<std::size_t>(fid)];
      if (f.fixed) continue;
      f.fixed = true;  // marks "collected" until the filling below resets it
      comp_flows_.push_back(fid);
      for (int u = 0; u < f.nuses; ++u) {
        Resource& r = res_[static_cast<std::size_t>(f.uses[u].resource)];
        if (r.stamp != stamp_) r.stamp = stamp_, comp_res_.push_back(f.uses[u].resource);
      }
    }
  }
  // Bring every flow of the component up to now at its old rate.
  for (const int fid : comp_flows_) {
    Flow& f = flows_[static_cast<std::size_t>(fid)];
    f.remaining = std::max(0.0, f.remaining - f.rate * (now - f.since));
    f.since = now;
    f.fixed = false;
    f.old_rate = f.rate;
  }
  // A bucket's tokens up to now at the old usage; while it holds some (more
  // than 1% of it, so an empty bucket does not flicker) it runs at its peak.
  for (const int rid : comp_res_) {
    Resource& r = res_[static_cast<std::size_t>(rid)];
    if (r.burst > 0) {
      r.tokens = std::clamp(r.tokens + (r.capacity - r.used) * (now - r.since), 0.0, r.burst);
      r.since = now;
    }
    r.left = r.burst > 0 && r.tokens > 0.01 * r.burst ? r.peak : r.capacity;
    r.weights = 0;
    for (const int fid : r.flows) {
      const Flow& f = flows_[static_cast<std::size_t>(fid)];
      for (int u = 0; u < f.nuses; ++u)
        if (f.uses[u].resource == rid) r.weights += f.uses[u].weight;
    }
  }
  // Progressive filling: the tightest resource fixes its flows' rate.
  std::size_t unfixed = comp_flows_.size();
  while (unfixed > 0) {
    int tight = -1;
    double share = std::numeric_limits<double>::infinity();
    for (const int rid : comp_res_) {
      const Resource& r = res_[static_cast<std::size_t>(rid)];
      if (r.weights <= 1e-12) continue;
      const double s = std::max(0.0, r.left) / r.weights;
      if (s < share) share = s, tight = rid;
    }
    if (tight < 0) break;  // cannot happen: every unfixed flow has a resource with weight
    for (const int fid : res_[static_cast<std::size_t>(tight)].flows) {
      Flow& f = flows_[static_cast<std::size_t>(fid)];
      if (f.fixed) continue;
      f.fixed = true;
      f.rate = share;
      --unfixed;
      for (int u = 0; u < f.nuses; ++u) {
        Resource& r = res_[static_cast<std::size_t>(f.uses[u].resource)];
        r.left -= f.uses[u].weight * share;
        r.weights -= f.uses[u].weight;
      }
    }
  }
  // A bucket used above its rate runs dry at a known time: an event then.
  for (const int rid : comp_res_) {
    Resource& r = res_[static_cast<std::size_t>(rid)];
    if (r.burst <= 0) continue;
    r.used = 0;
    for (const int fid : r.flows) {
      const Flow& f = flows_[static_cast<std::size_t>(fid)];
      for (int u = 0; u < f.nuses; ++u)
        if (f.uses[u].resource == rid) r.used += f.uses[u].weight * f.rate;
    }
    ++r.version;
    if (r.tokens > 0.01 * r.burst && r.used > r.capacity) {
      due_.push(
          Due{now + (r.tokens - 0.01 * r.burst) / (r.used - r.capacity), -1 - rid, r.version});
    }
  }
  for (const int fid : comp_flows_) {
    Flow& f = flows_[static_cast<std::size_t>(fid)];
    f.fixed = false;
    if (f.rate == f.old_rate) continue;  // its due time stands: keep the heap small
    ++f.version;
    const double at =
        f.rate > 0 ? now + f.remaining / f.rate : std::numeric_limits<double>::infinity();
    due_.push(Due{at, fid, f.version});
  }
}

}  // namespace colossus::sim
