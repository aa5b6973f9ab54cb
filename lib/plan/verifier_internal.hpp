// verifier_internal.hpp: pieces of the plan verifier shared by its .cc files.
//
// Not a public interface: verifier.hpp is. The verifier models each rank's
// memory as up to three "arenas" so that in-place aliasing is real aliasing:
// a plan that writes recv in place changes what a later read of send sees.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "plan/plan.hpp"
#include "plan/symbolic.hpp"
#include "plan/verifier.hpp"

namespace colossus::plan::detail {

// Where one logical buffer lives: elements [base, base+size) of an arena.
struct Placement {
  int arena = 0;
  std::size_t base = 0;
  std::size_t size = 0;
};

inline constexpr int kNumArenas = 3;  // user memory, separate recv memory, scratch

struct RankLayout {
  Placement send, recv, scratch;
  std::array<std::size_t, kNumArenas> arena_size{};
  const Placement& of(Buffer b) const {
    return b == Buffer::Send ? send : b == Buffer::Recv ? recv : scratch;
  }
};

// Out of place: send in arena 0, recv in arena 1. In place, send and recv share
// arena 0 with the offsets the API defines for the collective (`args` is the
// rank's own Plan's: an alltoallv's buffer sizes differ per rank).
RankLayout make_layout(const CollArgs& args, int rank, std::size_t scratch_count, bool in_place);

// Whether `rank` has input in its send buffer: not so for broadcast and
// scatter non-roots, nor for a recv.
bool has_input(const CollArgs& args, int rank);

// "rank 3"
std::string rank_name(int rank);
// "rank 3 channel 1 step 7 (RecvReduceSend from 2 to 4 src=send[96,+32))",
// `who` naming the Plan ("rank 3", or "rank 3 op 2" in a point-to-point group).
std::string where(const std::string& who, std::size_t channel, std::size_t step, const Step& s);
// "send[96,+32)"
std::string name(const Slice& s);
// "[b,e)"
std::string range(std::size_t b, std::size_t e);

// Checks each step of one Plan on its own (peers, bounds, counts, buffer
// roles), against the Plan's own args. Returns the first problem, or "".
std::string check_steps(const Plan& plan, const RankLayout& layout, const std::string& who);

// Checks that no channel of the plan writes memory another channel touches.
std::string check_channel_independence(const Plan& plan, const RankLayout& layout,
                                       const std::string& who);

// One Plan to run: a collective's rank, or one operation of a rank's
// point-to-point group. Its memory is its own (a group's operations have
// buffers of their own).
struct Job {
  const Plan* plan = nullptr;
  RankLayout layout;
  int source = -1;  // the symbol its send buffer's input carries; -1: no input
  std::string who;  // for messages: "rank 3", "rank 3 op 2"
};

// Runs all jobs under the FIFO scheduler, as exec::Executor::run runs a
// group on each rank: a lane (a job's non-empty channel) starts once the
// lanes of the same rank's earlier jobs that share one of its streams
// (direction, peer, transport channel) have finished. Streams are
// (sender, receiver, channel_base + channel). Leaves the final memory in
// `memory` (per job, per arena); symbols are RankSets over a world of
// `world` sources. Counts executed steps and sent messages.
struct ExecResult {
  std::string error;
  std::size_t steps = 0;
  std::size_t messages = 0;
};
using RankMemory = std::array<IntervalMap, kNumArenas>;
ExecResult execute(const std::vector<Job>& jobs, int nranks, int world,
                   const VerifyOptions& options, std::vector<RankMemory>& memory);

}  // namespace colossus::plan::detail
