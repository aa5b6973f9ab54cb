// backend.hpp: the communicator back end of the *_perf tools.
//
// The driver, the groups and the collective descriptors reach the library
// through PerfComm and the functions below, never through an API directly.
// Two back ends define them: backend_cxx.cc over the C++ API
// (colossus::Communicator: the *_perf tools) and backend_nccl.cc over NCCL's
// C API in libnccl.so.2 (the *_perf_nccl twins). A tool gets its back end by
// which of the two it links; everything else is the same code, so both print
// the same table from the same run.
//
// Errors: a back end throws colossus::Error (code and text; the C API's
// ncclResult_t and ncclGetLastError), the driver's one error path.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "colossus/colossus.hpp"

namespace colossus::perf {

// One rank's communicator. Every collective takes a stream: nullptr for
// host buffers (the call returns when it is done), the rank's own stream for
// device buffers of a communicator bound to a CUDA device (--buffers device:
// the call is enqueued on it). A bound communicator takes host buffers too
// (the driver combines statistics in host memory).
class PerfComm {
 public:
  virtual ~PerfComm() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;

  virtual void allreduce(const void* send, void* recv, std::size_t count, DataType type,
                         ReduceOp op, cudaStream_t stream) = 0;
  virtual void allgather(const void* send, void* recv, std::size_t sendcount, DataType type,
                         cudaStream_t stream) = 0;
  virtual void reduce_scatter(const void* send, void* recv, std::size_t recvcount, DataType type,
                              ReduceOp op, cudaStream_t stream) = 0;
  virtual void broadcast(const void* send, void* recv, std::size_t count, DataType type, int root,
                         cudaStream_t stream) = 0;
  virtual void reduce(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op,
                      int root, cudaStream_t stream) = 0;
  virtual void alltoall(const void* send, void* recv, std::size_t count, DataType type,
                        cudaStream_t stream) = 0;
  virtual void gather(const void* send, void* recv, std::size_t count, DataType type, int root,
                      cudaStream_t stream) = 0;
  virtual void scatter(const void* send, void* recv, std::size_t count, DataType type, int root,
                       cudaStream_t stream) = 0;
  // Host buffers only (neither API has send/recv on device buffers yet).
  virtual void send(const void* buf, std::size_t count, DataType type, int peer) = 0;
  virtual void recv(void* buf, std::size_t count, DataType type, int peer) = 0;
  // The calling thread's group (both APIs keep groups per thread, not per
  // communicator): calls between start and end run together at the end.
  virtual void group_start() = 0;
  virtual void group_end() = 0;

  // Releases the rank; called once, after its last call.
  virtual void destroy() = 0;
};

using CommList = std::vector<std::unique_ptr<PerfComm>>;

// What this back end is, for the report: "the C++ API (colossus::Communicator)".
const char* backend_name();

// Why this back end cannot run device buffers (--buffers device), or
// nullptr where it can.
const char* backend_no_device_buffers();

// n ranks as threads of this process (-t n): element i is rank i.
CommList make_local_comms(int n, const Options& options);

// One rank per process, from the launcher's environment (colossus-run,
// torchrun; mpirun and srun with COLOSSUS_BOOTSTRAP_ADDR).
std::unique_ptr<PerfComm> make_launched_comm(const Options& options);

// One rank per process from a unique id that rank 0 made with
// make_backend_unique_id and handed to every rank out of band (MPI_Bcast).
UniqueId make_backend_unique_id();
std::unique_ptr<PerfComm> make_comm(const UniqueId& id, int rank, int nranks,
                                    const Options& options);

}  // namespace colossus::perf
