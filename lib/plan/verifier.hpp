// verifier.hpp: proves that the Plans of all ranks implement a collective.
//
// The verifier runs every rank's Plan symbolically (no data): each buffer
// element holds "the reduction over ranks S of input element i", tracked per
// interval rather than per element so that n = 64 and a million elements
// verify in milliseconds. It checks, in this order:
//
//  1. each step on its own: valid, non-self peers; slices inside their
//     buffers (send: send_count, recv: recv_count, scratch: the plan's
//     scratch_count); equal src/dst counts; the send buffer is never written;
//     no partial src/dst overlap; finalize only in reducing collectives; a
//     broadcast non-root never reads its send buffer; a reduce non-root never
//     touches its recv buffer (it has none);
//  2. channels of one rank run concurrently, so no channel may write memory
//     another channel reads or writes (with in-place aliasing applied);
//  3. execution under a scheduler in which each channel's steps run in order,
//     a receive waits for a message and a send waits while its
//     (sender, receiver, channel) stream holds `fifo_depth` messages (or
//     pieces, see slot_elements): no step
//     reads unwritten data, no reduction counts a rank twice or combines
//     different input elements, finalize is applied once to a complete
//     reduction, an in-place read of the send buffer sees the input and not
//     something written through the aliased recv buffer, a receive matches the
//     next message's element count, and no configuration gets stuck
//     (deadlock, reported with the stuck steps);
//  4. at the end: every stream is empty, and every output element holds
//     exactly what the collective defines (finalized, for reductions).
//
// In-place calls alias send and recv as the API does: allreduce, broadcast,
// reduce: send == recv; allgather: send == recv + rank*count; reduce_scatter:
// recv == send + rank*count.
//
// Thread safety: verify() is a pure function of its arguments.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "plan/plan.hpp"

namespace colossus::plan {

struct VerifyOptions {
  bool in_place = false;
  std::size_t fifo_depth = 1;  // slots per (src, dst, channel) stream when checking for deadlock
  // 0: each step's message fills one slot. Otherwise steps move in pieces of
  // at most this many elements, one slot each, as the executor moves them
  // through transport slots (slot_bytes / dtype size): a step can then be
  // part-way done, and fifo_depth counts pieces.
  std::size_t slot_elements = 0;
};

struct VerifyResult {
  bool ok = false;
  std::string error;         // the first problem: rank, channel, step index and describe(step)
  std::size_t steps = 0;     // steps executed
  std::size_t messages = 0;  // messages sent (pieces, with slot_elements)
};

// Runs the plans of ranks 0..args.nranks-1 (produced by `plan_of(rank)`) and
// proves the collective's semantics.
VerifyResult verify(const CollArgs& args, const std::function<Plan(int rank)>& plan_of,
                    const VerifyOptions& options = {});

}  // namespace colossus::plan
