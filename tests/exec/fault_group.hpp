// fault_group.hpp: a loopback group of kRanks ranks, each transport wrapped
// by the fault transport, running one Plan per rank on the host executor;
// and what the fault tests need to read its outcome against the Plans.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "collectives/harness.hpp"
#include "colossus/error.hpp"
#include "plan/plan.hpp"
#include "transports/fault/fault.hpp"

namespace colossus::test::fault {

using algorithms::Algo;

constexpr int kRanks = 4;
constexpr std::size_t kSlot = 256;  // 32 float64 elements a message
constexpr int kDepth = 4;
// A step moves at most kSlot * (kDepth - 1) bytes (plan.hpp), here in 3 messages.
constexpr std::size_t kChunk = kSlot * (kDepth - 1);
constexpr double kStallTimeoutS = 0.5;  // for runs a fault stalls: every rank gives up soon
constexpr double kTimeoutS = 60;        // for runs that must not stall

struct Outcome {
  bool ok = false;
  ErrorCode code = ErrorCode::Success;
  std::string message;
};

struct Run {
  Case c;
  std::vector<plan::Plan> plans;
  std::vector<Outcome> outcomes;
  Inputs inputs;                             // each rank's, as stored
  std::vector<std::vector<double>> outputs;  // each rank's recv buffer
  std::vector<std::shared_ptr<const transport::FaultCounts>> counts;
};

plan::CollArgs args_of(const Case& c);
// The Plan of `rank` under `algo`: one channel asked for (a tree takes two),
// chunks of kChunk bytes.
plan::Plan plan_of(Algo algo, const Case& c, int rank);
// Runs the case on kRanks loopback ranks wrapped with `rules`, each rank's
// executor with `timeout_s`; returns when every rank has ended.
Run run_group(Algo algo, const Case& c, const std::vector<transport::FaultRule>& rules,
              double timeout_s);

// One message of a channel between a rank and a peer, as the executor cuts
// it: pieces of one slot, at least one per step.
struct Message {
  std::size_t step;
  std::size_t bytes;
};
// The messages rank `p.rank` sends to (or receives from) `peer` on `channel`.
std::vector<Message> messages(const plan::Plan& p, int channel, int peer, bool sending);
// The first peer the Plan receives from on channel 0 (-1: none).
int first_recv_peer(const plan::Plan& p);
// "channel C step S (": how the executor's messages name a step.
std::string step_name(int channel, std::size_t step);
// The line of a timeout report about `channel` (one line per stuck channel).
std::string line_of(const std::string& message, int channel);
// The case and every rank's outcome, for INFO.
std::string describe(const Run& run);
// An allreduce of `count` float64 elements, Sum.
Case allreduce_f64(std::size_t count);
// Rank r's output against the float64 reference: the first few mismatches.
std::vector<std::string> check_outputs(const Run& run, int r);

}  // namespace colossus::test::fault
