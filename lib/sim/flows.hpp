// flows.hpp: bytes in flight sharing resources max-min fairly, in virtual time.
//
// A flow moves `bytes` over up to four resources, using `weight` units of
// each per byte (a memory engine is charged the step's memory passes). Its
// rate is set by weighted progressive filling: the resource whose capacity
// per unit of weight is smallest fixes the rate of every flow through it,
// and so on (max-min fairness). Rates are recomputed for the connected
// component of resources a starting or ending flow touches, so a change
// costs the size of its component, not of the whole fabric.
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

namespace colossus::sim {

class FlowSet {
 public:
  struct Use {
    int resource = 0;
    double weight = 1;  // resource units per byte
  };
  static constexpr int kMaxUses = 4;

  // A resource of `bytes_per_us`; with burst_bytes > 0 a token bucket
  // (tc tbf): it carries peak_bytes_per_us while it holds tokens, tokens
  // accrue at bytes_per_us up to burst_bytes and drain at the rate used,
  // and it carries bytes_per_us once empty. It starts empty: a measured call
  // follows others back to back, so only idle time within it refills.
  int add_resource(double bytes_per_us, double burst_bytes = 0, double peak_bytes_per_us = 0);
  double capacity(int resource) const { return res_[static_cast<std::size_t>(resource)].capacity; }
  // Resource units it has carried so far (completed flows).
  double carried(int resource) const { return res_[static_cast<std::size_t>(resource)].carried; }
  int num_resources() const { return static_cast<int>(res_.size()); }

  // Starts a flow at `now`; returns its id (reused after it finishes).
  int start(double now, double bytes, const Use* uses, int nuses, int owner);
  // The earliest event: a flow that finishes (flow >= 0) or a bucket that
  // runs dry (flow < 0); false when there is none.
  bool next(double* at, int* flow);
  // Removes a finished flow (from next()) and rebalances its component.
  void finish(double now, int flow);
  // A bucket ran dry (flow < 0 from next()): its flows slow to its rate.
  void drain(double now, int flow);
  int owner(int flow) const { return flows_[static_cast<std::size_t>(flow)].owner; }
  std::size_t in_flight() const { return active_; }

 private:
  struct Resource {
    double capacity = 0;
    double carried = 0;
    double burst = 0, peak = 0, tokens = 0;  // token bucket (burst 0: none)
    double used = 0, since = 0;              // units per us in use since `since`
    std::uint32_t version = 0;               // of its pending "runs dry" event
    std::vector<int> flows;                  // in flight through it
    // Scratch of rebalance().
    std::uint32_t stamp = 0;
    double left = 0, weights = 0;
  };
  struct Flow {
    Use uses[kMaxUses];
    int nuses = 0;
    double bytes = 0, remaining = 0, rate = 0, since = 0, old_rate = 0;
    std::uint32_t version = 0;
    int owner = -1;
    bool active = false, fixed = false;
  };
  struct Due {
    double at;
    int flow;
    std::uint32_t version;
    bool operator>(const Due& o) const { return at > o.at || (at == o.at && flow > o.flow); }
  };

  // Recomputes the rates of every flow connected to `seeds` through shared
  // resources, after bringing their remaining bytes up to `now`.
  void rebalance(double now, const int* seeds, int nseeds);

  std::vector<Resource> res_;
  std::vector<Flow> flows_;
  std::vector<int> free_;
  std::size_t active_ = 0;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due_;
  std::uint32_t stamp_ = 0;
  std::vector<int> comp_res_, comp_flows_;  // scratch
};

}  // namespace colossus::sim
