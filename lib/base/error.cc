#include "colossus/error.hpp"

namespace colossus {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::Success: return "success";
    case ErrorCode::CudaError: return "CUDA error";
    case ErrorCode::SystemError: return "system error";
    case ErrorCode::InternalError: return "internal error";
    case ErrorCode::InvalidArgument: return "invalid argument";
    case ErrorCode::InvalidUsage: return "invalid usage";
    case ErrorCode::RemoteError: return "remote error";
    case ErrorCode::Timeout: return "timeout";
    case ErrorCode::Aborted: return "aborted";
  }
  return "unknown error";
}

}  // namespace colossus
