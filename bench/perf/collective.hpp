// collective.hpp: what one *_perf tool measures, as data.
//
// The driver is the same for every tool; a Collective says how a size in
// bytes becomes element counts (nccl-tests' getCollByteCount), how bytes
// become bus bandwidth, how to call the library (through the back end,
// backend.hpp), and, for the check, where
// a rank's input goes and what its receive buffer must hold afterwards.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "colossus/colossus.hpp"
#include "perf/backend.hpp"

namespace colossus::perf {

// Element counts of one call, per rank, as nccl-tests defines them.
struct Counts {
  std::size_t send = 0;   // elements read from the send buffer
  std::size_t recv = 0;   // elements written to the receive buffer
  std::size_t param = 0;  // the count argument of the call
  // In-place: the call uses recvbuf + rank*offset for send and for recv.
  std::size_t send_inplace_offset = 0;
  std::size_t recv_inplace_offset = 0;
};

// A stretch of a rank's receive buffer and what it must hold after the call.
struct Expect {
  enum class Kind {
    Reduced,  // the reduction over all ranks' inputs
    Input,    // rank `rank`'s input, untouched or copied, from pattern index `phase`
    Poison,   // Pattern::poison: not written by the collective
  };
  Kind kind;
  std::size_t offset;  // elements from the call's recv pointer
  std::size_t count;
  std::size_t phase = 0;  // pattern index of the first element
  int rank = 0;           // for Input
};

struct Collective {
  std::string_view name;  // "AllReduce", as nccl-tests names its tests
  bool uses_op;           // iterates -o, prints the op (else "none")
  bool uses_root;         // iterates -r, prints the root (else -1)
  // false: the operation has no in-place form (alltoall, sendrecv): only
  // the out-of-place column is measured, the in-place one reads N/A.
  bool has_in_place;

  Counts (*counts)(std::size_t count, int nranks);
  // busbw = algbw * factor; algbw = max(send, recv) bytes / time.
  double (*busbw_factor)(int nranks);
  // One call on `comm`. Device buffers (--buffers device) are enqueued on
  // `stream`, the rank's own; host buffers come with nullptr.
  void (*run)(PerfComm& comm, const void* send, void* recv, std::size_t count, DataType type,
              ReduceOp op, int root, cudaStream_t stream);
  // false where the library has no form of the operation on device buffers.
  bool device_form;
  // Whether `rank` provides input (a broadcast's non-root ranks do not).
  bool (*has_input)(int rank, int root);
  // What rank `rank`'s receive buffer must hold after one call.
  std::vector<Expect> (*expect)(const Counts& c, int rank, int nranks, int root, bool in_place);
};

const Collective& all_reduce_collective();
const Collective& all_gather_collective();
const Collective& reduce_scatter_collective();
const Collective& broadcast_collective();
const Collective& reduce_collective();
const Collective& alltoall_collective();
const Collective& sendrecv_collective();
const Collective& gather_collective();
const Collective& scatter_collective();

}  // namespace colossus::perf
