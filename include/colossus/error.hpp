// colossus/error.hpp: the one exception type of the library.
//
// Setup paths and public calls throw colossus::Error carrying a code and a
// message; the hot path passes Status values; the C layer maps codes to
// ncclResult_t (the numeric values below are NCCL's where one exists).
#pragma once

#include <stdexcept>
#include <string>

namespace colossus {

enum class ErrorCode : int {
  Success = 0,
  CudaError = 1,        // ncclUnhandledCudaError
  SystemError = 2,      // ncclSystemError: an OS call failed, a socket dropped
  InternalError = 3,    // ncclInternalError: a bug in colossus
  InvalidArgument = 4,  // ncclInvalidArgument: a bad value passed by the caller
  InvalidUsage = 5,     // ncclInvalidUsage: a call that is wrong in this state
  RemoteError = 6,      // ncclRemoteError: a peer failed or vanished
  Timeout = 100,        // a wait ran past COLOSSUS_TIMEOUT_S (maps to ncclTimeout)
  Aborted = 101,        // this rank aborted or revoked the communicator (maps to ncclInvalidUsage)
};

const char* to_string(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace colossus
