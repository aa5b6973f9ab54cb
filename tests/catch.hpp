// catch.hpp: includes Catch2 v3 or v2, whichever the build found.
#pragma once
#if COLOSSUS_CATCH2_MAJOR == 3
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif
