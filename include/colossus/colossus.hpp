// colossus/colossus.hpp: the C++ API.
//
// A Communicator is one rank's handle on a group of ranks. Collectives are
// blocking calls on host buffers, or (bound to a GPU, Options::cuda_device)
// asynchronous calls on device buffers enqueued on a CUDA stream. Both follow
// NCCL's buffer conventions:
//
//   allreduce(send, recv, count)        send and recv hold `count` elements
//   allgather(send, recv, sendcount)    recv holds size()*sendcount; rank r's
//                                       send lands at recv + r*sendcount
//   reduce_scatter(send, recv, recvcount)  send holds size()*recvcount
//   broadcast(send, recv, count, root)  send is read on root only
//   reduce(send, recv, count, op, root) recv is written on root only
//   alltoall(send, recv, count)         send and recv hold size()*count; block
//                                       q of send goes to rank q, and rank q's
//                                       block for this rank lands at recv + q*count
//   alltoallv(send, sendcounts, sdispls, recv, recvcounts, rdispls)
//                                       the same with per-rank counts and
//                                       displacements (elements, size() each)
//   gather(send, recv, count, root)     root's recv holds size()*count
//   scatter(send, recv, count, root)    root's send holds size()*count
//   send(buf, count, peer) / recv(buf, count, peer)
//                                       messages between two ranks match in
//                                       call order; a rank may send to itself
//                                       inside a group
//
// Every call returns when its buffers may be reused. A send therefore may
// wait for its receiver, as NCCL's does: beyond what the transport's FIFO
// holds, and between processes of one host from 256 KiB up, where the
// receiver reads the message straight from the sender's buffer
// (COLOSSUS_SHM_CMA_MIN).
//
// In-place: pass send == recv (allreduce, broadcast, reduce), send == recv +
// rank*sendcount (allgather), or recv == send + rank*recvcount
// (reduce_scatter), send == recv + root*count on the root (gather), recv ==
// send + root*count on the root (scatter). Alltoall and alltoallv are never
// in place. Other overlaps between send and recv are rejected.
//
// Groups: between group_start() and group_end() (nestable), calls on any
// communicators are checked and recorded, not run; group_end() runs them
// together and returns when all are done, throwing the first error. Sends
// and receives in a group complete in any pattern (rings where everybody
// sends first, self sends); collectives in a group must be issued in the
// same order on every rank. One thread may drive several ranks of a
// loopback group in one group: the library runs each rank on a thread of
// its own until group_end() returns. Buffers must stay untouched until then.
//
// Thread safety: a Communicator is used by one thread at a time; different
// ranks' communicators of one group run on different threads (loopback) or
// processes. Every public call validates its arguments and throws
// colossus::Error (see error.hpp) on bad input; it never crashes and, thanks
// to COLOSSUS_TIMEOUT_S, never hangs.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "colossus/error.hpp"
#include "colossus/types.hpp"

// CUDA's stream handle, declared as CUDA declares it, so that this header
// needs no CUDA header (and works in builds without CUDA).
typedef struct CUstream_st* cudaStream_t;

