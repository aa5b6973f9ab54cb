// backend.hpp: the torch.distributed backend "colossus", a c10d::Backend.
//
// Host tensors: each call is checked and staged on the caller's thread,
// then run by one worker thread per backend, in call order, so that calls
// are asynchronous (a Work) and the Communicator is driven by one thread as
// the C++ API asks. Between startCoalescing() and endCoalescing() (torch's
// coalescing manager, batch_isend_irecv), the calls are collected and run as
// one colossus group. Every call has a deadline: its opts.timeout, else the
// process group's; a watchdog aborts the communicator when it passes, so the
// call ends with an error on every rank instead of hanging.
//
// CUDA tensors: a second communicator bound to the tensor's device, made at
// the first CUDA call (its unique id travels through the c10d store), runs
// the call on the current CUDA stream; the Work is complete once enqueued,
// as with stream semantics in NCCL's backend.
#pragma once

#include <torch/extension.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include "colossus/colossus.hpp"
#include "work.hpp"

namespace colossus_torch {

// One library call and, for outputs the library could not write in place,
// what copies them back once it (or its group) is done.
struct Step {
  std::function<void(colossus::Communicator&)> issue;
  std::function<void()> finish;
};

// When a call must be done and whether its caller waits for it at once
// (c10d's opts.timeout and opts.asyncOp).
struct When {
  std::chrono::milliseconds timeout;
  bool async = true;
};
template <class Opts>
When when(const Opts& opts) {
  return {opts.timeout, opts.asyncOp};
}

class ColossusBackend : public c10d::Backend {
 public:
  ColossusBackend(c10::intrusive_ptr<c10d::Store> store, int rank, int size,
                  std::chrono::milliseconds timeout);
  ~ColossusBackend() override;

  const std::string getBackendName() const override { return "colossus"; }
  bool supportsCoalescing() const override { return true; }
  void startCoalescing() override;
  c10::intrusive_ptr<c10d::Work> endCoalescing() override;
  void setSequenceNumberForGroup() override {}
  uint64_t getSequenceNumberForGroup() override { return seq_; }
  void abort() override;
  void shutdown() override;

  c10::intrusive_ptr<c10d::Work> broadcast(std::vector<at::Tensor>& tensors,
                                           const c10d::BroadcastOptions& opts) override;
  c10::intrusive_ptr<c10d::Work> allreduce(std::vector<at::Tensor>& tensors,
                                           const c10d::AllreduceOptions& opts) override;
  c10::intrusive_ptr<c10d::Work> allreduce_coalesced(
      std::vector<at::Tensor>& tensors, const c10d::AllreduceCoalescedOptions& opts) override;
  c10::intrusive_ptr<c10d::Work> reduce(std::vector<at::Tensor>& tensors,
                                        const c10d::ReduceOptions& opts) override;
  c10::intrusive_ptr<c10d::Work> allgather(std::vector<std::vector<at::Tensor>>& outputs,
                                           std::vector<at::Tensor>& inputs,
                                           const c10d::AllgatherOptions& opts) override;
  c10::intrusive_ptr<c10d::Work> _allgather_base(at::Tensor& output, at::Tensor& input,
                                                 const c10d::AllgatherOptions& opts) override;
  c10::intrusive_ptr<c10d::Work> allgather_coalesced(std::vector<std::vector<at::Tensor>>& outputs,
                                                     std::vector<at::Tensor>& inputs,
                                                     const c10d::AllgatherOptions& opts) override;
  c10::intrusive_ptr<c10d::Work> allgather_into_tensor_coalesced(
      std::vector<at::Tensor>& outputs, std::vector<at::Tensor>& inputs,
      const c10d::AllgatherOptions& opts) override;
  c10::intrusive_ptr<c10d::Work> gather(std::vector<std::vector<at::Tensor>>& outputs,
                                        std::vector<at::Tensor>& inputs,
                                        const c10d::GatherOptions& opts) override;
  c10::intrusive_ptr<c10d::Work> scatter(std::vector<at::Tensor>& outputs,
                                         std::vector<std::vector<at::Tensor>>& inputs,
                                         const c10d::ScatterOptions& opts) override;
  c10::intrusive_ptr<c10d::Work> reduce_scatter(std::vector<at::Tensor>& outputs,
                                                std::vector<std::vector<at::Tensor>>& inputs,
                                                const c10d::ReduceScatterOptions& opts) override;
  c10::intrusive_ptr<c10d::Work> _reduce_scatter_base(
      at::Tensor& output, at::Tensor& input, const c10d::ReduceScatterOptions& opts) override;
  c10::intrusive_ptr<c10d::Work> reduce_scatter_tensor_coalesced(
      std::vector<at::Tensor>& outputs, std::vector<at::Tensor>& inputs,
      const c10d::ReduceScatterOptions& opts) override;
  c10::intrusive_ptr<c10d::Work> alltoall_base(at::Tensor& output, at::Tensor& input,
                                               std::vector<int64_t>& output_splits,
                                               std::vector<int64_t>& input_splits,
                                               const c10d::AllToAllOptions& opts) override;
  c10::intrusive_ptr<c10d::Work> alltoall(std::vector<at::Tensor>& outputs,
                                          std::vector<at::Tensor>& inputs,
                                          const c10d::AllToAllOptions& opts) override;
  c10::intrusive_ptr<c10d::Work> send(std::vector<at::Tensor>& tensors, int dst, int tag) override;
  c10::intrusive_ptr<c10d::Work> recv(std::vector<at::Tensor>& tensors, int src, int tag) override;
  c10::intrusive_ptr<c10d::Work> barrier(const c10d::BarrierOptions& opts) override;
  void monitoredBarrier(const c10d::BarrierOptions& opts, bool wait_all_ranks) override;

