// collectives.cc: the reducing collectives and broadcast of the backend, as
// Steps (one library call each, plus the copies back) that backend.cc runs.
#include <memory>

#include "backend.hpp"
#include "checks.hpp"
#include "convert.hpp"

namespace colossus_torch {

using colossus::Communicator;
using colossus::DataType;

namespace {

// Allreduce (or, with root >= 0, reduce) of one tensor in place.
Step reduce_step(const at::Tensor& t, const c10d::ReduceOp& op, int root, int rank, int nranks,
                 const char* call) {
  const Reduction r = reduction(op, t, call);
  auto out = std::make_shared<Output>(t);
  const bool writes = root < 0 || root == rank;
  if (r.bitwise) {
    // Not in the library: gather every rank's bits, then fold them here.
    auto gathered =
        at::empty({nranks, t.numel()}, t.options().memory_format(at::MemoryFormat::Contiguous));
    const std::size_t bytes = byte_count(out->buf);
    const auto kind = *r.bitwise;
    return {[out, gathered, bytes](Communicator& c) {
              c.allgather(out->buf.data_ptr(), gathered.data_ptr(), bytes, DataType::Uint8);
            },
            [out, gathered, kind, writes] {
              if (!writes) return;
              at::Tensor acc = gathered[0].clone();
              for (int64_t i = 1; i < gathered.size(0); ++i) {
                if (kind == c10d::ReduceOp::BAND)
                  acc.bitwise_and_(gathered[i]);
                else if (kind == c10d::ReduceOp::BOR)
                  acc.bitwise_or_(gathered[i]);
                else
                  acc.bitwise_xor_(gathered[i]);
              }
              out->buf.view({-1}).copy_(acc);
              out->copy_back();
            }};
  }
  const at::Tensor buf = reducible(out->buf, op, call);
  const DataType dt = reduce_type(buf, call);
  const std::size_t n = static_cast<std::size_t>(buf.numel());
  const auto scalar = r.premul_scalar;
  const auto rop = r.op;
  return {[buf, dt, n, scalar, rop, root](Communicator& c) {
            void* p = buf.data_ptr();
            if (scalar) {
              const colossus::PreMulSum pm{scalar->data_ptr()};
              if (root < 0)
                c.allreduce(p, p, n, dt, pm);
              else
                c.reduce(p, p, n, dt, pm, root);
            } else if (root < 0) {
              c.allreduce(p, p, n, dt, rop);
            } else {
              c.reduce(p, p, n, dt, rop, root);
            }
          },
          [out, writes] {
            if (writes) out->copy_back();
          }};
}

// Reduce-scatter of `input` (size() blocks) into `output`.
Step reduce_scatter_step(const at::Tensor& output, const at::Tensor& input,
                         const c10d::ReduceOp& op, const char* call) {
  const Reduction r = reduction(op, input, call);
  TORCH_CHECK_VALUE(!r.bitwise, "colossus: ", call,
                    " does not support bitwise ops (BAND, BOR, BXOR)");
  auto out = std::make_shared<Output>(output);
  const at::Tensor in = reducible(input.contiguous(), op, call);
  const at::Tensor recv = reducible(out->buf, op, call);
  const DataType dt = reduce_type(recv, call);
  const std::size_t n = static_cast<std::size_t>(recv.numel());
  const auto scalar = r.premul_scalar;
  const auto rop = r.op;
  return {[in, recv, dt, n, scalar, rop](Communicator& c) {
            if (scalar)
              c.reduce_scatter(in.data_ptr(), recv.data_ptr(), n, dt,
                               colossus::PreMulSum{scalar->data_ptr()});
            else
              c.reduce_scatter(in.data_ptr(), recv.data_ptr(), n, dt, rop);
          },
          [out] { out->copy_back(); }};
}

void check_device_reduce(const c10d::ReduceOp& op, const char* call) {
  TORCH_CHECK_VALUE(op != c10d::ReduceOp::PREMUL_SUM && op != c10d::ReduceOp::BAND &&
                        op != c10d::ReduceOp::BOR && op != c10d::ReduceOp::BXOR,
                    "colossus: ", call, " on CUDA tensors supports SUM, AVG, PRODUCT, MIN and MAX");
}

}  // namespace

c10::intrusive_ptr<c10d::Work> ColossusBackend::reduce_on_device(const at::Tensor& t,
                                                                 const c10d::ReduceOp& op, int root,
                                                                 c10d::OpType type,
                                                                 const char* call) {
  check_device_reduce(op, call);
  const at::Tensor buf = reducible(t, op, call);
  const DataType dt = reduce_type(buf, call);
  const auto rop = reduction(op, t, call).op;
  return run_on_device(type, call, {t}, {t}, [&](Communicator& c, cudaStream_t s) {
    if (root < 0)
      c.allreduce(buf.data_ptr(), buf.data_ptr(), buf.numel(), dt, rop, s);
    else
      c.reduce(buf.data_ptr(), buf.data_ptr(), buf.numel(), dt, rop, root, s);
  });
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::allreduce(std::vector<at::Tensor>& tensors,
                                                          const c10d::AllreduceOptions& opts) {
  const at::Tensor& t = single_tensor(tensors, "allreduce");
  if (t.is_cuda())
    return reduce_on_device(t, opts.reduceOp, -1, c10d::OpType::ALLREDUCE, "allreduce");
  return submit(c10d::OpType::ALLREDUCE, "allreduce", {t},
                {reduce_step(t, opts.reduceOp, -1, getRank(), getSize(), "allreduce")}, when(opts));
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::allreduce_coalesced(
    std::vector<at::Tensor>& tensors, const c10d::AllreduceCoalescedOptions& opts) {
  std::vector<Step> steps;
  for (const auto& t : tensors) {
    check_host_tensor(t, "allreduce_coalesced");
    steps.push_back(reduce_step(t, opts.reduceOp, -1, getRank(), getSize(), "allreduce_coalesced"));
  }
  return submit(c10d::OpType::ALLREDUCE_COALESCED, "allreduce_coalesced", tensors, std::move(steps),
                when(opts));
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::reduce(std::vector<at::Tensor>& tensors,
                                                       const c10d::ReduceOptions& opts) {
  const at::Tensor& t = single_tensor(tensors, "reduce");
  const int root = checked_rank(opts.rootRank, getSize(), "reduce", "root");
  if (t.is_cuda()) return reduce_on_device(t, opts.reduceOp, root, c10d::OpType::REDUCE, "reduce");
  return submit(c10d::OpType::REDUCE, "reduce", {t},
                {reduce_step(t, opts.reduceOp, root, getRank(), getSize(), "reduce")}, when(opts));
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::broadcast(std::vector<at::Tensor>& tensors,
                                                          const c10d::BroadcastOptions& opts) {
  const at::Tensor& t = single_tensor(tensors, "broadcast");
  const int root = checked_rank(opts.rootRank, getSize(), "broadcast", "root");
  if (t.is_cuda()) {
    return run_on_device(
        c10d::OpType::BROADCAST, "broadcast", {t}, {t}, [&](Communicator& c, cudaStream_t s) {
          c.broadcast(t.data_ptr(), t.data_ptr(), byte_count(t), DataType::Uint8, root, s);
        });
  }
  auto out = std::make_shared<Output>(t);
  const std::size_t bytes = byte_count(t);
  return submit(c10d::OpType::BROADCAST, "broadcast", {t},
                {{[out, bytes, root](Communicator& c) {
                    c.broadcast(out->buf.data_ptr(), out->buf.data_ptr(), bytes, DataType::Uint8,
                                root);
                  },
                  [out] { out->copy_back(); }}},
                when(opts));
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::reduce_scatter(
    std::vector<at::Tensor>& outputs, std::vector<std::vector<at::Tensor>>& inputs,
    const c10d::ReduceScatterOptions& opts) {
  const at::Tensor& out = single_tensor(outputs, "reduce_scatter");
  TORCH_CHECK_VALUE(inputs.size() == 1, "colossus: reduce_scatter takes one input list");
  check_host_tensor(out, "reduce_scatter (CUDA: use reduce_scatter_tensor)");
  const at::Tensor flat = flatten_blocks(inputs[0], out, getSize(), "reduce_scatter");
  return submit(c10d::OpType::REDUCE_SCATTER, "reduce_scatter", {out},
                {reduce_scatter_step(out, flat, opts.reduceOp, "reduce_scatter")}, when(opts));
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::_reduce_scatter_base(
    at::Tensor& output, at::Tensor& input, const c10d::ReduceScatterOptions& opts) {
  check_blocks(output, input, getSize(), "reduce_scatter_tensor");
  if (output.is_cuda()) {
    check_device_reduce(opts.reduceOp, "reduce_scatter_tensor");
    const at::Tensor in = reducible(input, opts.reduceOp, "reduce_scatter_tensor");
    const at::Tensor rv = reducible(output, opts.reduceOp, "reduce_scatter_tensor");
    const DataType dt = reduce_type(rv, "reduce_scatter_tensor");
    const auto rop = reduction(opts.reduceOp, output, "reduce_scatter_tensor").op;
    return run_on_device(c10d::OpType::_REDUCE_SCATTER_BASE, "reduce_scatter_tensor", {input},
                         {output}, [&](Communicator& c, cudaStream_t s) {
                           c.reduce_scatter(in.data_ptr(), rv.data_ptr(), rv.numel(), dt, rop, s);
                         });
  }
  return submit(c10d::OpType::_REDUCE_SCATTER_BASE, "reduce_scatter_tensor", {output},
                {reduce_scatter_step(output, input, opts.reduceOp, "reduce_scatter_tensor")},
                when(opts));
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::reduce_scatter_tensor_coalesced(
    std::vector<at::Tensor>& outputs, std::vector<at::Tensor>& inputs,
    const c10d::ReduceScatterOptions& opts) {
  TORCH_CHECK_VALUE(outputs.size() == inputs.size(),
                    "colossus: reduce_scatter_tensor_coalesced needs as many outputs as inputs");
  std::vector<Step> steps;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    check_host_tensor(outputs[i], "reduce_scatter_tensor_coalesced");
    check_blocks(outputs[i], inputs[i], getSize(), "reduce_scatter_tensor_coalesced");
    steps.push_back(reduce_scatter_step(outputs[i], inputs[i], opts.reduceOp,
                                        "reduce_scatter_tensor_coalesced"));
  }
  return submit(c10d::OpType::COALESCED, "reduce_scatter_tensor_coalesced", outputs,
                std::move(steps), when(opts));
}

c10::intrusive_ptr<c10d::Work> ColossusBackend::barrier(const c10d::BarrierOptions& opts) {
  auto token = at::zeros({1}, at::kByte);
  return submit(c10d::OpType::BARRIER, "barrier", {},
                {{[token](Communicator& c) {
                    c.allreduce(token.data_ptr(), token.data_ptr(), 1, DataType::Uint8,
                                colossus::ReduceOp::Max);
                  },
                  nullptr}},
                when(opts));
}

}  // namespace colossus_torch
