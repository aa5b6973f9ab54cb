// bound.hpp: what bounds a predicted time, one rule for the tuner and the simulator.
//
// Both predict a call's time and say what bounds it. The tuner adds a
// latency term (hops, stages, step costs) to a bandwidth term (the busiest
// resource's bytes over its rate); the simulator measures, per class of
// resource, how long its busiest resource carried bytes during the call.
// The label is the same question for both: a resource class bounds the time
// when its busiest resource is busy for more than half of it; otherwise the
// call is latency-bound (waiting on hops and step costs dominates).
//
// For the tuner, time = latency + max(busy), so "more than half" is exactly
// bandwidth_us > latency_us. Ties between classes go to the NIC, then the
// on-node links, then memory.
#pragma once

#include <string>

namespace colossus::tune {

// Microseconds the busiest resource of each class is busy during the call.
struct BusyTimes {
  double nic_us = 0;     // a NIC (one direction)
  double intra_us = 0;   // a rank's on-node port (NVLink, or the host-memory copy path)
  double memory_us = 0;  // a rank's copy/reduce loops, or a node's shared cores
};

// "NIC", "intra-node", "memory" or "latency", for a call of `time_us`.
std::string bound_of(double time_us, const BusyTimes& busy);

}  // namespace colossus::tune
