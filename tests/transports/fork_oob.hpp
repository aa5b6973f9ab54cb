// fork_oob.hpp: moved to tests/support/fork_oob.hpp; this forward keeps shm_bench.cc
// (edited elsewhere) building until its include names the new place.
#pragma once
#include "support/fork_oob.hpp"
