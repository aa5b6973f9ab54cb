// backend_nccl.cc: the *_perf_nccl twins' back end, over NCCL's C API
// (backend.hpp): every call is an nccl* function of libnccl.so.2, as a
// program written for NCCL makes it. The C API makes host communicators
// only, so far: these tools run host buffers, in processes that see no
// CUDA device (CUDA_VISIBLE_DEVICES=).
#include <cstring>
#include <string>

#include "bootstrap/launch_env.hpp"
#include "colossus/nccl.h"
#include "perf/backend.hpp"

namespace colossus::perf {

namespace {

// A failed call as the C++ API would have thrown it: the same code (the
// values are NCCL's), the text ncclGetLastError keeps for it.
void check(ncclResult_t result, ncclComm_t comm) {
  if (result == ncclSuccess) return;
  const ErrorCode code = result >= ncclUnhandledCudaError && result <= ncclRemoteError
                             ? static_cast<ErrorCode>(result)
                             : ErrorCode::InternalError;
  const char* text = ncclGetLastError(comm);
  throw Error(code, text && *text ? text : ncclGetErrorString(result));
}

// colossus's enumerators have NCCL's values (checked by tests/nccl).
ncclDataType_t nccl_type(DataType t) { return static_cast<ncclDataType_t>(t); }
ncclRedOp_t nccl_op(ReduceOp op) { return static_cast<ncclRedOp_t>(op); }

class NcclComm final : public PerfComm {
 public:
  explicit NcclComm(ncclComm_t comm) : comm_(comm) {
    check(ncclCommUserRank(comm_, &rank_), comm_);
    check(ncclCommCount(comm_, &size_), comm_);
  }
  ~NcclComm() override {
    if (comm_) ncclCommDestroy(comm_);
  }
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void allreduce(const void* s, void* r, std::size_t n, DataType t, ReduceOp op,
                 cudaStream_t st) override {
    check(ncclAllReduce(s, r, n, nccl_type(t), nccl_op(op), comm_, st), comm_);
  }
  void allgather(const void* s, void* r, std::size_t n, DataType t, cudaStream_t st) override {
    check(ncclAllGather(s, r, n, nccl_type(t), comm_, st), comm_);
  }
  void reduce_scatter(const void* s, void* r, std::size_t n, DataType t, ReduceOp op,
                      cudaStream_t st) override {
    check(ncclReduceScatter(s, r, n, nccl_type(t), nccl_op(op), comm_, st), comm_);
  }
  void broadcast(const void* s, void* r, std::size_t n, DataType t, int root,
                 cudaStream_t st) override {
    check(ncclBroadcast(s, r, n, nccl_type(t), root, comm_, st), comm_);
  }
  void reduce(const void* s, void* r, std::size_t n, DataType t, ReduceOp op, int root,
              cudaStream_t st) override {
    check(ncclReduce(s, r, n, nccl_type(t), nccl_op(op), root, comm_, st), comm_);
  }
  void alltoall(const void* s, void* r, std::size_t n, DataType t, cudaStream_t st) override {
    check(ncclAlltoAll(s, r, n, nccl_type(t), comm_, st), comm_);
  }
  void gather(const void* s, void* r, std::size_t n, DataType t, int root,
              cudaStream_t st) override {
    check(ncclGather(s, r, n, nccl_type(t), root, comm_, st), comm_);
  }
  void scatter(const void* s, void* r, std::size_t n, DataType t, int root,
               cudaStream_t st) override {
    check(ncclScatter(s, r, n, nccl_type(t), root, comm_, st), comm_);
  }
  void send(const void* buf, std::size_t n, DataType t, int peer) override {
    check(ncclSend(buf, n, nccl_type(t), peer, comm_, nullptr), comm_);
  }
  void recv(void* buf, std::size_t n, DataType t, int peer) override {
    check(ncclRecv(buf, n, nccl_type(t), peer, comm_, nullptr), comm_);
  }
  // A group's error belongs to no one communicator: this thread's last error.
  void group_start() override { check(ncclGroupStart(), nullptr); }
  void group_end() override { check(ncclGroupEnd(), nullptr); }

  void destroy() override {
    ncclComm_t c = comm_;
    comm_ = nullptr;
    if (c) check(ncclCommDestroy(c), nullptr);  // the handle is gone: the thread's error
  }

 private:
  ncclComm_t comm_;
  int rank_ = 0;
  int size_ = 0;
};

// NCCL's config has no timeout: -T cannot reach the library through the
// C API, and is refused rather than ignored. (--buffers device never gets
// here: the driver refuses it first, backend_no_device_buffers.)
void check_options(const Options& options) {
  if (options.timeout_s > 0) {
    throw Error(ErrorCode::InvalidUsage,
                "-T: NCCL's C API has no timeout setting; the *_perf_nccl tools take "
                "COLOSSUS_TIMEOUT_S from the environment instead");
  }
}

std::unique_ptr<PerfComm> init_rank(const ncclUniqueId& id, int rank, int nranks) {
  ncclComm_t comm = nullptr;
  check(ncclCommInitRank(&comm, nranks, id, rank), nullptr);
  return std::make_unique<NcclComm>(comm);
}

}  // namespace

const char* backend_name() { return "NCCL's C API (colossus's libnccl.so.2)"; }

const char* backend_no_device_buffers() {
  return "the *_perf_nccl tools go through NCCL's C API, whose communicators are host-only so "
         "far: they run host buffers (the default), in processes that see no CUDA device "
         "(CUDA_VISIBLE_DEVICES=); the *_perf tools run device buffers through the C++ API";
}

CommList make_local_comms(int n, const Options& options) {
  check_options(options);
  std::vector<ncclComm_t> comms(static_cast<std::size_t>(n), nullptr);
  check(ncclCommInitAll(comms.data(), n, nullptr), nullptr);
  CommList out;
  for (ncclComm_t c : comms) out.push_back(std::make_unique<NcclComm>(c));
  return out;
}

std::unique_ptr<PerfComm> make_launched_comm(const Options& options) {
  check_options(options);
  const auto launch = bootstrap::detect_launch(bootstrap::process_environment());
  if (!launch) {
    throw Error(ErrorCode::InvalidUsage,
                "no launcher environment (colossus-run, torchrun, mpirun, srun)");
  }
  // The C API has no init from the environment: the id the launcher's
  // environment names (the one init_from_env uses), through ncclCommInitRank.
  const bootstrap::UniqueId id = bootstrap::launch_unique_id(*launch, "*_perf_nccl");
  ncclUniqueId nccl_id;
  static_assert(sizeof nccl_id == sizeof id);
  std::memcpy(&nccl_id, &id, sizeof nccl_id);
  return init_rank(nccl_id, launch->rank, launch->world_size);
}

UniqueId make_backend_unique_id() {
  ncclUniqueId nccl_id;
  check(ncclGetUniqueId(&nccl_id), nullptr);
  UniqueId id;
  static_assert(sizeof id == sizeof nccl_id);
  std::memcpy(&id, &nccl_id, sizeof id);
  return id;
}

std::unique_ptr<PerfComm> make_comm(const UniqueId& id, int rank, int nranks,
                                    const Options& options) {
  check_options(options);
  ncclUniqueId nccl_id;
  std::memcpy(&nccl_id, &id, sizeof nccl_id);
  return init_rank(nccl_id, rank, nranks);
}

}  // namespace colossus::perf
