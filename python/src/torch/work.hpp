// work.hpp: the c10d Work a colossus operation returns. The backend's worker
// thread completes it (complete() or fail()); wait() blocks the caller until
// then, and its future carries the output tensors (or the error) to DDP's
// comm hooks and to torch.futures.
#pragma once

#include <torch/extension.h>

#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include <torch/csrc/distributed/c10d/Work.hpp>

namespace colossus_torch {

class ColossusWork : public c10d::Work {
 public:
  // on_wait_timeout is called when wait(timeout) gives up before the work
  // is done: the backend aborts, so that the operation ends on every rank.
  ColossusWork(int rank, c10d::OpType type, std::vector<at::Tensor> outputs,
               std::function<void(const std::string&)> on_wait_timeout);

  void complete();
  void fail(std::exception_ptr error);

  bool wait(std::chrono::milliseconds timeout) override;
  c10::intrusive_ptr<c10::ivalue::Future> getFuture() override { return future_; }
  std::vector<at::Tensor> result() override { return outputs_; }

 private:
  std::vector<at::Tensor> outputs_;
  c10::intrusive_ptr<c10::ivalue::Future> future_;
  std::function<void(const std::string&)> on_wait_timeout_;
};

// A DistBackendError (torch.distributed.DistBackendError in Python) as an
// exception_ptr.
std::exception_ptr backend_error(const std::string& message);

}  // namespace colossus_torch