namespace colossus {

namespace detail {
class CommImpl;
class PendingComm;
struct CommAccess;
}  // namespace detail

// Knobs a caller may set programmatically. A field left at its default is
// taken from the environment (COLOSSUS_* variables, see README), then from
// the built-in default.
struct Options {
  int nchannels = 0;            // parallel rings; 0 = COLOSSUS_NCHANNELS or tuner
  std::size_t chunk_bytes = 0;  // pipelining unit of a Plan; 0 = COLOSSUS_CHUNK_BYTES or tuner
  double timeout_s = 0;         // deadline for every wait; 0 = COLOSSUS_TIMEOUT_S
  std::size_t slot_bytes = 0;   // transport FIFO slot (message size); 0 = COLOSSUS_SLOT_BYTES
  // Between processes: "shm", "tcp", "ucx"; "" = COLOSSUS_TRANSPORT or automatic.
  std::string transport;
  // Algorithms the tuner may pick, NCCL_ALGO syntax ("ring", "^tree",
  // "allreduce:hierarchical;allgather:ring"); "" = COLOSSUS_ALGO or all.
  std::string algorithm;
  // Map the ranks onto this preset or topology XML file instead of the
  // hosts they run on ("dgx-h100:nodes=2": 16 ranks as 2 nodes x 8 GPUs);
  // "" = COLOSSUS_TOPO or the discovered hosts.
  std::string topology;
  // Bind the communicator to this CUDA device (-1: none, host buffers only).
  // Every rank of a group binds, or none does. Ranks may share a device
  // (threads of a loopback group, or processes); each then runs fewer
  // channels, so that all ranks' kernels are resident on it at once.
  int cuda_device = -1;
  // false: init() and split() return at once, and the communicator is built
  // in the background; state() says InProgress until it is Ready (or
  // Failed), as NCCL's config.blocking = 0 with ncclCommGetAsyncError. Any
  // other call on it waits for the build to end (within timeout_s) first.
  bool blocking = true;
};

// What state() reports.
enum class CommState {
  Ready,       // usable
  InProgress,  // a non-blocking init or split is still building it
  Failed,      // it failed, was aborted or revoked, or a rank of its job failed:
               // check_async_error() throws why; only shrink, abort and destroy remain
};

// How shrink() treats the communicator it starts from.
enum class ShrinkMode {
  Default,  // the parent stays as it is: usable afterwards if it was healthy
  Abort,    // abort the parent first (NCCL_SHRINK_ABORT): what to do after a failure
};

// A pre-multiplied sum (NCCL's ncclRedOpCreatePreMulSum): each rank's input
// is multiplied by that rank's scalar, then the products are summed. The
// scalar is one element of the call's DataType in host memory, read when the
// call is made (also inside a group). Integers wrap as the sum does; fp16,
// bf16 and fp8 multiply in fp32 and round once to the dtype (fp8 saturates).
// This rank's input is scaled into recv where it fits (allreduce, reduce's
// root), else into a scratch buffer of the library's; send is never written
// unless it is recv (in place). Host memory only, for now: there are no
// stream forms, and on a communicator bound to a device these calls take
// host buffers (device pointers throw InvalidUsage).
struct PreMulSum {
  const void* scalar = nullptr;  // required
};

class Communicator {
 public:
  Communicator() = default;  // an empty handle: every call throws InvalidUsage
  ~Communicator();
  Communicator(Communicator&&) noexcept;
  Communicator& operator=(Communicator&&) noexcept;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const;
  int size() const;

  void allreduce(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op);
  void allgather(const void* send, void* recv, std::size_t sendcount, DataType type);
  void reduce_scatter(const void* send, void* recv, std::size_t recvcount, DataType type,
                      ReduceOp op);
  void broadcast(const void* send, void* recv, std::size_t count, DataType type, int root);
  void reduce(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op,
              int root);
  // The same with a pre-multiplied sum as the op (see PreMulSum).
  void allreduce(const void* send, void* recv, std::size_t count, DataType type, PreMulSum op);
  void reduce_scatter(const void* send, void* recv, std::size_t recvcount, DataType type,
                      PreMulSum op);
  void reduce(const void* send, void* recv, std::size_t count, DataType type, PreMulSum op,
              int root);

  // Point-to-point, all-to-all, gather and scatter (see the top of this file).
  void send(const void* buf, std::size_t count, DataType type, int peer);
  void recv(void* buf, std::size_t count, DataType type, int peer);
  void alltoall(const void* send, void* recv, std::size_t count, DataType type);
  void alltoallv(const void* send, const std::size_t* sendcounts, const std::size_t* sdispls,
                 void* recv, const std::size_t* recvcounts, const std::size_t* rdispls,
                 DataType type);
  void gather(const void* send, void* recv, std::size_t count, DataType type, int root);
  void scatter(const void* send, void* recv, std::size_t count, DataType type, int root);

  // Collective over this communicator (every rank calls it, outside any
  // group): a new communicator of the ranks that passed the same `color`,
  // ordered by `key`, then by rank here. color < 0: this rank joins none and
  // gets an empty handle (valid() false). The new communicator reuses this
  // one's connections and settings; no unique id is needed. On one rank,
  // calls of a communicator and of those split from it run one at a time.
  // A communicator bound to a CUDA device cannot be split yet (InvalidUsage).
  Communicator split(int color, int key) const;

