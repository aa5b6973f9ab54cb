// checks.hpp: argument checks shared by the backend's calls. Each failure is
// a ValueError in Python naming the call and what is wrong.
#pragma once

#include <torch/extension.h>

#include <vector>

namespace colossus_torch {

// A dense CPU or CUDA tensor.
void check_tensor(const at::Tensor& t, const char* call);
// A dense CPU tensor (calls not served on CUDA yet name what to use).
void check_host_tensor(const at::Tensor& t, const char* call);
// The one tensor of a per-device list (one device per process).
const at::Tensor& single_tensor(const std::vector<at::Tensor>& v, const char* call);
// A root or peer in [0, size).
int checked_rank(int64_t r, int size, const char* call, const char* what);
// `big` holds `n` blocks of `small`'s dtype and size (allgather, reduce-scatter).
void check_blocks(const at::Tensor& small, const at::Tensor& big, int n, const char* call);
// n tensors, each like `like`, as one contiguous tensor of n blocks.
at::Tensor flatten_blocks(const std::vector<at::Tensor>& list, const at::Tensor& like, int n,
                          const char* call);
// Copies block i of the contiguous `flat` into list[i].
void unflatten_blocks(const at::Tensor& flat, std::vector<at::Tensor>& list);

}  // namespace colossus_torch
