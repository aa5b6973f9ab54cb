// checks.cc: see checks.hpp.
#include "checks.hpp"

#include "convert.hpp"

namespace colossus_torch {

void check_tensor(const at::Tensor& t, const char* call) {
  TORCH_CHECK_VALUE(t.defined(), "colossus: ", call, ": undefined tensor");
  TORCH_CHECK_VALUE(t.layout() == at::kStrided, "colossus: ", call, " takes dense tensors, not ",
                    t.layout());
  TORCH_CHECK_VALUE(t.is_cpu() || t.is_cuda(), "colossus: ", call,
                    " takes CPU or CUDA tensors, not ", t.device().str());
}

void check_host_tensor(const at::Tensor& t, const char* call) {
  check_tensor(t, call);
  TORCH_CHECK_VALUE(t.is_cpu(), "colossus: ", call, " is not supported on CUDA tensors yet");
}

const at::Tensor& single_tensor(const std::vector<at::Tensor>& v, const char* call) {
  TORCH_CHECK_VALUE(v.size() == 1, "colossus: ", call, " takes one tensor per process, got ",
                    v.size());
  check_tensor(v[0], call);
  return v[0];
}

int checked_rank(int64_t r, int size, const char* call, const char* what) {
  TORCH_CHECK_VALUE(r >= 0 && r < size, "colossus: ", call, ": ", what, " ", r,
                    " is not a rank of this group [0, ", size, ")");
  return static_cast<int>(r);
}

void check_blocks(const at::Tensor& small, const at::Tensor& big, int n, const char* call) {
  check_tensor(small, call);
  check_tensor(big, call);
  TORCH_CHECK_VALUE(small.scalar_type() == big.scalar_type(), "colossus: ", call,
                    ": dtypes differ (", dtype_name(small), " and ", dtype_name(big), ")");
  TORCH_CHECK_VALUE(small.device() == big.device(), "colossus: ", call,
                    ": tensors on different devices");
  TORCH_CHECK_VALUE(big.numel() == small.numel() * n, "colossus: ", call, ": the large tensor has ",
                    big.numel(), " elements, not ", n, " x ", small.numel());
}

at::Tensor flatten_blocks(const std::vector<at::Tensor>& list, const at::Tensor& like, int n,
                          const char* call) {
  TORCH_CHECK_VALUE(static_cast<int>(list.size()) == n, "colossus: ", call, " needs a list of ", n,
                    " tensors (one per rank), got ", list.size());
  std::vector<at::Tensor> flat;
  for (const auto& t : list) {
    check_host_tensor(t, call);
    TORCH_CHECK_VALUE(t.scalar_type() == like.scalar_type() && t.numel() == like.numel(),
                      "colossus: ", call, ": every tensor of the list must have ", like.numel(),
                      " elements of ", dtype_name(like));
    flat.push_back(t.reshape({-1}));
  }
  return at::cat(flat);
}

void unflatten_blocks(const at::Tensor& flat, std::vector<at::Tensor>& list) {
  int64_t offset = 0;
  for (auto& t : list) {
    t.copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
}

}  // namespace colossus_torch