  // ---- Device buffers: communicators bound with Options::cuda_device ----
  //
  // The same collectives on device pointers (memory of the bound device),
  // enqueued on `stream` and asynchronous, as in NCCL: the call returns once
  // the work is enqueued, and the buffers must stay valid until the stream
  // has run it. Calls of one communicator run in call order, on whatever
  // streams. Calls made while `stream` captures a CUDA graph are captured,
  // and every replay of the graph runs them again. An error on the device (a
  // peer that stopped, COLOSSUS_TIMEOUT_S passed) is thrown by the next call
  // or by check_async_error(); the communicator is unusable after it.
  // Ranks sharing one GPU wait on each other's kernels, so those must run
  // at once: ranks on threads of one process each need a stream of their
  // own (non-blocking; the legacy default stream is refused). Destroy a
  // device communicator once the streams that run its calls are done.
  void allreduce(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op,
                 cudaStream_t stream);
  void allgather(const void* send, void* recv, std::size_t sendcount, DataType type,
                 cudaStream_t stream);
  void reduce_scatter(const void* send, void* recv, std::size_t recvcount, DataType type,
                      ReduceOp op, cudaStream_t stream);
  void broadcast(const void* send, void* recv, std::size_t count, DataType type, int root,
                 cudaStream_t stream);
  void reduce(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op, int root,
              cudaStream_t stream);
  // alltoall, alltoallv, gather and scatter on device buffers. Device calls
  // inside a group, and send/recv on device buffers, are not implemented
  // yet: they throw InvalidUsage (host buffers work everywhere).
  void alltoall(const void* send, void* recv, std::size_t count, DataType type,
                cudaStream_t stream);
  void alltoallv(const void* send, const std::size_t* sendcounts, const std::size_t* sdispls,
                 void* recv, const std::size_t* recvcounts, const std::size_t* rdispls,
                 DataType type, cudaStream_t stream);
  void gather(const void* send, void* recv, std::size_t count, DataType type, int root,
              cudaStream_t stream);
  void scatter(const void* send, void* recv, std::size_t count, DataType type, int root,
               cudaStream_t stream);
  // Throws the error that made state() Failed: a failed non-blocking init,
  // a device collective's error, an abort, a revoke, a failed rank of the
  // job. Returns if none (also while InProgress).
  void check_async_error();
  // The bound device, or -1.
  int cuda_device() const;

  // ---- Failures ---------------------------------------------------------
  //
  // A failure anywhere in the job (a rank that dies, aborts, is cut off or
  // stops answering) ends every pending and later call on every rank with an
  // Error naming the rank that failed first and how, within about a second
  // (RemoteError; Aborted on the rank that aborted). It spreads through the
  // bootstrap's connections, so it reaches ranks that never talk to the
  // failed one. Communicators split from one another share connections: a
  // failure, abort or revoke of one of them ends them all on that rank.

  // Callable from any thread at any time, also while another thread is
  // blocked in a call of this communicator, in a group, or in a
  // non-blocking init. Every pending and later call returns Error(Aborted);
  // the connections are closed, so that peers fail at once (RemoteError
  // naming this rank) instead of at their timeout. destroy() still frees
  // the handle. Calling it twice is harmless.
  void abort();
  // Stops the communicator's in-flight calls on every rank that can still
  // be reached (NCCL's ncclCommRevoke): each ends with an Error, and the
  // communicator is left Failed, ready for shrink() or destroy(). Unlike
  // abort() the connections stay, and peers that are not in a call see
  // nothing until their next one.
  void revoke();
  // Collective over the ranks not in `exclude` (ranks of this communicator,
  // e.g. the dead ones): a new communicator of those ranks, numbered in
  // order, built without the excluded ranks and without a new unique id
  // (NCCL's ncclCommShrink). The excluded ranks must not call it. Works
  // after a failure (use ShrinkMode::Abort) and on a healthy communicator.
  // Needs ranks made by init() (or loopback_group()).
  Communicator shrink(const std::vector<int>& exclude, ShrinkMode mode = ShrinkMode::Default) const;
  // Ready, InProgress (non-blocking init/split) or Failed. Never blocks.
  CommState state() const;

