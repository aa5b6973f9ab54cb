// exchange.cc: the public point-to-point, all-to-all, gather and scatter
// calls, on host buffers and (bound communicators) on a stream.
#include <string>

#include "colossus/colossus.hpp"
#include "comm/comm_impl.hpp"

namespace colossus {

namespace {

using plan::Collective;

plan::CollArgs args_of(Collective coll, std::size_t count, DataType type, int root, int n) {
  return detail::make_args(coll, count, type, ReduceOp::Sum, root, n);
}

// The per-rank arrays of an alltoallv, checked for presence and copied.
plan::CollArgs alltoallv_args(const std::size_t* sendcounts, const std::size_t* sdispls,
                              const std::size_t* recvcounts, const std::size_t* rdispls,
                              DataType type, int n) {
  const std::pair<const char*, const std::size_t*> arrays[] = {{"sendcounts", sendcounts},
                                                               {"sdispls", sdispls},
                                                               {"recvcounts", recvcounts},
                                                               {"rdispls", rdispls}};
  for (const auto& [name, p] : arrays) {
    if (p == nullptr) {
      throw Error(ErrorCode::InvalidArgument, std::string("alltoallv: ") + name + " is null");
    }
  }
  auto v = std::make_shared<plan::VectorArgs>();
  const auto un = static_cast<std::size_t>(n);
  v->send_counts.assign(sendcounts, sendcounts + un);
  v->send_displs.assign(sdispls, sdispls + un);
  v->recv_counts.assign(recvcounts, recvcounts + un);
  v->recv_displs.assign(rdispls, rdispls + un);
  plan::CollArgs a = args_of(Collective::AllToAllv, 0, type, 0, n);
  a.v = std::move(v);
  return a;
}

}  // namespace

void Communicator::send(const void* buf, std::size_t count, DataType type, int peer) {
  auto& c = impl("send");
  c.collective(args_of(Collective::Send, count, type, peer, c.nranks()), buf, nullptr);
}

void Communicator::recv(void* buf, std::size_t count, DataType type, int peer) {
  auto& c = impl("recv");
  c.collective(args_of(Collective::Recv, count, type, peer, c.nranks()), nullptr, buf);
}

void Communicator::alltoall(const void* send, void* recv, std::size_t count, DataType type) {
  auto& c = impl("alltoall");
  c.collective(args_of(Collective::AllToAll, count, type, 0, c.nranks()), send, recv);
}

void Communicator::alltoallv(const void* send, const std::size_t* sendcounts,
                             const std::size_t* sdispls, void* recv, const std::size_t* recvcounts,
                             const std::size_t* rdispls, DataType type) {
  auto& c = impl("alltoallv");
  c.collective(alltoallv_args(sendcounts, sdispls, recvcounts, rdispls, type, c.nranks()), send,
               recv);
}

void Communicator::gather(const void* send, void* recv, std::size_t count, DataType type,
                          int root) {
  auto& c = impl("gather");
  c.collective(args_of(Collective::Gather, count, type, root, c.nranks()), send, recv);
}

void Communicator::scatter(const void* send, void* recv, std::size_t count, DataType type,
                           int root) {
  auto& c = impl("scatter");
  c.collective(args_of(Collective::Scatter, count, type, root, c.nranks()), send, recv);
}

void Communicator::alltoall(const void* send, void* recv, std::size_t count, DataType type,
                            cudaStream_t stream) {
  auto& c = impl("alltoall");
  c.collective(args_of(Collective::AllToAll, count, type, 0, c.nranks()), send, recv, stream);
}

void Communicator::alltoallv(const void* send, const std::size_t* sendcounts,
                             const std::size_t* sdispls, void* recv, const std::size_t* recvcounts,
                             const std::size_t* rdispls, DataType type, cudaStream_t stream) {
  auto& c = impl("alltoallv");
  c.collective(alltoallv_args(sendcounts, sdispls, recvcounts, rdispls, type, c.nranks()), send,
               recv, stream);
}

void Communicator::gather(const void* send, void* recv, std::size_t count, DataType type, int root,
                          cudaStream_t stream) {
  auto& c = impl("gather");
  c.collective(args_of(Collective::Gather, count, type, root, c.nranks()), send, recv, stream);
}

void Communicator::scatter(const void* send, void* recv, std::size_t count, DataType type, int root,
                           cudaStream_t stream) {
  auto& c = impl("scatter");
  c.collective(args_of(Collective::Scatter, count, type, root, c.nranks()), send, recv, stream);
}

Communicator Communicator::split(int color, int key) const {
  detail::CommImpl& parent = impl("split");
  if (!parent.settings().blocking && color >= 0) {
    // Non-blocking: the split's collective runs on a thread of its own; an
    // abort of the pending child aborts the parent, whose connections it
    // shares (and whose call it is in).
    std::shared_ptr<detail::CommImpl> p = parent.shared_from_this();
    return Communicator(std::make_shared<detail::PendingComm>(
        [p, color, key](const base::FailureState&) { return p->split(color, key); },
        [p] { p->abort(); }, parent.settings().timeout_s));
  }
  auto impl_ptr = parent.split(color, key);
  if (!impl_ptr) return Communicator();
  return Communicator(std::move(impl_ptr));
}

}  // namespace colossus
