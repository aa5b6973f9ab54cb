// nccl/collectives.cc: collectives and point-to-point (groups: group.cc). On a host
// communicator the stream is not used: a call has completed when it returns
// (inside a group: when ncclGroupEnd returns). On one bound to a CUDA
// device (device.cc) the buffers are device memory and the call is
// enqueued on the stream, through the C++ API's stream overloads.
#include <string>

#include "nccl/nccl_impl.hpp"

using namespace colossus;
using namespace colossus::nccl;

namespace {

// The checks every collective starts with; returns the handle.
ncclComm* begin(const char* fn, ncclComm_t comm, ncclDataType_t datatype) {
  ncclComm* h = check_comm(fn, comm);
  check_dtype(fn, datatype);
  return h;
}

// Runs call() on a host communicator, call(stream) on a device one.
template <class Call>
void run_on(ncclComm* h, cudaStream_t stream, Call&& call) {
  if (h->comm.cuda_device() >= 0) {
    call(stream);
  } else {
    call();
  }
}

// What device communicators cannot do through the C++ API yet.
void host_only(const char* fn, ncclComm* h, const char* what) {
  if (h->comm.cuda_device() >= 0) not_implemented(fn, std::string(what) + " on device buffers");
}

}  // namespace

extern "C" {

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count,
                           ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                           cudaStream_t stream) {
  const char* fn = "ncclAllReduce";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    const CollOp o = check_op(fn, h, op, datatype);
    check_buf(fn, "sendbuff", sendbuff, count);
    check_buf(fn, "recvbuff", recvbuff, count);
    const auto t = static_cast<DataType>(datatype);
    if (o.premul) {
      host_only(fn, h, "a pre-multiplied sum");
      h->comm.allreduce(sendbuff, recvbuff, count, t, PreMulSum{o.scalar});
    } else {
      run_on(h, stream,
             [&](auto... s) { h->comm.allreduce(sendbuff, recvbuff, count, t, o.op, s...); });
    }
    return ncclSuccess;
  });
}

ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count,
                           ncclDataType_t datatype, int root, ncclComm_t comm,
                           cudaStream_t stream) {
  const char* fn = "ncclBroadcast";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    check_rank(fn, "root", root, h->comm.size());
    if (h->comm.rank() == root) check_buf(fn, "sendbuff", sendbuff, count);
    check_buf(fn, "recvbuff", recvbuff, count);
    const auto t = static_cast<DataType>(datatype);
    run_on(h, stream,
           [&](auto... s) { h->comm.broadcast(sendbuff, recvbuff, count, t, root, s...); });
    return ncclSuccess;
  });
}

ncclResult_t ncclBcast(void* buff, size_t count, ncclDataType_t datatype, int root, ncclComm_t comm,
                       cudaStream_t stream) {
  return ncclBroadcast(buff, buff, count, datatype, root, comm, stream);
}

ncclResult_t ncclReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                        ncclRedOp_t op, int root, ncclComm_t comm, cudaStream_t stream) {
  const char* fn = "ncclReduce";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    const CollOp o = check_op(fn, h, op, datatype);
    check_rank(fn, "root", root, h->comm.size());
    check_buf(fn, "sendbuff", sendbuff, count);
    if (h->comm.rank() == root) check_buf(fn, "recvbuff", recvbuff, count);
    const auto t = static_cast<DataType>(datatype);
    if (o.premul) {
      host_only(fn, h, "a pre-multiplied sum");
      h->comm.reduce(sendbuff, recvbuff, count, t, PreMulSum{o.scalar}, root);
    } else {
      run_on(h, stream,
             [&](auto... s) { h->comm.reduce(sendbuff, recvbuff, count, t, o.op, root, s...); });
    }
    return ncclSuccess;
  });
}

ncclResult_t ncclAllGather(const void* sendbuff, void* recvbuff, size_t sendcount,
                           ncclDataType_t datatype, ncclComm_t comm, cudaStream_t stream) {
  const char* fn = "ncclAllGather";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    check_buf(fn, "sendbuff", sendbuff, sendcount);
    check_buf(fn, "recvbuff", recvbuff, sendcount);
    const auto t = static_cast<DataType>(datatype);
    run_on(h, stream,
           [&](auto... s) { h->comm.allgather(sendbuff, recvbuff, sendcount, t, s...); });
    return ncclSuccess;
  });
}