  // Releases the rank's resources. Every later call on this handle throws
  // Error(InvalidUsage). Calling destroy() twice is harmless.
  void destroy();
  bool valid() const;

 private:
  friend struct detail::CommAccess;  // the library's own way to make one (comm_impl.hpp)
  explicit Communicator(std::shared_ptr<detail::CommImpl> impl);
  explicit Communicator(std::shared_ptr<detail::PendingComm> pending);
  detail::CommImpl& impl(const char* call) const;
  std::shared_ptr<detail::CommImpl> impl_;
  std::shared_ptr<detail::PendingComm> pending_;  // a non-blocking init or split
};

// Group calls (see the top of this file). group_end() without a matching
// group_start() throws InvalidUsage.
void group_start();
void group_end();
// Ends the outermost group without running its calls (NCCL's
// ncclGroupSimulateEnd) and returns what the tuner's model predicts they
// would take on this rank, in microseconds: the sum of each call's
// predicted time (its pick's for a collective; one hop plus the bytes at
// the link's rate for send/recv). Nothing is sent; peers need not call it.
double group_simulate_end();

// n ranks of one group inside this process, connected by the loopback
// transport. Element i is rank i; run each on its own thread.
std::vector<Communicator> loopback_group(int n, const Options& options = {});

// ---- Ranks in separate processes, on one host or many --------------------
//
// As with NCCL: rank 0 calls make_unique_id(), hands the 128 bytes to every
// rank out of band (MPI_Bcast, a file, the environment via to_string), and
// every rank calls init() with it. Peers on the same host talk over shared
// memory, others over TCP (COLOSSUS_TRANSPORT=shm|tcp forces one).

struct UniqueId {
  char internal[128];  // the size of ncclUniqueId
};

// On rank 0: starts the rendezvous listener (address from
// COLOSSUS_BOOTSTRAP_ADDR, else this host's first up interface) and returns
// the id naming it, with a fresh random secret.
UniqueId make_unique_id();
// Hex text of an id and back, for environments and files.
std::string to_string(const UniqueId& id);
UniqueId parse_unique_id(const std::string& text);  // throws InvalidArgument

// Collective over the nranks processes: returns this rank's communicator.
Communicator init(const UniqueId& id, int rank, int nranks, const Options& options = {});
// The same with several ids, each made by a different rank (NCCL's
// ncclCommInitRankScalable): every rank passes all of them, in the same
// order. The ranks meet at the first id's root, which must be rank 0's; a
// process that made one of the others closes its listener: colossus's
// rendezvous has one root, whatever the number of ids.
Communicator init(const std::vector<UniqueId>& ids, int rank, int nranks,
                  const Options& options = {});

// Collective: rank, size and rendezvous from the launcher's environment
// (colossus-run, torchrun, mpirun or srun; see README). mpirun and srun need
// COLOSSUS_BOOTSTRAP_ADDR=host:port naming a port rank 0's host can listen on.
Communicator init_from_env(const Options& options = {});

// ---- Logging ---------------------------------------------------------------
//
// The library reads its environment once, at first use: COLOSSUS_* variables
// and the NCCL_* ones that have a colossus meaning (NCCL_DEBUG, NCCL_ALGO,
// NCCL_SOCKET_IFNAME, ...; a COLOSSUS_* variable wins over its NCCL_* one;
// see README). This reads the logging ones again, COLOSSUS_DEBUG /
// NCCL_DEBUG, COLOSSUS_DEBUG_FILE / NCCL_DEBUG_FILE and COLOSSUS_DEBUG_SUBSYS
// / NCCL_DEBUG_SUBSYS, so that a program can change them and call it
// (NCCL's ncclResetDebugInit). Safe while other threads log; every later
// line follows the new settings.
void reload_log_settings();

// Every variable the library reads (the COLOSSUS_* ones, then the NCCL_*
// ones it honours), with a line of help and its value in this process's
// environment now ("" and set = false when unset: the default applies).
struct EnvSetting {
  std::string name;
  std::string help;
  bool set = false;
  std::string value;
};
std::vector<EnvSetting> environment_settings();

}  // namespace colossus
