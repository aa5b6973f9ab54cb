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
// What the outputs must hold: allreduce, reduce (root), reduce_scatter,
// broadcast, allgather as usual; alltoall: rank r's recv block q (elements
// [q*count, (q+1)*count)) is rank q's send block r; alltoallv: rank r's
// recv[rdispls_r[q] + i] is rank q's send[sdispls_q[r] + i] for i <
// recvcounts_r[q], and recv elements outside every block stay unwritten
// (each rank's Plan carries its own counts, args.v; recvcounts_r[q] must
// equal sendcounts_q[r], and one rank's recv blocks must not overlap);
// gather: the root's recv block q is rank q's send, and non-roots never
// touch recv; scatter: rank r's recv is the root's send block r, and
// non-roots never read send.
//
// In-place calls alias send and recv as the API does: allreduce, broadcast,
// reduce: send == recv; allgather: send == recv + rank*count; reduce_scatter:
// recv == send + rank*count; gather's root: send == recv + root*count;
// scatter's root: recv == send + root*count. Alltoall(v) has no in-place form.
//
// Streams are (sender, receiver, transport channel): channel c of a Plan
// travels on transport channel Plan::channel_base + c.
//
// Thread safety: verify() is a pure function of its arguments.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

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
// proves the collective's semantics. Not for send and recv: verify_p2p.
VerifyResult verify(const CollArgs& args, const std::function<Plan(int rank)>& plan_of,
                    const VerifyOptions& options = {});

// Proves a group of point-to-point transfers: `plans_of(rank)` is the rank's
// Send and Recv Plans in call order (args.root = the peer; a transfer to
// oneself is a local copy the library makes outside Plans, so a Plan naming
// its own rank is rejected). Each Plan has buffers of its own, and each
// rank's Plans run together as exec::Executor::run runs a group: a lane
// waits for the lanes of the rank's earlier Plans that share one of its
// streams (direction, peer, transport channel). Checks that the k-th send
// from r to p pairs with p's k-th recv from r (same count and dtype), each
// step as verify() does, no deadlock at the FIFO depth and slot size, every
// stream empty at the end, and every recv's buffer holding exactly its
// paired send's buffer. options.in_place does not apply (an error).
VerifyResult verify_p2p(int nranks, const std::function<std::vector<Plan>(int rank)>& plans_of,
                        const VerifyOptions& options = {});

}  // namespace colossus::plan
