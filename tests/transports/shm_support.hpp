// shm_support.hpp: moved to tests/support/shm_support.hpp; this forward keeps shm_bench.cc
// (edited elsewhere) building until its include names the new place.
#pragma once
#include "support/shm_support.hpp"
