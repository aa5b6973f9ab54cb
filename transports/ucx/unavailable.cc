// unavailable.cc: the ucx transport in a build without UCX: asking for it
// is an error that says what is missing.
#include "colossus/error.hpp"
#include "transports/ucx/ucx.hpp"

namespace colossus::transport {

bool ucx_available() { return false; }

std::unique_ptr<Transport> make_ucx_transport(bootstrap::OutOfBand&, Doorbell&, const UcxOptions&) {
  throw Error(ErrorCode::InvalidUsage,
              "ucx transport: this libcolossus was built without UCX (install libucx-dev, "
              "e.g. scripts/install-deps.sh, and rebuild)");
}

}  // namespace colossus::transport
