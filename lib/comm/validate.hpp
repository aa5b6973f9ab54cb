// validate.hpp: the argument checks every public collective call makes.
#pragma once

#include "plan/plan.hpp"

namespace colossus::comm {

// Throws Error(InvalidArgument) naming the call and the argument at fault:
// unknown dtype or op, root out of range, byte counts that overflow, null
// buffers with a nonzero count, address ranges that wrap, and send/recv
// buffers that overlap other than in place.
void validate_call(const plan::CollArgs& args, int rank, const void* send, const void* recv);

}  // namespace colossus::comm
