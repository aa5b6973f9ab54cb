// device.cc: communicators bound to a GPU (Options::cuda_device): the stream
// overloads of the collectives, and the residency bound on their channels.
// The device work itself is exec::gpu::StreamExecutor's.
#include <algorithm>
#include <map>

#include "base/logging.hpp"
#include "colossus/colossus.hpp"
#include "comm/comm_impl.hpp"
#include "comm/validate.hpp"
#include "exec/cuda/device_plan.hpp"

namespace colossus {
namespace detail {

int device_channel_limit(const std::vector<std::string>& hosts,
                         const std::vector<exec::gpu::DeviceInfo>& info) {
  std::map<std::pair<std::string, std::string>, int> sharing;  // (host, bus id) -> ranks
  for (std::size_t r = 0; r < info.size(); ++r) ++sharing[{hosts[r], info[r].bus_id}];
  int limit = exec::gpu::kMaxWorksPerLaunch;
  for (std::size_t r = 0; r < info.size(); ++r) {
    const int n = sharing[{hosts[r], info[r].bus_id}];
    // The tree needs two channels (one per tree) whatever it is given.
    if (2 * n > info[r].resident_blocks) {
      throw Error(ErrorCode::InvalidUsage,
                  std::to_string(n) + " ranks share GPU " + info[r].bus_id + ", which holds " +
                      std::to_string(info[r].resident_blocks) +
                      " channel blocks at once: at most half as many ranks may share it");
    }
    limit = std::min(limit, exec::gpu::max_resident_channels(info[r].resident_blocks, n));
  }
  return limit / 2 * 2;  // even: the tree rounds an odd channel count up
}

void CommImpl::bind_device(exec::gpu::StreamSetup setup) {
  setup.control = transport_;
  setup.timeout_s = settings_.timeout_s;
  setup.slot_bytes = std::min(settings_.slot_bytes, transport_->slot_bytes());
  setup.depth = static_cast<std::uint32_t>(settings_.fifo_depth);
  if (rank_ == 0) {
    int network = 0, ipc = 0;
    for (std::size_t p = 0; p < setup.reach.size(); ++p) {
      if (static_cast<int>(p) == rank_) continue;
      network += setup.reach[p] == exec::gpu::PeerReach::Network;
      ipc += setup.reach[p] == exec::gpu::PeerReach::SameHost;
    }
    CLOG_SUB(Info, Init) << "rank 0 bound to CUDA device " << setup.device << ": peers " << ipc
                         << " over cuda_ipc, " << network
                         << " over the host proxy (tcp), the rest in process; "
                         << "at most " << settings_.max_channels
                         << " channels per rank (every rank sharing a GPU resident at once)";
  }
  device_ = exec::gpu::make_stream_executor(std::move(setup));
}

void CommImpl::collective(const plan::CollArgs& args, const void* send, void* recv,
                          cudaStream_t stream) {
  const char* name = to_string(args.coll);
  if (!device_) {
    throw Error(ErrorCode::InvalidUsage,
                std::string(name) +
                    " on a stream: the communicator is not bound to a CUDA device "
                    "(set Options::cuda_device)");
  }
  if (group_depth() > 0) {
    throw Error(ErrorCode::InvalidUsage,
                std::string(name) +
                    " on a stream inside a group: device calls in groups are not implemented "
                    "yet (host-buffer calls are)");
  }
  if (plan::is_p2p(args.coll) || args.coll == plan::Collective::AllToAllv) {
    throw Error(ErrorCode::InvalidUsage, std::string(name) +
                                             " on device buffers is not implemented yet "
                                             "(the host-buffer call is)");
  }
  comm::validate_call(args, rank_, send, recv);
  device_->check_error();
  if (args.count == 0) return;
  device_->run(plan_for(args), send, recv, stream);
}

void CommImpl::check_host_buffers(const plan::CollArgs& args, const void* send,
                                  const void* recv) const {
  for (const void* p : {send, static_cast<const void*>(recv)}) {
    if (p != nullptr && exec::gpu::is_device_memory(p)) {
      throw Error(ErrorCode::InvalidArgument,
                  std::string(to_string(args.coll)) +
                      ": a device pointer passed to the host-buffer call; pass the stream "
                      "(the overload with a cudaStream_t) to run on the GPU");
    }
  }
}

}  // namespace detail

void Communicator::allreduce(const void* send, void* recv, std::size_t count, DataType type,
                             ReduceOp op, cudaStream_t stream) {
  auto& c = impl("allreduce");
  c.collective(detail::make_args(plan::Collective::AllReduce, count, type, op, 0, c.nranks()), send,
               recv, stream);
}

void Communicator::allgather(const void* send, void* recv, std::size_t sendcount, DataType type,
                             cudaStream_t stream) {
  auto& c = impl("allgather");
  c.collective(
      detail::make_args(plan::Collective::AllGather, sendcount, type, ReduceOp::Sum, 0, c.nranks()),
      send, recv, stream);
}

void Communicator::reduce_scatter(const void* send, void* recv, std::size_t recvcount,
                                  DataType type, ReduceOp op, cudaStream_t stream) {
  auto& c = impl("reduce_scatter");
  c.collective(
      detail::make_args(plan::Collective::ReduceScatter, recvcount, type, op, 0, c.nranks()), send,
      recv, stream);
}

void Communicator::broadcast(const void* send, void* recv, std::size_t count, DataType type,
                             int root, cudaStream_t stream) {
  auto& c = impl("broadcast");
  c.collective(
      detail::make_args(plan::Collective::Broadcast, count, type, ReduceOp::Sum, root, c.nranks()),
      send, recv, stream);
}

void Communicator::reduce(const void* send, void* recv, std::size_t count, DataType type,
                          ReduceOp op, int root, cudaStream_t stream) {
  auto& c = impl("reduce");
  c.collective(detail::make_args(plan::Collective::Reduce, count, type, op, root, c.nranks()), send,
               recv, stream);
}

int Communicator::cuda_device() const { return impl("cuda_device").cuda_device(); }

}  // namespace colossus
