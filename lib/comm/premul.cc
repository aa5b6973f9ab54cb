// premul.cc: the pre-multiplied sum (colossus.hpp's PreMulSum). This rank's
// input is scaled once (reduce::scale) into recv where recv has its shape,
// else into a scratch buffer owned by the call; then the ordinary Sum runs
// on it, in place where the scaled input is recv. Inside a group the call is
// recorded with its scaling, which group_end runs just before the jobs.
#include <cstring>
#include <string>

#include "colossus/colossus.hpp"
#include "comm/comm_impl.hpp"
#include "comm/validate.hpp"
#include "reduce/scale.hpp"

namespace colossus {
namespace detail {

void run_prescale(const PreScale& pre) {
  reduce::scale(pre.dtype, pre.in, pre.out, pre.count, pre.scalar);
}

void CommImpl::premul_sum(const plan::CollArgs& args, const void* send, void* recv,
                          const void* scalar) {
  comm::validate_call(args, rank_, send, recv);
  const std::string call = to_string(args.coll);
  if (scalar == nullptr) {
    throw Error(ErrorCode::InvalidArgument, call + ": PreMulSum's scalar is null");
  }
  if (device_) {  // a device-bound communicator: host buffers only (no stream form yet)
    for (const void* p : {send, static_cast<const void*>(recv), scalar}) {
      if (p != nullptr && exec::gpu::is_device_memory(p)) {
        throw Error(ErrorCode::InvalidUsage,
                    call +
                        ": PreMulSum on device memory is not implemented; its buffers and "
                        "scalar must be host memory");
      }
    }
  }
  auto pre = std::make_shared<PreScale>();
  pre->dtype = args.dtype;
  std::memcpy(pre->scalar, scalar, dtype_size(args.dtype));
  pre->in = send;
  pre->count = args.coll == plan::Collective::ReduceScatter
                   ? args.count * static_cast<std::size_t>(nranks_)
                   : args.count;
  const bool into_recv = args.coll == plan::Collective::AllReduce ||
                         (args.coll == plan::Collective::Reduce && rank_ == args.root);
  if (into_recv) {
    pre->out = recv;
  } else {
    try {
      pre->scratch.resize((pre->count * dtype_size(args.dtype) + 7) / 8);
    } catch (const std::bad_alloc&) {
      throw Error(ErrorCode::SystemError, call + ": out of memory for PreMulSum's scratch");
    }
    pre->out = pre->scratch.data();
  }
  Call scaled{args, pre->out, recv, pre};
  if (group_depth() > 0) {
    group_record(shared_from_this(), std::move(scaled));
    return;
  }
  run_prescale(*pre);
  collective(args, scaled.send, scaled.recv);
}

}  // namespace detail

using detail::make_args;

void Communicator::allreduce(const void* send, void* recv, std::size_t count, DataType type,
                             PreMulSum op) {
  auto& c = impl("allreduce");
  c.premul_sum(make_args(plan::Collective::AllReduce, count, type, ReduceOp::Sum, 0, c.nranks()),
               send, recv, op.scalar);
}

void Communicator::reduce_scatter(const void* send, void* recv, std::size_t recvcount,
                                  DataType type, PreMulSum op) {
  auto& c = impl("reduce_scatter");
  c.premul_sum(
      make_args(plan::Collective::ReduceScatter, recvcount, type, ReduceOp::Sum, 0, c.nranks()),
      send, recv, op.scalar);
}

void Communicator::reduce(const void* send, void* recv, std::size_t count, DataType type,
                          PreMulSum op, int root) {
  auto& c = impl("reduce");
  c.premul_sum(make_args(plan::Collective::Reduce, count, type, ReduceOp::Sum, root, c.nranks()),
               send, recv, op.scalar);
}

}  // namespace colossus
