// work.cc: see work.hpp.
#include "work.hpp"

namespace colossus_torch {

std::exception_ptr backend_error(const std::string& message) {
  try {
    TORCH_CHECK_WITH(DistBackendError, false, message);
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;
}

ColossusWork::ColossusWork(int rank, c10d::OpType type, std::vector<at::Tensor> outputs,
                           std::function<void(const std::string&)> on_wait_timeout)
    : c10d::Work(rank, type),
      outputs_(std::move(outputs)),
      future_(
          c10::make_intrusive<c10::ivalue::Future>(c10::ListType::create(c10::TensorType::get()))),
      on_wait_timeout_(std::move(on_wait_timeout)) {}

void ColossusWork::complete() {
  finish();
  future_->markCompleted(c10::IValue(outputs_));
}

void ColossusWork::fail(std::exception_ptr error) {
  finish(error);
  future_->setError(error);
}

bool ColossusWork::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (timeout == ::kNoTimeout) {
    cv_.wait(lock, [&] { return completed_; });
  } else if (!cv_.wait_for(lock, timeout, [&] { return completed_; })) {
    lock.unlock();
    const std::string why = "colossus: " + c10d::opTypeToString(opType_) +
                            " did not complete within " + std::to_string(timeout.count()) +
                            " ms (Work.wait timeout); the process group is aborted";
    on_wait_timeout_(why);
    std::rethrow_exception(backend_error(why));
  }
  if (exception_) std::rethrow_exception(exception_);
  return true;
}

}  // namespace colossus_torch
