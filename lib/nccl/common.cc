// nccl/common.cc: errors, version, argument checks and configs of the C layer.
#include <cstddef>
#include <cstring>
#include <set>
#include <string>
#include <string_view>

#include "nccl/nccl_impl.hpp"

namespace colossus::nccl {
namespace {

thread_local std::string thread_last_error;

// An error of the C layer: carries the ncclResult_t it returns.
class CError : public Error {
 public:
  CError(ncclResult_t r, const std::string& m) : Error(static_cast<ErrorCode>(r), m) {}
};

}  // namespace

void fail(ncclResult_t code, const std::string& message) { throw CError(code, message); }

void not_implemented(const char* fn, const std::string& what) {
  fail(ncclInvalidUsage, std::string(fn) + ": " + what + " is not implemented in colossus yet");
}

void set_last_error(ncclComm* comm, const std::string& message) {
  thread_last_error = message;
  if (comm) {
    std::lock_guard<std::mutex> lock(comm->mu);
    comm->last_error = message;
  }
}

std::string with_fn(const char* fn, const char* what) {
  const std::string prefix = std::string(fn) + ":";
  const std::string text(what);
  return text.rfind(prefix, 0) == 0 ? text : prefix + " " + text;
}

ncclResult_t to_result(ErrorCode code) {
  switch (code) {
    case ErrorCode::Success: return ncclSuccess;
    case ErrorCode::CudaError: return ncclUnhandledCudaError;
    case ErrorCode::SystemError: return ncclSystemError;
    case ErrorCode::InternalError: return ncclInternalError;
    case ErrorCode::InvalidArgument: return ncclInvalidArgument;
    case ErrorCode::InvalidUsage: return ncclInvalidUsage;
    case ErrorCode::RemoteError: return ncclRemoteError;
    case ErrorCode::Timeout: return ncclTimeout;
    case ErrorCode::Aborted: return ncclInvalidUsage;
  }
  // The C layer's own codes (CError) carry an ncclResult_t.
  const int raw = static_cast<int>(code);
  return raw >= 0 && raw < ncclNumResults ? static_cast<ncclResult_t>(raw) : ncclInternalError;
}

ncclComm* check_comm(const char* fn, ncclComm_t comm) {
  if (!comm) fail(ncclInvalidArgument, std::string(fn) + ": comm is NULL");
  if (comm->suspended.load()) {
    static const std::set<std::string_view> allowed = {
        "ncclCommResume",   "ncclCommMemStats", "ncclCommSuspend",       "ncclCommCount",
        "ncclCommUserRank", "ncclCommCuDevice", "ncclCommGetAsyncError", "ncclCommFinalize"};
    if (!allowed.contains(fn))
      fail(ncclInvalidUsage,
           std::string(fn) + ": the communicator is suspended (call ncclCommResume first)");
  }
  return comm;
}

void check_ptr(const char* fn, const char* name, const void* ptr) {
  if (!ptr) fail(ncclInvalidArgument, std::string(fn) + ": " + name + " is NULL");
}

void check_buf(const char* fn, const char* name, const void* ptr, std::size_t count) {
  if (!ptr && count > 0)
    fail(ncclInvalidArgument,
         std::string(fn) + ": " + name + " is NULL with count " + std::to_string(count));
}

DataType check_dtype(const char* fn, ncclDataType_t type) {
  const int t = raw_enum(type);
  if (t < 0 || t >= ncclNumTypes)
    fail(ncclInvalidArgument, std::string(fn) + ": invalid datatype " + std::to_string(t));
  return static_cast<DataType>(t);
}

CollOp check_op(const char* fn, ncclComm* comm, ncclRedOp_t op, ncclDataType_t datatype) {
  const int o = static_cast<int>(op);
  CollOp r;
  if (o >= 0 && o < ncclNumOps) {
    r.op = static_cast<ReduceOp>(o);
    return r;
  }
  const std::string what = std::string(fn) + ": reduction operator " + std::to_string(o);
  if (o < 0) fail(ncclInvalidArgument, what + " is invalid");
  std::lock_guard<std::mutex> lock(comm->mu);
  const auto it = comm->user_ops.find(o);
  if (it == comm->user_ops.end())
    fail(ncclInvalidArgument,
         what +
             " is not a user operator of this communicator (ncclRedOpCreatePreMulSum makes "
             "them per communicator)");
  const ncclUserOp& u = it->second;
  if (u.destroyed) fail(ncclInvalidArgument, what + " was destroyed (ncclRedOpDestroy)");
  if (u.datatype != datatype)
    fail(ncclInvalidArgument, what + " was created for datatype " +
                                  std::to_string(static_cast<int>(u.datatype)) + ", not " +
                                  std::to_string(static_cast<int>(datatype)));
  r.premul = true;
  const void* from = u.residence == ncclScalarDevice ? u.pointer : u.bytes;
  std::memcpy(r.scalar, from, dtype_size(static_cast<DataType>(datatype)));
  return r;
}

void check_rank(const char* fn, const char* name, int rank, int size) {
  if (rank < 0 || rank >= size)
    fail(ncclInvalidArgument, std::string(fn) + ": " + name + " " + std::to_string(rank) +
                                  " is out of range [0, " + std::to_string(size) + ")");
}

Options read_config(const char* fn, const ncclConfig_t* config) {
  Options options;
  if (!config) return options;
  // The first three fields exist in every release's layout.
  if (config->magic != 0xcafebeef || config->size < offsetof(ncclConfig_t, blocking))
    fail(ncclInvalidArgument,
         std::string(fn) + ": config was not initialized with NCCL_CONFIG_INITIALIZER");
  if (config->size >= offsetof(ncclConfig_t, blocking) + sizeof(int)) {
    const int blocking = config->blocking;
    if (blocking != NCCL_CONFIG_UNDEF_INT && blocking != 0 && blocking != 1)
      fail(ncclInvalidArgument,
           std::string(fn) + ": config->blocking must be 0 or 1, not " + std::to_string(blocking));
    options.blocking = blocking != 0;
  }
  return options;
}

ncclComm* wrap(Communicator c) {
  auto* h = new ncclComm;
  h->comm = std::move(c);
  return h;
}

}  // namespace colossus::nccl

using namespace colossus::nccl;

extern "C" {

ncclResult_t ncclGetVersion(int* version) {
  if (!version) {
    set_last_error(nullptr, "ncclGetVersion: version is NULL");
    return ncclInvalidArgument;
  }
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t result) {
  switch (raw_enum(result)) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error (see ncclGetLastError)";
    case ncclSystemError: return "unhandled system error (see ncclGetLastError)";
    case ncclInternalError: return "internal error - please report this issue to colossus";
    case ncclInvalidArgument: return "invalid argument (see ncclGetLastError)";
    case ncclInvalidUsage: return "invalid usage (see ncclGetLastError)";
    case ncclRemoteError: return "remote process exited or there was a network error";
    case ncclInProgress: return "NCCL operation in progress";
    case ncclTimeout: return "operation timed out (see ncclGetLastError)";
    default: return "unknown result code";
  }
}

const char* ncclGetLastError(ncclComm_t comm) {
  if (comm) {
    std::lock_guard<std::mutex> lock(comm->mu);
    if (!comm->last_error.empty()) return comm->last_error.c_str();
  }
  return thread_last_error.c_str();
}

}  // extern "C"

COLOSSUS_NCCL_ALIAS(ncclGetVersion);
COLOSSUS_NCCL_ALIAS(ncclGetErrorString);
COLOSSUS_NCCL_ALIAS(ncclGetLastError);
