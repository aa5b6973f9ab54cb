// movement.cc: the backend's data-movement calls (gathers, scatter,
// all-to-all, send/recv, monitored barrier). They move bytes, so every dtype
// torch has moves, reducible or not.
#include <memory>
#include <numeric>

#include "backend.hpp"
#include "checks.hpp"
#include "convert.hpp"

namespace colossus_torch {

using colossus::Communicator;
using colossus::DataType;

namespace {

// Allgather of `input` into the contiguous 1-D or staged `out`.
Step allgather_step(const at::Tensor& output, const at::Tensor& input) {
  auto out = std::make_shared<Output>(output);
  const at::Tensor in = input.contiguous();
  const std::size_t bytes = byte_count(in);
  return {[out, in, bytes](Communicator& c) {
            c.allgather(in.data_ptr(), out->buf.data_ptr(), bytes, DataType::Uint8);
          },
          [out] { out->copy_back(); }};
}

// Allgather into a list of tensors (one per rank) through a flat buffer.
Step allgather_list_step(std::vector<at::Tensor> outputs, const at::Tensor& input, int n,
                         const char* call) {
  const at::Tensor in = input.contiguous();
  for (const auto& t : outputs) {
    check_host_tensor(t, call);
    TORCH_CHECK_VALUE(t.scalar_type() == in.scalar_type() && t.numel() == in.numel(),
                      "colossus: ", call, ": every output must have the input's ", in.numel(),
                      " elements of ", dtype_name(in));
  }
  TORCH_CHECK_VALUE(static_cast<int>(outputs.size()) == n, "colossus: ", call, " needs ", n,
                    " output tensors (one per rank), got ", outputs.size());
  auto flat = at::empty({n * in.numel()}, in.options());
  const std::size_t bytes = byte_count(in);
  return {[in, flat, bytes](Communicator& c) {
            c.allgather(in.data_ptr(), flat.data_ptr(), bytes, DataType::Uint8);
          },
          [flat, outputs]() mutable { unflatten_blocks(flat, outputs); }};
}

// Element counts and offsets of an all-to-all's blocks, in bytes: `splits`
// are rows of the first dimension (empty: equal blocks).
void byte_blocks(const at::Tensor& t, const std::vector<int64_t>& splits, int n, const char* side,
                 std::vector<std::size_t>& counts, std::vector<std::size_t>& displs) {
  const int64_t rows = t.dim() == 0 ? 1 : t.size(0);
  const std::size_t row_bytes = rows == 0 ? 0 : byte_count(t) / static_cast<std::size_t>(rows);
  counts.assign(n, 0);
  displs.assign(n, 0);
  if (splits.empty()) {
    TORCH_CHECK_VALUE(rows % n == 0, "colossus: all_to_all_single: the ", side, " tensor's ", rows,
                      " rows do not split evenly over ", n, " ranks; pass split sizes");
    for (int q = 0; q < n; ++q) counts[q] = static_cast<std::size_t>(rows / n) * row_bytes;
  } else {
    TORCH_CHECK_VALUE(static_cast<int>(splits.size()) == n, "colossus: all_to_all_single: ", side,
                      " split sizes have ", splits.size(), " entries, not ", n);
    int64_t sum = 0;
    for (int q = 0; q < n; ++q) {
      TORCH_CHECK_VALUE(splits[q] >= 0, "colossus: all_to_all_single: negative ", side,
                        " split size");
      counts[q] = static_cast<std::size_t>(splits[q]) * row_bytes;
      sum += splits[q];
    }
    TORCH_CHECK_VALUE(sum == rows, "colossus: all_to_all_single: ", side, " split sizes add up to ",
                      sum, ", not the tensor's ", rows, " rows");
  }
  for (int q = 1; q < n; ++q) displs[q] = displs[q - 1] + counts[q - 1];
}

}  // namespace

c10::intrusive_ptr<c10d::Work> ColossusBackend::allgather(
    std::vector<std::vector<at::Tensor>>& outputs, std::vector<at::Tensor>& inputs,
    const c10d::AllgatherOptions& opts) {
  const at::Tensor& in = single_tensor(inputs, "allgather");
  check_host_tensor(in, "allgather (CUDA: use all_gather_into_tensor)");
  TORCH_CHECK_VALUE(outputs.size() == 1, "colossus: allgather takes one output list");
  return submit(c10d::OpType::ALLGATHER, "allgather", outputs[0],
                {allgather_list_step(outputs[0], in, getSize(), "allgather")}, when(opts));
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::_allgather_base(
    at::Tensor& output, at::Tensor& input, const c10d::AllgatherOptions& opts) {
  check_blocks(input, output, getSize(), "all_gather_into_tensor");
  if (output.is_cuda()) {
    return run_on_device(c10d::OpType::_ALLGATHER_BASE, "all_gather_into_tensor", {input}, {output},
                         [&](Communicator& c, cudaStream_t s) {
                           c.allgather(input.data_ptr(), output.data_ptr(), byte_count(input),
                                       DataType::Uint8, s);
                         });
  }
  return submit(c10d::OpType::_ALLGATHER_BASE, "all_gather_into_tensor", {output},
                {allgather_step(output, input)}, when(opts));
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::allgather_coalesced(
    std::vector<std::vector<at::Tensor>>& outputs, std::vector<at::Tensor>& inputs,
    const c10d::AllgatherOptions& opts) {
  TORCH_CHECK_VALUE(outputs.size() == inputs.size(),
                    "colossus: allgather_coalesced needs one output list per input");
  std::vector<Step> steps;
  std::vector<at::Tensor> all;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    check_host_tensor(inputs[i], "allgather_coalesced");
    steps.push_back(allgather_list_step(outputs[i], inputs[i], getSize(), "allgather_coalesced"));
    all.insert(all.end(), outputs[i].begin(), outputs[i].end());
  }
  return submit(c10d::OpType::ALLGATHER_COALESCED, "allgather_coalesced", all, std::move(steps),
                when(opts));
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::allgather_into_tensor_coalesced(
    std::vector<at::Tensor>& outputs, std::vector<at::Tensor>& inputs,
    const c10d::AllgatherOptions& opts) {
  TORCH_CHECK_VALUE(outputs.size() == inputs.size(),
                    "colossus: allgather_into_tensor_coalesced needs as many outputs as inputs");
  std::vector<Step> steps;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    check_host_tensor(outputs[i], "allgather_into_tensor_coalesced");
    check_blocks(inputs[i], outputs[i], getSize(), "allgather_into_tensor_coalesced");
    steps.push_back(allgather_step(outputs[i], inputs[i]));
  }
  return submit(c10d::OpType::COALESCED, "allgather_into_tensor_coalesced", outputs,
                std::move(steps), when(opts));
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::gather(
    std::vector<std::vector<at::Tensor>>& outputs, std::vector<at::Tensor>& inputs,
    const c10d::GatherOptions& opts) {
  const at::Tensor& input = single_tensor(inputs, "gather");
  check_host_tensor(input, "gather");
  const int root = checked_rank(opts.rootRank, getSize(), "gather", "root");
  const bool is_root = root == getRank();
  TORCH_CHECK_VALUE(is_root ? outputs.size() == 1 : (outputs.empty() || outputs[0].empty()),
                    "colossus: gather takes one output list on the root and none elsewhere");
  const at::Tensor in = input.contiguous();
  at::Tensor flat;
  std::vector<at::Tensor> list;
  if (is_root) {
    list = outputs[0];
    flatten_blocks(list, in, getSize(), "gather");  // checks the list
    flat = at::empty({getSize() * in.numel()}, in.options());
  }
  const std::size_t bytes = byte_count(in);
  return submit(c10d::OpType::GATHER, "gather", list,
                {{[in, flat, bytes, root](Communicator& c) {
                    c.gather(in.data_ptr(), flat.defined() ? flat.data_ptr() : nullptr, bytes,
                             DataType::Uint8, root);
                  },
                  [flat, list]() mutable {
                    if (flat.defined()) unflatten_blocks(flat, list);
                  }}},
                when(opts));
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::scatter(
    std::vector<at::Tensor>& outputs, std::vector<std::vector<at::Tensor>>& inputs,
    const c10d::ScatterOptions& opts) {
  const at::Tensor& output = single_tensor(outputs, "scatter");
  check_host_tensor(output, "scatter");
  const int root = checked_rank(opts.rootRank, getSize(), "scatter", "root");
  const bool is_root = root == getRank();
  TORCH_CHECK_VALUE(is_root ? inputs.size() == 1 : (inputs.empty() || inputs[0].empty()),
                    "colossus: scatter takes one input list on the root and none elsewhere");
  at::Tensor flat;
  if (is_root) flat = flatten_blocks(inputs[0], output, getSize(), "scatter");
  auto out = std::make_shared<Output>(output);
  const std::size_t bytes = byte_count(output);
  return submit(c10d::OpType::SCATTER, "scatter", {output},
                {{[flat, out, bytes, root](Communicator& c) {
                    c.scatter(flat.defined() ? flat.data_ptr() : nullptr, out->buf.data_ptr(),
                              bytes, DataType::Uint8, root);
                  },
                  [out] { out->copy_back(); }}},
                when(opts));
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::alltoall_base(at::Tensor& output, at::Tensor& input,
                                                              std::vector<int64_t>& output_splits,
                                                              std::vector<int64_t>& input_splits,
                                                              const c10d::AllToAllOptions& opts) {
  check_tensor(output, "all_to_all_single");
  check_tensor(input, "all_to_all_single");
  TORCH_CHECK_VALUE(
      output.scalar_type() == input.scalar_type() && output.device() == input.device(),
      "colossus: all_to_all_single: input and output differ in dtype or device");
  const int n = getSize();
  std::vector<std::size_t> sc, sd, rc, rd;
  byte_blocks(input, input_splits, n, "input", sc, sd);
  byte_blocks(output, output_splits, n, "output", rc, rd);
  if (output.is_cuda()) {
    return run_on_device(c10d::OpType::ALLTOALL_BASE, "all_to_all_single", {input}, {output},
                         [&](Communicator& c, cudaStream_t s) {
                           c.alltoallv(input.data_ptr(), sc.data(), sd.data(), output.data_ptr(),
                                       rc.data(), rd.data(), DataType::Uint8, s);
                         });
  }
  auto out = std::make_shared<Output>(output);
  // The library never works in place here: an output that is the input
  // gets a buffer of its own.
  const at::Tensor in = input.is_same(output) || !input.is_contiguous()
                            ? input.clone(at::MemoryFormat::Contiguous)
                            : input;
  return submit(c10d::OpType::ALLTOALL_BASE, "all_to_all_single", {output},
                {{[in, out, sc, sd, rc, rd](Communicator& c) {
                    c.alltoallv(in.data_ptr(), sc.data(), sd.data(), out->buf.data_ptr(), rc.data(),
                                rd.data(), DataType::Uint8);
                  },
                  [out] { out->copy_back(); }}},
                when(opts));
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::alltoall(std::vector<at::Tensor>& outputs,
                                                         std::vector<at::Tensor>& inputs,
                                                         const c10d::AllToAllOptions& opts) {
  const int n = getSize();
  TORCH_CHECK_VALUE(static_cast<int>(outputs.size()) == n && static_cast<int>(inputs.size()) == n,
                    "colossus: all_to_all needs ", n, " input and ", n, " output tensors");
  std::vector<std::size_t> sc(n), sd(n), rc(n), rd(n);
  std::vector<at::Tensor> ins;
  for (int q = 0; q < n; ++q) {
    check_host_tensor(inputs[q], "all_to_all");
    check_host_tensor(outputs[q], "all_to_all");
    TORCH_CHECK_VALUE(inputs[q].scalar_type() == inputs[0].scalar_type() &&
                          outputs[q].scalar_type() == inputs[0].scalar_type(),
                      "colossus: all_to_all: every tensor must have one dtype");
    ins.push_back(inputs[q].reshape({-1}));
    sc[q] = byte_count(inputs[q]);
    rc[q] = byte_count(outputs[q]);
    if (q > 0) {
      sd[q] = sd[q - 1] + sc[q - 1];
      rd[q] = rd[q - 1] + rc[q - 1];
    }
  }
  const at::Tensor send = at::cat(ins);
  const int64_t recv_elems =
      static_cast<int64_t>((rd[n - 1] + rc[n - 1]) / outputs[0].element_size());
  const at::Tensor recv = at::empty({recv_elems}, outputs[0].options());
  std::vector<at::Tensor> list = outputs;
  return submit(c10d::OpType::ALLTOALL, "all_to_all", outputs,
                {{[send, recv, sc, sd, rc, rd](Communicator& c) {
                    c.alltoallv(send.data_ptr(), sc.data(), sd.data(), recv.data_ptr(), rc.data(),
                                rd.data(), DataType::Uint8);
                  },
                  [recv, list]() mutable { unflatten_blocks(recv, list); }}},
                when(opts));
}

}  // namespace colossus_torch