 private:
  // A call's steps, run as one unit (a group when there are several).
  struct Job {
    std::vector<Step> steps;
    std::vector<c10::intrusive_ptr<ColossusWork>> works;
    std::chrono::milliseconds timeout;
    std::string name;
  };

  // Queues `steps` (or adds them to the coalesced group) and returns their
  // Work. `outputs` become the Work's result and future value. A blocking
  // call (not async) that finds the backend idle runs on the caller's
  // thread instead: no hand-off to the worker and back.
  c10::intrusive_ptr<c10d::Work> submit(c10d::OpType type, const char* name,
                                        std::vector<at::Tensor> outputs, std::vector<Step> steps,
                                        When when);
  // The same for CUDA tensors: run now on the current stream of the
  // outputs' device. Inputs and outputs must be contiguous, on that device.
  c10::intrusive_ptr<c10d::Work> run_on_device(
      c10d::OpType type, const char* name, const std::vector<at::Tensor>& inputs,
      std::vector<at::Tensor> outputs,
      const std::function<void(colossus::Communicator&, cudaStream_t)>& issue);
  // Allreduce (root < 0) or reduce of a CUDA tensor in place.
  c10::intrusive_ptr<c10d::Work> reduce_on_device(const at::Tensor& t, const c10d::ReduceOp& op,
                                                  int root, c10d::OpType type, const char* call);
  colossus::Communicator& device_comm(const at::Tensor& t);
  // A communicator of this group whose unique id rank 0 puts in the store
  // under `key` (one key per communicator), bound to cuda_device or none.
  colossus::Communicator make_comm(const std::string& key, int cuda_device);
  std::chrono::milliseconds deadline_of(std::chrono::milliseconds op_timeout) const;
  void worker_loop();
  void watchdog_loop();
  // Marks `job` as the one running (for the watchdog), runs it, unmarks it.
  void run_tracked(Job& job);
  // Runs the job's library calls and copies; the error, if any (Works untouched).
  std::exception_ptr run_job(Job& job);
  void abort_because(const std::string& why);
  c10::intrusive_ptr<ColossusWork> make_work(c10d::OpType type, std::vector<at::Tensor> outputs);

  c10::intrusive_ptr<c10d::Store> store_;
  std::chrono::milliseconds timeout_;
  colossus::Communicator comm_;
  std::optional<colossus::Communicator> device_comm_;
  std::atomic<uint64_t> seq_{0};  // read by getSequenceNumberForGroup without the lock

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::optional<Job> coalescing_;
  bool stopping_ = false;
  bool busy_ = false;  // a job runs (on the worker or inline on a caller)
  // The running job's deadline, number and name, for the watchdog, which
  // sleeps until the deadline it knows and is woken only when it knows none.
  std::optional<std::chrono::steady_clock::time_point> running_deadline_;
  uint64_t running_number_ = 0;
  std::string running_name_;
  bool watchdog_idle_ = false;
  std::condition_variable watchdog_cv_;  // the watchdog's own: the worker's wake-ups pass it by
  std::string abort_reason_;
  std::thread worker_;
  std::thread watchdog_;
};

}  // namespace colossus_torch
