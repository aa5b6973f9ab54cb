// nccl/collectives.cc: collectives, point-to-point and groups on host
// communicators. The stream is not used: a host call has completed when it
// returns (inside a group: when ncclGroupEnd returns).
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

}  // namespace

extern "C" {

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count,
                           ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm, cudaStream_t) {
  const char* fn = "ncclAllReduce";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    const CollOp o = check_op(fn, h, op, datatype);
    check_buf(fn, "sendbuff", sendbuff, count);
    check_buf(fn, "recvbuff", recvbuff, count);
    const auto t = static_cast<DataType>(datatype);
    if (o.premul) {
      h->comm.allreduce(sendbuff, recvbuff, count, t, PreMulSum{o.scalar});
    } else {
      h->comm.allreduce(sendbuff, recvbuff, count, t, o.op);
    }
    return ncclSuccess;
  });
}

ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count,
                           ncclDataType_t datatype, int root, ncclComm_t comm, cudaStream_t) {
  const char* fn = "ncclBroadcast";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    check_rank(fn, "root", root, h->comm.size());
    if (h->comm.rank() == root) check_buf(fn, "sendbuff", sendbuff, count);
    check_buf(fn, "recvbuff", recvbuff, count);
    h->comm.broadcast(sendbuff, recvbuff, count, static_cast<DataType>(datatype), root);
    return ncclSuccess;
  });
}

ncclResult_t ncclBcast(void* buff, size_t count, ncclDataType_t datatype, int root, ncclComm_t comm,
                       cudaStream_t stream) {
  return ncclBroadcast(buff, buff, count, datatype, root, comm, stream);
}

ncclResult_t ncclReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                        ncclRedOp_t op, int root, ncclComm_t comm, cudaStream_t) {
  const char* fn = "ncclReduce";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    const CollOp o = check_op(fn, h, op, datatype);
    check_rank(fn, "root", root, h->comm.size());
    check_buf(fn, "sendbuff", sendbuff, count);
    if (h->comm.rank() == root) check_buf(fn, "recvbuff", recvbuff, count);
    const auto t = static_cast<DataType>(datatype);
    if (o.premul) {
      h->comm.reduce(sendbuff, recvbuff, count, t, PreMulSum{o.scalar}, root);
    } else {
      h->comm.reduce(sendbuff, recvbuff, count, t, o.op, root);
    }
    return ncclSuccess;
  });
}

ncclResult_t ncclAllGather(const void* sendbuff, void* recvbuff, size_t sendcount,
                           ncclDataType_t datatype, ncclComm_t comm, cudaStream_t) {
  const char* fn = "ncclAllGather";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    check_buf(fn, "sendbuff", sendbuff, sendcount);
    check_buf(fn, "recvbuff", recvbuff, sendcount);
    h->comm.allgather(sendbuff, recvbuff, sendcount, static_cast<DataType>(datatype));
    return ncclSuccess;
  });
}

ncclResult_t ncclReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount,
                               ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                               cudaStream_t) {
  const char* fn = "ncclReduceScatter";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    const CollOp o = check_op(fn, h, op, datatype);
    check_buf(fn, "sendbuff", sendbuff, recvcount);
    check_buf(fn, "recvbuff", recvbuff, recvcount);
    const auto t = static_cast<DataType>(datatype);
    if (o.premul) {
      h->comm.reduce_scatter(sendbuff, recvbuff, recvcount, t, PreMulSum{o.scalar});
    } else {
      h->comm.reduce_scatter(sendbuff, recvbuff, recvcount, t, o.op);
    }
    return ncclSuccess;
  });
}

ncclResult_t ncclAlltoAll(const void* sendbuff, void* recvbuff, size_t count,
                          ncclDataType_t datatype, ncclComm_t comm, cudaStream_t) {
  const char* fn = "ncclAlltoAll";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    check_buf(fn, "sendbuff", sendbuff, count);
    check_buf(fn, "recvbuff", recvbuff, count);
    h->comm.alltoall(sendbuff, recvbuff, count, static_cast<DataType>(datatype));
    return ncclSuccess;
  });
}

ncclResult_t ncclGather(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                        int root, ncclComm_t comm, cudaStream_t) {
  const char* fn = "ncclGather";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    check_rank(fn, "root", root, h->comm.size());
    check_buf(fn, "sendbuff", sendbuff, count);
    if (h->comm.rank() == root) check_buf(fn, "recvbuff", recvbuff, count);
    h->comm.gather(sendbuff, recvbuff, count, static_cast<DataType>(datatype), root);
    return ncclSuccess;
  });
}

ncclResult_t ncclScatter(const void* sendbuff, void* recvbuff, size_t count,
                         ncclDataType_t datatype, int root, ncclComm_t comm, cudaStream_t) {
  const char* fn = "ncclScatter";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    check_rank(fn, "root", root, h->comm.size());
    if (h->comm.rank() == root) check_buf(fn, "sendbuff", sendbuff, count);
    check_buf(fn, "recvbuff", recvbuff, count);
    h->comm.scatter(sendbuff, recvbuff, count, static_cast<DataType>(datatype), root);
    return ncclSuccess;
  });
}

ncclResult_t ncclSend(const void* sendbuff, size_t count, ncclDataType_t datatype, int peer,
                      ncclComm_t comm, cudaStream_t) {
  const char* fn = "ncclSend";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    check_rank(fn, "peer", peer, h->comm.size());
    check_buf(fn, "sendbuff", sendbuff, count);
    h->comm.send(sendbuff, count, static_cast<DataType>(datatype), peer);
    return ncclSuccess;
  });
}

ncclResult_t ncclRecv(void* recvbuff, size_t count, ncclDataType_t datatype, int peer,
                      ncclComm_t comm, cudaStream_t) {
  const char* fn = "ncclRecv";
  return guarded(fn, comm, [&] {
    ncclComm* h = begin(fn, comm, datatype);
    check_rank(fn, "peer", peer, h->comm.size());
    check_buf(fn, "recvbuff", recvbuff, count);
    h->comm.recv(recvbuff, count, static_cast<DataType>(datatype), peer);
    return ncclSuccess;
  });
}

// colossus's groups nest per thread, as NCCL's do.
ncclResult_t ncclGroupStart() {
  return guarded("ncclGroupStart", nullptr, [] {
    group_start();
    return ncclSuccess;
  });
}

ncclResult_t ncclGroupEnd() {
  return guarded("ncclGroupEnd", nullptr, [] {
    group_end();
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
COLOSSUS_NCCL_ALIAS(ncclGroupStart);
COLOSSUS_NCCL_ALIAS(ncclGroupEnd);
