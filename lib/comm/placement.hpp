// placement.hpp: where a communicator's ranks sit, as the tuner needs it.
//
// A Placement is the rank -> node Layout the algorithms plan against and the
// CostModel the tuner predicts with. It comes from, in order:
//   1. a preset or XML file to map the ranks onto (Options::topology or
//      COLOSSUS_TOPO: "dgx-h100:nodes=2", "topo.xml"), so that 16 loopback
//      ranks can run as 2 nodes x 8 GPUs with real data on one machine;
//   2. otherwise every rank's own view (discovery, or COLOSSUS_TOPO_FILE),
//      allgathered through the bootstrap and merged: the real hosts.
// Every rank computes the same Placement from the same inputs.
#pragma once

#include <string>

#include "algorithms/layout.hpp"
#include "bootstrap/oob.hpp"
#include "tune/cost_model.hpp"

namespace colossus::comm {

struct Placement {
  algorithms::Layout layout;
  tune::CostModel model;
  std::string description;  // "16 ranks on 2 hosts x 8 (GPUs 0-7)" for the INFO log
};

// Ranks of one process (loopback). `spec` as in 1. above; "" = this host.
Placement place_local(int nranks, const std::string& spec);
// Ranks of a bootstrapped job; collective over `oob`.
Placement place_job(bootstrap::OutOfBand& oob, const std::string& spec);

}  // namespace colossus::comm
