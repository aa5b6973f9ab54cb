// folding.hpp: simulating one representative per class of symmetric ranks.
//
// The groups and the rank maps are algorithms::Symmetry (symmetry.hpp):
// when the fabric treats every node alike and an algorithm's Plans respect
// a group that moves whole nodes, the engine holds the Plans of one node:
// rank r stands for the ranks g(r) of its class, a message from peer p is
// the message of rep(p) seen through the g that carries rep(p) to p, and a
// resource of rank x is the resource of rep(x).
//
// Folding is only used after a check (algorithms::check_symmetry): the
// Plans of sampled ranks g(r) (a neighbouring node, the farthest, the last;
// first, middle and last local index) are compared step by step with their
// representatives' carried by g: kinds and peers equal, bytes per channel
// within a block. Latencies that differ along a class's orbit (switch
// tiers) are averaged over it (engine.cc: the whole orbit, or evenly spaced
// samples of it where the held Plans talk to very many peers).
//
// Error of folding, measured against the unfolded simulation
// (tests/sim/folding_test.cc): equal to 1e-9 on even counts; on uneven
// counts within 1%, except hierarchical with rails sharing a NIC (up to
// ~2.3%: the one-unit block differences land on different rails per node).
// Pairwise all-to-all is exact where a NIC serves one or two ranks (every
// GPU preset: a NIC per GPU). Where more ranks share a NIC, the folded run
// is the symmetric schedule and the unfolded one may leave it: rounding
// noise in the shared NIC's max-min sharing grows as ranks drift apart
// across rounds (measured, 8 ranks per NIC, 4 KiB blocks: equal at 8
// nodes, unfolded 3% slower at 16, 7% at 32, 10% at 64; a 1e-7 us change
// of a latency flips a 32-node run between equal and 8% slower, so the
// unfolded figure is one draw of a chaotic replay, not a reference).
#pragma once

#include <string>

#include "algorithms/symmetry.hpp"
#include "sim/fabric.hpp"
#include "sim/workload.hpp"

namespace colossus::sim {

using Folding = algorithms::Symmetry;

// The folding the workload admits on `fabric`, after checking sampled
// ranks' Plans; Group::None with `why` filled when it admits none.
Folding choose_folding(const Fabric& fabric, const Workload& work, std::string* why);

}  // namespace colossus::sim
