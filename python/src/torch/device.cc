// device.cc: CUDA tensors. A communicator bound to the tensor's device, made
// at the first CUDA call, runs each call on the current CUDA stream.
#include <c10/core/impl/VirtualGuardImpl.h>

#include "backend.hpp"

namespace colossus_torch {

colossus::Communicator& ColossusBackend::device_comm(const at::Tensor& t) {
  if (!device_comm_) {
    // Made at the first CUDA call, which every rank of the group makes.
    try {
      device_comm_ = make_comm("colossus_uid_cuda", t.device().index());
    } catch (const colossus::Error& e) {
      TORCH_CHECK_WITH(DistBackendError, false, "colossus: making the communicator for ",
                       t.device().str(), " failed: ", e.what());
    }
  }
  TORCH_CHECK_VALUE(device_comm_->cuda_device() == t.device().index(),
                    "colossus: this process group's CUDA calls run on cuda:",
                    device_comm_->cuda_device(), ", not on ", t.device().str());
  return *device_comm_;
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::run_on_device(
    c10d::OpType type, const char* name, const std::vector<at::Tensor>& inputs,
    std::vector<at::Tensor> outputs,
    const std::function<void(colossus::Communicator&, cudaStream_t)>& issue) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    TORCH_CHECK_VALUE(!coalescing_, "colossus: ", name,
                      " on CUDA tensors inside a coalescing manager or batch_isend_irecv is not "
                      "supported yet (colossus has no device groups)");
  }
  const at::Tensor& any = outputs.at(0);
  const std::vector<at::Tensor>* lists[] = {&inputs, &outputs};
  for (const auto* list : lists)
    for (const auto& t : *list)
      TORCH_CHECK_VALUE(t.is_cuda() && t.device() == any.device() && t.is_contiguous(),
                        "colossus: ", name, " on CUDA needs contiguous tensors, all on one device");
  c10::impl::VirtualGuardImpl guard(c10::DeviceType::CUDA);
  auto stream = static_cast<cudaStream_t>(guard.getStream(any.device()).native_handle());
  auto work = make_work(type, outputs);
  try {
    issue(device_comm(any), stream);
  } catch (const colossus::Error& e) {
    work->fail(backend_error(std::string("colossus: ") + name + " failed on rank " +
                             std::to_string(getRank()) + ": " + e.what()));
    return work;
  }
  work->complete();  // stream-ordered: later work on this stream sees the result
  return work;
}

}  // namespace colossus_torch