ncclResult_t ncclReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount,
                               ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                               cudaStream_t stream) {
  const char* fn = "ncclReduceScatter";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    const CollOp o = check_op(fn, h, op, datatype);
    check_buf(fn, "sendbuff", sendbuff, recvcount);
    check_buf(fn, "recvbuff", recvbuff, recvcount);
    const auto t = static_cast<DataType>(datatype);
    if (o.premul) {
      host_only(fn, h, "a pre-multiplied sum");
      h->comm.reduce_scatter(sendbuff, recvbuff, recvcount, t, PreMulSum{o.scalar});
    } else {
      run_on(h, stream, [&](auto... s) {
        h->comm.reduce_scatter(sendbuff, recvbuff, recvcount, t, o.op, s...);
      });
    }
    return ncclSuccess;
  });
}

ncclResult_t ncclAlltoAll(const void* sendbuff, void* recvbuff, size_t count,
                          ncclDataType_t datatype, ncclComm_t comm, cudaStream_t stream) {
  const char* fn = "ncclAlltoAll";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    check_buf(fn, "sendbuff", sendbuff, count);
    check_buf(fn, "recvbuff", recvbuff, count);
    const auto t = static_cast<DataType>(datatype);
    run_on(h, stream, [&](auto... s) { h->comm.alltoall(sendbuff, recvbuff, count, t, s...); });
    return ncclSuccess;
  });
}

ncclResult_t ncclGather(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                        int root, ncclComm_t comm, cudaStream_t stream) {
  const char* fn = "ncclGather";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    check_rank(fn, "root", root, h->comm.size());
    check_buf(fn, "sendbuff", sendbuff, count);
    if (h->comm.rank() == root) check_buf(fn, "recvbuff", recvbuff, count);
    const auto t = static_cast<DataType>(datatype);
    run_on(h, stream, [&](auto... s) { h->comm.gather(sendbuff, recvbuff, count, t, root, s...); });
    return ncclSuccess;
  });
}

ncclResult_t ncclScatter(const void* sendbuff, void* recvbuff, size_t count,
                         ncclDataType_t datatype, int root, ncclComm_t comm, cudaStream_t stream) {
  const char* fn = "ncclScatter";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    check_rank(fn, "root", root, h->comm.size());
    if (h->comm.rank() == root) check_buf(fn, "sendbuff", sendbuff, count);
    check_buf(fn, "recvbuff", recvbuff, count);
    const auto t = static_cast<DataType>(datatype);
    run_on(h, stream,
           [&](auto... s) { h->comm.scatter(sendbuff, recvbuff, count, t, root, s...); });
    return ncclSuccess;
  });
}

ncclResult_t ncclSend(const void* sendbuff, size_t count, ncclDataType_t datatype, int peer,
                      ncclComm_t comm, cudaStream_t stream) {
  const char* fn = "ncclSend";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    check_rank(fn, "peer", peer, h->comm.size());
    check_buf(fn, "sendbuff", sendbuff, count);
    host_only(fn, h, "send/recv");
    h->comm.send(sendbuff, count, static_cast<DataType>(datatype), peer);
    return ncclSuccess;
  });
}

ncclResult_t ncclRecv(void* recvbuff, size_t count, ncclDataType_t datatype, int peer,
                      ncclComm_t comm, cudaStream_t stream) {
  const char* fn = "ncclRecv";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    check_rank(fn, "peer", peer, h->comm.size());
    check_buf(fn, "recvbuff", recvbuff, count);
    host_only(fn, h, "send/recv");
    h->comm.recv(recvbuff, count, static_cast<DataType>(datatype), peer);
    return ncclSuccess;
  });
}

}  // extern "C"

COLOSSUS_NCCL_ALIAS(ncclAllReduce);
COLOSSUS_NCCL_ALIAS(ncclBroadcast);
COLOSSUS_NCCL_ALIAS(ncclBcast);
COLOSSUS_NCCL_ALIAS(ncclReduce);
COLOSSUS_NCCL_ALIAS(ncclAllGather);
COLOSSUS_NCCL_ALIAS(ncclReduceScatter);
COLOSSUS_NCCL_ALIAS(ncclAlltoAll);
COLOSSUS_NCCL_ALIAS(ncclGather);
COLOSSUS_NCCL_ALIAS(ncclScatter);
COLOSSUS_NCCL_ALIAS(ncclSend);
COLOSSUS_NCCL_ALIAS(ncclRecv);
